"""Locks the operating system holds for us: ``flock`` on POSIX, a byte-range
lock (``msvcrt.locking``) on Windows.

A lock file that merely names its holder (a pid and a start time) can be
taken over by anyone who cannot see that process: another PID namespace, or
another computer sharing the backup folder.  A lock the kernel holds is
released only when its holder closes it, or dies, wherever the holder runs,
so "is anybody working on this?" is answered by trying to take the lock.

The file also holds, for messages only, who holds it (``{"pid": …}``); that
text is never what decides.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Windows locks a byte range, and a locked range cannot be read by anyone
# else: lock one byte far past the holder's note, so the note stays readable.
_WINDOWS_LOCK_OFFSET = 1 << 20
_SAFE_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_NOTE_LIMIT = 4096


class Held(Exception):
    """Someone else holds the lock; ``owner`` is what its note says (may be empty)."""

    def __init__(self, owner: dict[str, Any]):
        super().__init__(f"held by process {owner.get('pid', '?')}")
        self.owner = owner


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False if someone holds it."""
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open_existing(path: Path) -> int | None:
    """An fd on the lock file, never following a link and never creating it."""
    try:
        # Read-only is enough to take and test the lock, and works on a lock
        # file we may not write.
        fd = os.open(path, os.O_RDONLY | _SAFE_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link planted in its place: not our lock file
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def read_note(path: Path) -> dict[str, Any]:
    """What the lock file says about its holder ({} if nothing usable)."""
    fd = _open_existing(path)
    if fd is None:
        return {}
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, _NOTE_LIMIT)
    except OSError:
        return {}
    finally:
        os.close(fd)
    try:
        note = json.loads(raw.split(b"\0", 1)[0] or b"{}")
    except ValueError:
        return {}
    return note if isinstance(note, dict) else {}


def is_held(path: Path) -> bool:
    """Does a live process hold the lock at ``path``?  Found by trying to take
    it (and letting go at once); a missing file is a lock nobody holds."""
    try:
        fd = _open_existing(path)
    except OSError:
        return True  # cannot even open it: do not assume its holder is gone
    if fd is None:
        return False
    try:
        if _try_lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


def holder(path: Path) -> dict[str, Any] | None:
    """The note of the live holder of ``path``; None when nobody holds it."""
    return (read_note(path) or {"pid": "?"}) if is_held(path) else None


@dataclass
class Lock:
    """A lock this process holds; released by :meth:`release` (or its death)."""

    path: Path
    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = None


def acquire(path: Path, create: bool = True, **note: Any) -> Lock:
    """Take the lock at ``path`` now, or raise :class:`Held`.  The file is
    made if missing (``create``) and is never removed: removing a lock file
    that another process has just opened would let two processes hold "the"
    lock at once.  A lock file is a plain file of its own: never a link, and
    never a file with another name elsewhere (a hard link planted in its place
    would have us write our note into that file)."""
    flags = os.O_RDWR | _SAFE_FLAGS | (os.O_CREAT if create else 0)
    fd = os.open(path, flags, 0o644)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if st.st_nlink > 1:
            raise OSError(errno.EMLINK, "the lock file has another name elsewhere", str(path))
        if not _try_lock(fd):
            raise Held(read_note(path))
        _write_note(fd, {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), **note})
    except BaseException:
        os.close(fd)
        raise
    return Lock(path, fd)


def _write_note(fd: int, note: dict[str, Any]) -> None:
    """Say who holds the lock, for messages only; the lock holds without it
    (a full disk, say), so a failure to write it is not one to hold.  The
    text goes first, then the length is cut: the note is never empty while
    someone holds the lock."""
    text = json.dumps(note).encode()[:_NOTE_LIMIT - 1]
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, text)
        os.ftruncate(fd, len(text))
    except OSError:
        pass


@contextlib.contextmanager
def held(path: Path, create: bool = True, **note: Any) -> Iterator[Lock]:
    """Hold the lock at ``path`` for the block, or raise :class:`Held`."""
    lock = acquire(path, create, **note)
    try:
        yield lock
    finally:
        lock.release()
