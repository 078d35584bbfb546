"""Where the conversations are: every transcript file under the projects
folder, and under Claude Desktop's per-session sandboxes, listed once.

Claude Desktop opens a session's conversation by its ``cliSessionId``, in the
global ``~/.claude/projects`` only (failures reference §0.1): the file
``<slug>/<cliSessionId>.jsonl``, first match wins; an SSH session's in
``ssh-<cliSessionId>/``.  The slug folder cannot be trusted (a moved or renamed
folder changes it), so every project folder is listed once and ids are looked
up, never guessed.  The same id may sit in several folders (class T: a stub
left by ``/cd`` can shadow the real transcript), so every copy is kept.

Older sessions kept their transcript in a per-session sandbox,
``local-agent-mode-sessions/<org>/<space>/local_<id>/.claude/projects/<slug>/``
(class O), where Claude Desktop no longer looks; those are listed apart.

What a file holds (a conversation, or only a stub: titles, modes, a bridge
line; class V) is read on demand, from its head (and, for a big file, its
tail), and remembered.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.longpaths import extended

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SANDBOXES = "local-agent-mode-sessions"
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOFOLLOW", 0))
# A user or assistant line (Node's JSON.stringify writes no spaces; allow
# them).  Inside a string the quotes would be escaped, so this is only ever a key.
_TURN = re.compile(rb'"type"\s*:\s*"(?:user|assistant)"')
_SESSION_ID = re.compile(rb'"sessionId"\s*:\s*"([0-9a-fA-F-]{36})"')
_PEEK = 16 * 1024
_SMALL = 64 * 1024
# Past its two ends, a file is searched this far before "no conversation" is
# said (a big snapshot first and a big tool result last can hide every turn);
# a file longer than that with no turn seen is given the benefit of the doubt.
_SEARCHED = 16 << 20
_CHUNK = 1 << 20

CONVERSATION, STUB, EMPTY, UNREADABLE = "conversation", "stub", "empty", "unreadable"


@dataclass(frozen=True)
class Content:
    """What one transcript file holds, as far as opening a session goes."""

    kind: str  # conversation, stub (lines, but no user or assistant one), empty (0 bytes), unreadable
    size: int
    mtime: float
    session_id: str | None = None  # the sessionId its lines carry, when one was seen

    @property
    def has_conversation(self) -> bool:
        return self.kind == CONVERSATION


class TranscriptIndex:
    """Every ``<id>.jsonl`` under one projects folder (and the sandboxes of
    the given data folders), built on first use."""

    def __init__(self, projects_dir: os.PathLike[str] | str | None, data_dirs: Sequence[Path] = ()):
        self.projects_dir = projects_dir
        self.data_dirs = list(data_dirs)
        self._copies: dict[str, list[str]] | None = None
        self._sandbox: dict[str, list[str]] | None = None
        self._contents: dict[str, Content] = {}
        # Project folders that could not be listed: where they are, a
        # conversation may be, so "nowhere on this computer" cannot be said.
        self.unlisted: list[str] = []

    # ----------------------------------------------------------- listing

    @property
    def exists(self) -> bool:
        """Is there a projects folder at all?  Without one, whether a session
        opens cannot be known on this computer."""
        try:
            return self.projects_dir is not None and os.path.isdir(self.projects_dir)
        except OSError:
            return False

    @property
    def copies(self) -> dict[str, list[str]]:
        """Each transcript id, and every file of that name, folder by folder
        in name order.  Subagent transcripts (``agent-*.jsonl``) are not
        sessions; ``<id>/subagents/`` is a folder, never listed."""
        if self._copies is None:
            self._copies = _list_jsonl(self.projects_dir, self.projects_dir is not None, self.unlisted)
        return self._copies

    @property
    def complete(self) -> bool:
        """Was every project folder listed?"""
        _ = self.copies
        return not self.unlisted

    @property
    def paths(self) -> dict[str, str]:
        """Each id's first file: what a lookup by id alone finds."""
        return {tid: found[0] for tid, found in self.copies.items()}

    def find(self, transcript_id: str | None) -> str | None:
        if not transcript_id:
            return None
        found = self.copies.get(transcript_id)
        return found[0] if found else None

    def all_copies(self, transcript_id: str | None) -> list[str]:
        return list(self.copies.get(transcript_id or "", ()))

    def session_ids(self) -> list[str]:
        """The ids of every main transcript (a session id is a UUID)."""
        return [tid for tid in self.copies if UUID.match(tid)]

    def ssh_mirror(self, cli_session_id: str) -> str | None:
        """Where Claude Desktop reads an SSH session's conversation: its
        client-side mirror (failures reference §R); None without a projects folder."""
        if self.projects_dir is None:
            return None
        return os.path.join(os.fspath(self.projects_dir), f"ssh-{cli_session_id}", f"{cli_session_id}.jsonl")

    @property
    def sandbox(self) -> dict[str, list[str]]:
        """Transcripts left in Claude Desktop's per-session sandboxes (class
        O), by id, across the data folders given."""
        if self._sandbox is None:
            self._sandbox = {}
            for data_dir in self.data_dirs:
                for projects in _sandbox_projects(data_dir):
                    for tid, found in _list_jsonl(projects, True, []).items():
                        self._sandbox.setdefault(tid, []).extend(found)
        return self._sandbox

    # ------------------------------------------------------------ reading

    def content(self, path: str) -> Content:
        """What the file holds (read once, then remembered)."""
        known = self._contents.get(path)
        if known is None:
            known = self._contents[path] = read_content(path)
        return known


