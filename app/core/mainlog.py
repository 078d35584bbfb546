"""What Claude Desktop's own log says: how often it failed to save a session.

Each failed save of the MSIX rename bug leaves one line in ``main.log``
(storage reference §3)::

    2026-03-25 10:00:01 [error] Failed to save session local_<id>: EXDEV:
        cross-device link not permitted, rename '...local_<id>.json.tmp' -> '...local_<id>.json'

Counting them, with the first and last date, tells a user that their lost
sessions come from that bug and that it will come back.  The log also says
which ``<account>/<org>`` folder the app last loaded its sessions from, the
best evidence of the folder it shows.

A log can be hundreds of MB, so it is read in chunks and only the lines that
hold the words we look for are decoded.  Read-only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from app.core import fsops

_CHUNK = 4 << 20
_DATE = re.compile(rb"^\[?(\d{4})-(\d{2})-(\d{2})[ T]")
_SAVE_FAILED = b"Failed to save session"
_EXDEV = b"EXDEV"
_LOADED = re.compile(rb"Loaded \d+ persisted sessions from (.+?)\s*$")


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

    def sentence(self) -> str | None:
        """One sentence for a person, or None when the log shows no failure."""
        if not self.failures:
            return None
        times = "once" if self.failures == 1 else f"{self.failures:,} times"
        when = f"on {_day(self.first)}" if self.first == self.last else (
            f"since {_day(self.first)} (last on {_day(self.last)})" if self.first else "")
        sessions = len(self.sessions)
        about = f", for {sessions:,} session{'s' * (sessions != 1)}" if sessions else ""
        return (f"Claude Desktop failed to save sessions {times} {when}{about}: this is the MSIX rename bug "
                "(EXDEV), which leaves sessions orphaned. It will happen again until Claude Desktop fixes it."
                ).replace("  ", " ")

    def to_json(self) -> dict[str, Any]:
        return {"log_files": self.files, "exdev_save_failures": self.failures,
                "sessions_affected": len(self.sessions),
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "exdev_manifest_failures": self.manifest_failures,
                "loaded_from": list(self.loaded_from) if self.loaded_from else None}


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


def _lines_with(chunk: bytes, needle: bytes) -> list[bytes]:
    """Every whole line of ``chunk`` holding ``needle``, found without
    splitting the chunk: most lines hold nothing we want."""
    out, pos = [], chunk.find(needle)
    while pos >= 0:
        start = chunk.rfind(b"\n", 0, pos) + 1
        end = chunk.find(b"\n", pos)
        end = len(chunk) if end < 0 else end
        out.append(chunk[start:end])
        pos = chunk.find(needle, end)
    return out


def read_log(path: Path, into: Diagnosis) -> None:
    """Add what one log file says to ``into``."""
    try:
        f = fsops.open_readable(str(path))  # a FIFO in its place never blocks
    except OSError:
        return
    into.files.append(str(path))
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
            for line in _lines_with(chunk, _EXDEV):
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
            for line in _lines_with(chunk, b"persisted sessions from"):
                m = _LOADED.search(line)
                if m:
                    into.loaded_from = _folder_of(m.group(1)) or into.loaded_from
            if not block:
                break


def diagnose(log_files: list[Path]) -> Diagnosis:
    """Read the given logs, oldest first (``main.old.log`` before ``main.log``)."""
    found = Diagnosis()
    seen: set[str] = set()
    for path in log_files:
        try:
            key = os.path.normcase(os.path.realpath(path))
            if key in seen or not path.is_file():
                continue
        except OSError:
            continue
        seen.add(key)
        read_log(path, found)
    return found
