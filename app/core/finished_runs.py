"""Which backup runs are known to be finished, so that recovery need not
open every old run before each repair (a backup folder of thousands of runs
would otherwise slow every repair down).

A run's status follows the last milestone of its journal (backups.Run.status).
Once a run is complete or undone, nothing appends to its journal but a later
undo, and any append changes the journal's size and modification time.  So
the backup folder keeps a small note (NOTE): for each run
found finished, its journal's (inode, size, mtime in ns).  A run whose
journal still matches its entry is finished, and is not opened; any other
run is judged from its journal, as before.

The note is untrusted input like everything read from disk: read without
following a link, at most NOTE_LIMIT bytes, every entry checked, and
anything odd ignored (the runs are then simply read).  It only ever lets
recovery skip reading a run whose journal is exactly as it was when that run
was seen finished; it never names a file to write.  It is written whole to a
new file and renamed over the old one; losing it costs time, not data.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from app.core import fsops, runcheck

# A name of our own, like the folder's lock: --backup-dir may be an ordinary
# folder of the user's, where a plain "finished-runs.json" could be theirs.
NOTE = ".session-rescue-finished-runs.json"
NOTE_LIMIT = 16 << 20  # about 200,000 runs: far beyond what pruning keeps
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))
_NEW_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0))

Key = tuple[int, int, int]  # the journal's inode, size and mtime in ns


def journal_key(journal: Path) -> Key | None:
    """What identifies the journal as it is now; None when it is not a plain file."""
    try:
        st = os.lstat(journal)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def load(root: Path) -> dict[str, Key]:
    """The note's entries that are well formed; {} when there is none, or it is odd."""
    try:
        fd = os.open(root / NOTE, _READ_FLAGS)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > NOTE_LIMIT:
            return {}
        raw = os.read(fd, NOTE_LIMIT + 1)
    except OSError:
        return {}
    finally:
        os.close(fd)
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(value, dict):
        return {}
    found: dict[str, Key] = {}
    for run_id, key in value.items():
        if (isinstance(run_id, str) and runcheck.is_run_name(run_id) and isinstance(key, list) and len(key) == 3
                and all(type(n) is int and n >= 0 for n in key)):
            found[run_id] = (key[0], key[1], key[2])
    return found


def save(root: Path, finished: dict[str, Key]) -> None:
    """Write the note anew (best effort: without it, runs are read)."""
    temp = root / f".{NOTE}.{secrets.token_hex(6)}.tmp"
    data = json.dumps({run_id: list(key) for run_id, key in sorted(finished.items())},
                      separators=(",", ":")).encode()
    try:
        fd = os.open(temp, _NEW_FLAGS, 0o644)
    except OSError:
        return
    try:
        try:
            fsops.write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(temp, root / NOTE)  # replaces a link planted there, never writes through it
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
