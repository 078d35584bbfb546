"""What Claude Desktop's own log says: how often it failed to save a session.

Each failed save of the MSIX rename bug leaves one line in ``main.log``
(storage reference §3)::

    2026-03-25 10:00:01 [error] Failed to save session local_<id>: EXDEV:
        cross-device link not permitted, rename '...local_<id>.json.tmp' -> '...local_<id>.json'

Counting them, with the first and last date, tells a user that their lost
sessions come from that bug and that it will come back.  The log also says
which ``<account>/<org>`` folder the app last loaded its sessions from, the
best evidence of the folder it shows, and how many sessions it loaded
(``Loaded N persisted sessions``, ``existingSessions=N``): none, while the
folder holds healthy records, puts the fault in the app, not the data
(failures reference, class Y).  Failed SSH tails and connection errors,
counted per host, tell a session whose host is gone (class S).

A log can be hundreds of MB, so it is read in chunks and only the lines that
hold the words we look for are decoded.  Read-only.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from app.core import fsops

_CHUNK = 4 << 20
_DATE = re.compile(rb"^\[?(\d{4})-(\d{2})-(\d{2})[ T]")
_SAVE_FAILED = b"Failed to save session"
_EXDEV = b"EXDEV"
_LOADED = re.compile(rb"Loaded (\d+) persisted sessions from (.+?)\s*$")
_NO_SESSIONS = b"No persisted sessions found"
# Only the Code sessions' manager: the reference also quotes the same line from
# "[LocalAgentModeSessionManager]" (cc#51357), a name Cowork's sessions use
# today, whose count says nothing about the Code sessions.
_INITIALIZED = re.compile(rb"\[LocalSessionManager\] Initialization succeeded\b.*?\bexistingSessions=(\d+)")
# "[warn] [SSH] Failed to tail remote transcript: root@62.238.23.200: Permission denied (publickey,password)."
# The target ends at the first ": ", so an IPv6 host's own colons stay in it.
_SSH_TAIL = re.compile(rb"\[SSH\] Failed to tail remote transcript: (\S+?)(?:: (.*?))?\s*$")
_SSH_CONNECTING = re.compile(rb"\[SSH2Connection\] Connecting to (\S+?)(?::\d+)?(?:\s|$)")
_SSH_ERROR = re.compile(rb"\[SSH2Connection\] Connection error: ?(.*?)\s*$")
# Every word a line we read holds; a chunk is searched for each, and only the
# lines around a hit are decoded.
_NEEDLES = (_EXDEV, b"persisted sessions", b"Initialization succeeded", b"Failed to tail remote transcript",
            b"[SSH2Connection] Conn")
UNKNOWN_HOST = "(unknown host)"  # a "Connection error" line with no "Connecting to" before it in its file
_KEEP = 500  # characters kept of a quoted line or reason: enough to read, bounded on a hostile log


@dataclass(frozen=True)
class LogLine:
    """Where a line we rely on was: file, line number (from 1), its date, its text."""

    file: str
    line: int
    day: date | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "date": self.day.isoformat() if self.day else None,
                "text": self.text}


@dataclass
class Diagnosis:
    """What the logs of one data folder say."""

    files: list[str] = field(default_factory=list)
    failures: int = 0  # "Failed to save session ...: EXDEV" lines
    sessions: set[str] = field(default_factory=set)  # the session ids named in them
    first: date | None = None
    last: date | None = None
    manifest_failures: int = 0  # EXDEV on manifest.json: the same bug, not a session
    loaded_from: tuple[str, str] | None = None  # (account, org) of the last "Loaded N persisted sessions"
    # How many sessions the app said it loaded, the last time it said so, in
    # log order across the files: 0 while the active folder holds healthy
    # records means the data is intact and the fault is in the app (class Y).
    last_loaded_count: int | None = None
    last_loaded_source: LogLine | None = None  # the line that count came from
    ssh_failures: dict[str, int] = field(default_factory=dict)  # user@host -> failed tails and connection errors
    ssh_last_reason: dict[str, str] = field(default_factory=dict)  # user@host -> the reason in its last failure

    def sentence(self) -> str | None:
        """One sentence for a person, or None when the log shows no failure."""
        if not self.failures:
            return None
        times = "once" if self.failures == 1 else f"{self.failures:,} times"
        when = f"on {_day(self.first)}" if self.first == self.last else (
            f"since {_day(self.first)} (last on {_day(self.last)})" if self.first else "")
        sessions = len(self.sessions)
        about = f", for {sessions:,} session{'s' * (sessions != 1)}" if sessions else ""
        return (f"Claude Desktop failed to save sessions {times} {when}{about}: a known bug of its Windows "
                "Store install (the MSIX rename bug, EXDEV), which makes sessions vanish from its list; Repair "
                "brings them back. It will happen again until Claude Desktop fixes it.").replace("  ", " ")

    def to_json(self) -> dict[str, Any]:
        return {"log_files": self.files, "exdev_save_failures": self.failures,
                "sessions_affected": len(self.sessions),
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "exdev_manifest_failures": self.manifest_failures,
                "loaded_from": list(self.loaded_from) if self.loaded_from else None,
                # Added later; the keys above keep their names and meaning (scan --json's contract).
                "last_loaded_count": self.last_loaded_count,
                "last_loaded_source": self.last_loaded_source.to_json() if self.last_loaded_source else None,
                "ssh_failures": dict(self.ssh_failures), "ssh_last_reason": dict(self.ssh_last_reason)}


def _day(d: date | None) -> str:
    return f"{d.day} {d:%B %Y}" if d else "?"


def _line_date(line: bytes) -> date | None:
    m = _DATE.match(line)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _session_id(line: bytes) -> str | None:
    m = re.search(rb"Failed to save session (local_[0-9A-Za-z-]+)", line)
    return m.group(1).decode("ascii") if m else None


def _folder_of(path: bytes) -> tuple[str, str] | None:
    parts = [p for p in re.split(rb"[\\/]", path.strip().strip(b"'\"")) if p]
    if len(parts) < 2:
        return None
    return parts[-2].decode("utf-8", "replace"), parts[-1].decode("utf-8", "replace")


def _lines_with(chunk: bytes, needle: bytes) -> list[tuple[int, bytes]]:
    """(start, line) of every whole line of ``chunk`` holding ``needle``,
    found without splitting the chunk: most lines hold nothing we want."""
    out, pos = [], chunk.find(needle)
    while pos >= 0:
        start = chunk.rfind(b"\n", 0, pos) + 1
        end = chunk.find(b"\n", pos)
        end = len(chunk) if end < 0 else end
        out.append((start, chunk[start:end]))
        pos = chunk.find(needle, end)
    return out


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()[:_KEEP]


@dataclass
class _File:
    """Reading one log: where we are in it, and the SSH host it last connected to."""

    path: str
    into: Diagnosis
    lines_before: int = 0  # newlines in the chunks already read
    ssh_host: str | None = None

    def chunk(self, chunk: bytes) -> None:
        """Take every line of ``chunk`` we look for, in the order they were written."""
        hits = {start: line for needle in _NEEDLES for start, line in _lines_with(chunk, needle)}
        counted, newlines = 0, 0
        for start in sorted(hits):
            newlines += chunk.count(b"\n", counted, start)
            counted = start
            self.line(hits[start], self.lines_before + newlines + 1)
        self.lines_before += chunk.count(b"\n")

    def line(self, line: bytes, number: int) -> None:
        if _EXDEV in line:
            _exdev(line, self.into)
        elif b"persisted sessions" in line or b"Initialization succeeded" in line:
            self._load(line, number)
        else:
            self._ssh(line)

    def _load(self, line: bytes, number: int) -> None:
        loaded = _LOADED.search(line)
        initialized = None if loaded else _INITIALIZED.search(line)
        if loaded:
            count = int(loaded.group(1))
            self.into.loaded_from = _folder_of(loaded.group(2)) or self.into.loaded_from
        elif initialized:
            count = int(initialized.group(1))
        elif _NO_SESSIONS in line:
            count = 0
        else:
            return
        self.into.last_loaded_count = count
        self.into.last_loaded_source = LogLine(self.path, number, _line_date(line), _text(line))

    def _ssh(self, line: bytes) -> None:
        connecting = _SSH_CONNECTING.search(line)
        if connecting:
            self.ssh_host = _text(connecting.group(1))
            return
        tail = _SSH_TAIL.search(line)
        error = None if tail else _SSH_ERROR.search(line)
        if tail:
            host, reason = _text(tail.group(1)), _text(tail.group(2) or b"")
        elif error:
            # The error line names no host: it is the one this log last
            # connected to (connections are logged as they are opened).
            host, reason = self.ssh_host or UNKNOWN_HOST, _text(error.group(1))
        else:
            return
        self.into.ssh_failures[host] = self.into.ssh_failures.get(host, 0) + 1
        self.into.ssh_last_reason[host] = reason


def _exdev(line: bytes, into: Diagnosis) -> None:
    if _SAVE_FAILED in line:
        into.failures += 1
        sid = _session_id(line)
        if sid:
            into.sessions.add(sid)
        day = _line_date(line)
        if day:
            into.first = day if into.first is None else min(into.first, day)
            into.last = day if into.last is None else max(into.last, day)
    elif b"manifest.json" in line:
        into.manifest_failures += 1


def read_log(path: Path, into: Diagnosis) -> None:
    """Add what one log file says to ``into``."""
    try:
        f = fsops.open_readable(str(path))  # a FIFO in its place never blocks
    except OSError:
        return
    into.files.append(str(path))
    reading = _File(str(path), into)
    with f:
        rest = b""
        while True:
            try:
                block = f.read(_CHUNK)
            except OSError:
                break
            if not block:
                chunk, rest = rest, b""
            else:
                data = rest + block
                cut = data.rfind(b"\n") + 1
                chunk, rest = data[:cut], data[cut:]
            reading.chunk(chunk)
            if not block:
                break


def _oldest_first(log_files: list[Path]) -> list[Path]:
    """The regular files among ``log_files``, each once, oldest first.

    Oldest is by modification time: it puts ``main.old.log`` or ``main1.log``
    before ``main.log``, and a stale log of another install before the live
    one, whatever order the candidates were named in; the given order breaks
    ties (a file system with a coarse clock)."""
    seen: set[str] = set()
    found: list[tuple[float, int, Path]] = []
    for index, path in enumerate(log_files):
        try:
            key = os.path.normcase(os.path.realpath(path))
            st = path.stat()
        except OSError:
            continue
        if key in seen or not stat.S_ISREG(st.st_mode):
            continue
        seen.add(key)
        found.append((st.st_mtime, index, path))
    return [path for _, _, path in sorted(found)]


def diagnose(log_files: list[Path]) -> Diagnosis:
    """Read the given logs, oldest first (see _oldest_first): where lines
    disagree, as two load counts do, the one written last wins."""
    found = Diagnosis()
    for path in _oldest_first(log_files):
        read_log(path, found)
    return found