def _list_jsonl(projects_dir: os.PathLike[str] | str | None, wanted: bool,
                unlisted: list[str]) -> dict[str, list[str]]:
    """Every ``<id>.jsonl`` of every project folder.  A project folder that is
    a link (a folder moved to another drive, a synced one) is listed too:
    Claude Desktop and the CLI follow it, so its conversations are there for
    them (nothing is ever written through it).  One that cannot be listed is
    named in ``unlisted``."""
    found: dict[str, list[str]] = {}
    if projects_dir is None or not wanted:
        return found
    try:
        projects = sorted(os.scandir(projects_dir), key=lambda e: e.name)
    except OSError:
        if os.path.lexists(projects_dir):
            unlisted.append(os.fspath(projects_dir))
        return found
    for project in projects:
        try:
            if not project.is_dir(follow_symlinks=True):
                continue
            names = sorted(e.name for e in os.scandir(project.path))
        except OSError:
            unlisted.append(project.path)
            continue
        for name in names:
            if name.endswith(".jsonl") and not name.startswith("agent-"):
                found.setdefault(name[:-6], []).append(os.path.join(project.path, name))
    return found


def _sandbox_projects(data_dir: Path) -> Iterable[str]:
    """``<data>/local-agent-mode-sessions/*/*/local_*/.claude/projects``, each
    that exists (never through a link)."""
    top = data_dir / SANDBOXES
    for first in _dirs(str(top)):
        for second in _dirs(first):
            for session in _dirs(second):
                if os.path.basename(session).startswith("local_"):
                    projects = os.path.join(session, ".claude", "projects")
                    if os.path.isdir(projects) and not os.path.islink(projects):
                        yield projects


def _dirs(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return sorted(e.path for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def holds_turns(data: bytes) -> bool:
    """Do these transcript bytes hold a user or assistant line?"""
    return _TURN.search(data) is not None


def session_ids_in(data: bytes) -> set[str]:
    """Every sessionId these transcript bytes name."""
    return {m.group(1).decode().lower() for m in _SESSION_ID.finditer(data)}


def _turn_further(fd: int, size: int) -> bool:
    """Past the head: the tail first (where a live conversation grows), then
    the whole file, a megabyte at a time, up to _SEARCHED; past that, a file
    with no turn seen yet is taken to hold one (never called "no conversation"
    on a guess)."""
    os.lseek(fd, max(size - _SMALL, 0), os.SEEK_SET)
    if _TURN.search(os.read(fd, _SMALL)):
        return True
    os.lseek(fd, 0, os.SEEK_SET)
    carry, read = b"", 0
    while read < min(size, _SEARCHED):
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return False
        if _TURN.search(carry + chunk):
            return True
        carry, read = chunk[-64:], read + len(chunk)
    return size > _SEARCHED


def read_content(path: str) -> Content:
    """Does this transcript hold a conversation?  Its first 16 KB say so for
    nearly every real one; a small file is read whole, a big one at its tail
    too.  Never follows a link, never waits on a pipe, never raises."""
    try:
        fd = os.open(extended(path), _OPEN_FLAGS)
    except OSError:
        return Content(UNREADABLE, 0, 0.0)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Content(UNREADABLE, 0, 0.0)
        if st.st_size == 0:
            return Content(EMPTY, 0, st.st_mtime)
        head = os.read(fd, _SMALL if st.st_size <= _SMALL else _PEEK)
        seen = _SESSION_ID.search(head)
        session_id = seen.group(1).decode() if seen else None
        if _TURN.search(head) or (st.st_size > _SMALL and _turn_further(fd, st.st_size)):
            return Content(CONVERSATION, st.st_size, st.st_mtime, session_id)
        return Content(STUB, st.st_size, st.st_mtime, session_id)
    except OSError:
        return Content(UNREADABLE, 0, 0.0)
    finally:
        os.close(fd)
