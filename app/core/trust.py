"""Does Claude trust a folder, under the spelling Claude Desktop looks it up by?

Class P of the failures reference: ``~/.claude.json`` keeps one entry per
*spelling* of a folder under ``projects``, each with its own
``hasTrustDialogAccepted``.  Desktop reads only one spelling (on Windows the
path normalised to backslashes, cc#88418), while the CLI, VS Code and Dispatch
write others (forward slashes, a lower-case drive letter).  A folder trusted
only under another spelling is untrusted for Desktop: "Import CLI sessions"
skips it and ``/resume`` says "That session's folder isn't trusted yet".

Diagnosis only: this module never writes.  The file is the CLI's, rewritten
atomically by it at any time; changing it is an opt-in repair for elsewhere.
Pure apart from reading that one file: no Qt, no CLI.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from app.core import fsops, jsjson
from app.core.locations import Host

FILE_NAME = ".claude.json"
# The file holds every project's history and settings and grows to several MB;
# anything past this is not a settings file we should hold in memory.
MAX_BYTES = 64 << 20

State = Literal["trusted", "other-spelling", "untrusted", "unknown"]

# A path a Windows program wrote: a drive letter, or a UNC \\server\share.
_WINDOWS_LOOK = re.compile(r"^(?:[A-Za-z]:(?:[\\/]|$)|[\\/]{2}[^\\/])")


@dataclass(frozen=True)
class TrustKey:
    """One ``projects`` key and whether Desktop would count it as trusted."""

    key: str
    accepted: bool  # hasTrustDialogAccepted is exactly true (JavaScript's `=== true`)


class Verdict(NamedTuple):
    state: State
    sentence: str


def config_path(host: Host) -> Path:
    """Where the CLI keeps ``.claude.json``: ``$CLAUDE_CONFIG_DIR`` when set,
    else the home folder (``%USERPROFILE%`` on Windows; never the MSIX
    package's LocalCache, which virtualises only AppData)."""
    configured = host.env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return host.local(configured) / FILE_NAME
    return host.home() / FILE_NAME


def desktop_key(cwd: str, windows: bool) -> str:
    """The spelling Desktop looks ``cwd`` up by.

    The quoted lookup (cc#88418) uses a relative path as it is and otherwise
    ``resolve(cwd)`` normalised to backslashes on Windows.  ``resolve`` also
    drops a trailing separator and ``.``/``..`` segments, which normpath does
    the same way; it keeps the drive letter's case, and so does normpath."""
    if windows:
        if not (cwd[:1] in ("\\", "/") or re.match(r"^[A-Za-z]:[\\/]", cwd)):
            return cwd
        return ntpath.normpath(cwd)
    if not cwd.startswith("/"):
        return cwd
    normal = posixpath.normpath(cwd)
    return "/" + normal.lstrip("/")  # POSIX keeps a leading "//"; Node's resolve does not


def _simple_upper(text: str) -> str:
    """Upper case one character at a time: NTFS compares names through a
    one-to-one table, so "ß" stays "ß" (``str.upper`` would make it "SS")."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def _comparable(path: str) -> str:
    """``path`` in the form two spellings of one folder share: ``/`` for
    ``\\``, no trailing separator, and upper case when Windows wrote it."""
    text = path.replace("\\", "/")
    text = text.rstrip("/") or text[:1]  # the root "/" keeps its one separator
    return _simple_upper(text) if _WINDOWS_LOOK.match(path) else text


def _accepted(entry: Any) -> bool:
    """Desktop's test, ``projects[key]?.hasTrustDialogAccepted === true``: an
    entry that is not an object has no such field, and only the JSON value
    ``true`` passes (not "true", not 1).  An entry holding that field alone
    (a "half-populated entry") counts: the reference says the CLI may ignore
    one, not that Desktop does, so it is not second-guessed here."""
    return isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True


@dataclass(frozen=True)
class TrustFile:
    """What ``.claude.json`` says about trust, or why it could not be read."""

    path: Path
    problem: str | None = None  # why nothing could be learned from it; None when it was read
    projects: Mapping[str, bool] = field(default_factory=dict)  # every key -> accepted

    def keys_for(self, cwd: str) -> list[TrustKey]:
        """Every ``projects`` key that names the folder ``cwd`` names, in file order."""
        want = _comparable(cwd)
        return [TrustKey(k, ok) for k, ok in self.projects.items() if _comparable(k) == want]

    def verdict(self, cwd: str, windows: bool) -> Verdict:
        """Whether Desktop (on Windows when ``windows``) finds ``cwd`` trusted.

        Only ``cwd``'s own key is judged; Desktop may also accept the key of
        the folder's git root (its realpath), which the caller can ask about
        with a second call."""
        if self.problem:
            return Verdict("unknown", f"Whether Claude trusts {cwd} is unknown: {self.path} {self.problem}.")
        desktop = desktop_key(cwd, windows)
        keys = self.keys_for(cwd)
        if desktop in self.projects and all(k.key != desktop for k in keys):
            keys.append(TrustKey(desktop, self.projects[desktop]))
        if not keys:
            return Verdict("unknown", f"{self.path} has no entry for {cwd}: Claude has not recorded trust for it.")
        if self.projects.get(desktop, False):
            return Verdict("trusted", f"Claude Desktop finds {desktop} trusted in {self.path}.")
        trusted = [k.key for k in keys if k.accepted]
        if trusted:
            looked_up = "is not trusted there" if desktop in self.projects else "is not there"
            return Verdict("other-spelling", (
                f"{self.path} trusts this folder only as {_quoted(trusted)}, but Claude Desktop looks it up as "
                f'"{desktop}", which {looked_up}: Desktop treats the folder as untrusted, so "Import CLI '
                "sessions\" and /resume skip its sessions."))
        return Verdict("untrusted", f"{self.path} names this folder ({_quoted([k.key for k in keys])}) "
                                    "but never as trusted.")


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{k}"' for k in keys)


class _TooBig(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _read_capped(path: Path) -> bytes:
    """The bytes of the regular file at ``path``: a link is refused, never
    followed, and a FIFO never waited on (fsops.open_regular); more than
    MAX_BYTES raises _TooBig, told by fstat before reading and checked while
    reading, as the file may grow in between."""
    fd, st = fsops.open_regular(str(path))
    try:
        if st.st_size > MAX_BYTES:
            raise _TooBig(st.st_size)
        blocks: list[bytes] = []
        total = 0
        while block := os.read(fd, min(fsops.CHUNK, MAX_BYTES + 1 - total)):
            blocks.append(block)
            total += len(block)
            if total > MAX_BYTES:
                raise _TooBig(total)
        return b"".join(blocks)
    finally:
        os.close(fd)


def _projects(doc: Any) -> tuple[dict[str, bool], str | None]:
    """The trust of every ``projects`` key, and a problem when the document
    does not have the shape Desktop reads (then nothing is trusted for it)."""
    if not isinstance(doc, dict):
        return {}, "does not hold a JSON object"
    projects = doc.get("projects")
    if projects is None:
        return {}, None  # a fresh install: no folder trusted yet, not a fault
    if not isinstance(projects, dict):
        return {}, f'has a "projects" that is {_json_kind(projects)}, not an object'
    return {str(k): _accepted(v) for k, v in projects.items()}, None


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "something else"


def load(host: Host | None = None) -> TrustFile:
    """Read ``.claude.json`` on ``host``.  Never raises for what is on disk: a
    file that is missing, not a regular file, too big or not JSON gives a
    TrustFile whose ``problem`` says so."""
    path = config_path(host or Host.this_machine())
    try:
        data = _read_capped(path)
    except FileNotFoundError:
        return TrustFile(path, "does not exist")
    except fsops.NotRegularFile as exc:
        return TrustFile(path, f"is {exc.kind}, not a regular file, so it was not read")
    except _TooBig as exc:
        return TrustFile(path, f"is {exc.size:,} bytes, more than the {MAX_BYTES >> 20} MB this tool reads")
    except OSError as exc:
        return TrustFile(path, f"cannot be read ({exc.strerror or exc})")
    text, _ = jsjson.decode_like_node(data)  # Node reads it as UTF-8 and never fails on a bad byte
    try:
        doc = jsjson.parse(text)  # JSON.parse's rules: the CLI and Desktop read it with Node
    except jsjson.JsonError as exc:
        return TrustFile(path, f"cannot be read: it is not valid JSON ({exc})")
    projects, problem = _projects(doc)
    return TrustFile(path, problem, projects)
