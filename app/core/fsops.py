"""The file-system primitives the engine is built from, each durable and honest.

Hashing, durable writes, directory fsync, Windows lock retries and name
checks.  Every call goes through :func:`app.core.longpaths.extended`, so paths
past Windows' MAX_PATH work; every message names the plain path.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import BinaryIO, TypeVar

from app.core.longpaths import extended

CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Opening an existing file to read it.  O_NOFOLLOW: a link in its place is
# refused, never followed.  O_NONBLOCK: a FIFO in its place opens at once
# instead of waiting (forever, while we hold the backup folder's lock) for a
# writer; on a regular file it changes nothing.  O_NOCTTY: a terminal device
# in its place never becomes our controlling terminal.  Windows has none of
# the three (nor FIFOs in the file system); open_regular looks first there.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0))
# Only ever a new file: O_EXCL fails on any existing name (a FIFO or a link
# included), so nothing that is already there is ever opened for writing.
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | _NOFOLLOW
# A folder to fsync.  It may itself be a link (a data folder moved elsewhere
# and linked back), so it is followed; O_DIRECTORY refuses anything that is not
# a folder before it is opened, O_NONBLOCK is there in case that flag is not.
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NONBLOCK", 0)

# Windows: ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION (an antivirus or an
# indexer holds the file for a moment); ERROR_ACCESS_DENIED is sometimes the
# same thing in disguise.  ERROR_NOT_SAME_DEVICE is Windows' EXDEV.
WIN_SHARING, WIN_LOCK, WIN_ACCESS_DENIED, WIN_NOT_SAME_DEVICE = 32, 33, 5, 17
WIN_PRIVILEGE_NOT_HELD = 1314

T = TypeVar("T")


def is_cross_device(exc: OSError) -> bool:
    return exc.errno == errno.EXDEV or getattr(exc, "winerror", None) == WIN_NOT_SAME_DEVICE


def describe_error(exc: OSError, path: str | None = None) -> str:
    what = exc.strerror or str(exc)
    where = path or exc.filename
    if where and exc.filename2 and not path:  # a rename or a link: both names say what failed
        return f"{what}: {where} -> {exc.filename2}"
    return f"{what}: {where}" if where else what


def lexists(path: str) -> bool:
    try:
        os.lstat(extended(path))
        return True
    except FileNotFoundError:
        return False


_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT: a junction, a link, an app-execution alias


def is_link(st: os.stat_result) -> bool:
    """Is this ``lstat`` result a link of any kind?  On Windows a junction is
    not ``S_ISLNK`` (and Python 3.11 has no ``os.path.isjunction``), but it is
    a reparse point: both lead elsewhere, and neither is followed here."""
    return stat.S_ISLNK(st.st_mode) or bool(getattr(st, "st_file_attributes", 0) & _REPARSE_POINT)


def is_plain_dir(path: str) -> bool:
    """A folder of its own: not a link, not a junction, not gone."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and not is_link(st)


def kind_of(mode: int) -> str:
    """What a file's mode says it is, as a user reads it ("a link")."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


class NotRegularFile(OSError):
    """The name holds a link, folder, FIFO, socket or device where a regular
    file was expected.  ``kind`` says which (see :func:`kind_of`)."""

    def __init__(self, path: str, mode: int) -> None:
        self.kind = kind_of(mode)
        super().__init__(errno.EINVAL, f"not a regular file (it is {self.kind})", path)


def open_readable(path: str) -> BinaryIO:
    """A file object for reading ``path`` (links followed: a log or a
    transcript may be reached through one), never blocking on a FIFO put in
    its place, and only if it is a regular file."""
    fd = os.open(extended(path), os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """An fd open for reading on the regular file at ``path``, and that fd's
    fstat: what was opened is what the caller reads, however the name changes
    afterwards.  Raises NotRegularFile for anything else, at once: a link is
    never followed, a FIFO never waited on (see _READ_FLAGS).  The caller
    closes the fd."""
    name = extended(path)
    if not _NOFOLLOW:
        # Windows follows a link in os.open; refuse one (and anything that is
        # not a file) before opening.  A swap in the instant between the two
        # is not caught here: it needs an administrator or Developer Mode.
        ahead = os.lstat(name)
        if not stat.S_ISREG(ahead.st_mode):
            raise NotRegularFile(path, ahead.st_mode)
    try:
        fd = os.open(name, _READ_FLAGS)
    except OSError as exc:
        # O_NOFOLLOW refuses a link with ELOOP (Linux, macOS) or EMLINK
        # (FreeBSD); say that it is a link, not "too many levels of links".
        if _NOFOLLOW and exc.errno in (errno.ELOOP, errno.EMLINK):
            try:
                now = os.lstat(name)
            except OSError:
                raise exc from None
            if stat.S_ISLNK(now.st_mode):
                raise NotRegularFile(path, now.st_mode) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def hash_regular(path: str) -> tuple[str, int, os.stat_result]:
    """(sha256 hex, size, fstat) of the regular file at ``path`` (see
    :func:`open_regular`); the fstat is of the very file that was read."""
    fd, st = open_regular(path)
    try:
        sha, size = _hash_fd(fd)
        return sha, size, st
    finally:
        os.close(fd)


def sha256_file(path: str) -> tuple[str, int]:
    """(sha256 hex, size) of a regular file.  Never follows a link, never
    blocks on a FIFO: either raises NotRegularFile at once."""
    sha, size, _ = hash_regular(path)
    return sha, size


def sha256_bytes(data: bytes) -> str:
    import hashlib  # here, not at the top: a scan never hashes, and hashlib costs its start 3 ms

    return hashlib.sha256(data).hexdigest()


def _hash_fd(fd: int) -> tuple[str, int]:
    import hashlib  # see sha256_bytes

    digest, size = hashlib.sha256(), 0
    while chunk := os.read(fd, CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def full_fsync(fd: int) -> None:
    """fsync, and on macOS F_FULLFSYNC: plain fsync there stops at the drive's cache."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass  # not every file system supports it; fsync is the next best thing
    os.fsync(fd)


def fsync_dir(path: str) -> None:
    """Make a rename, link or unlink in ``path`` durable.  Windows cannot open
    a folder this way, and its metadata journal already covers the change."""
    if os.name == "nt":
        return
    fd = os.open(extended(path), _DIR_FLAGS)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # a file system without directory fsync
            raise
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is out.  A write that makes no progress is an
    error, never a silent truncation."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the disk accepted no more bytes (short write)")
        view = view[written:]


def create_exclusive(path: str, mode: int = 0o600) -> int:
    return os.open(extended(path), _CREATE_FLAGS, mode)


def write_durable(path: str, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` (it must not exist) holding ``data``, fsync'd."""
    fd = create_exclusive(path, mode)
    try:
        write_all(fd, data)
        full_fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------- no-clobber rename

_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCL = -100, 1, 0x4


def _libc_call() -> tuple[Callable[[bytes, bytes], int], ModuleType] | None:
    """renameat2(RENAME_NOREPLACE) on Linux, renamex_np(RENAME_EXCL) on macOS:
    a rename that fails, atomically, if the target exists.  None elsewhere."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            return lambda a, b: fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_NOREPLACE), ctypes
        if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
            fn = libc.renamex_np
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            return lambda a, b: fn(a, b, _RENAME_EXCL), ctypes
    except (OSError, AttributeError, ImportError):  # no libc to be had, or no ctypes: the portable way
        pass
    return None


@functools.cache
def _noreplace() -> tuple[Callable[[bytes, bytes], int], ModuleType] | None:
    # Looked up at the first rename, not at import: finding libc runs
    # ldconfig, and a scan (or the window's start) renames nothing.
    return _libc_call() if os.name != "nt" else None


def rename_noreplace(source: str, target: str) -> None:
    """Rename ``source`` to ``target``, failing with FileExistsError if the
    target exists, never clobbering it.  One atomic call where the kernel has
    it; else a hard link then the unlink of the old name (the target exists
    under both names for a moment, which recovery handles); Windows' own
    rename already refuses an existing target.  EXDEV passes through, for the
    caller's copy fallback."""
    if os.name == "nt":
        os.rename(source, target)
        return
    noreplace = _noreplace()
    if noreplace is not None:
        call, ctypes = noreplace
        # What os.rename would report to audit hooks (and what tests/kill_at.py
        # counts as a step): a call through ctypes reports nothing by itself.
        sys.audit("os.rename", source, target, -1, -1)
        if call(os.fsencode(source), os.fsencode(target)) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):  # not this file system
            raise OSError(err, os.strerror(err), source, None, target)
    os.link(source, target, follow_symlinks=False)
    os.unlink(source)


# --------------------------------------------------------- Windows lock retry


def retry_locked(fn: Callable[[], T], target: str, cancelled: threading.Event,
                 deadline: float = 10.0) -> T:
    """Run ``fn``, retrying while Windows says another program holds the file.

    An antivirus or the search indexer opens a freshly written file for a
    moment; the rename fails with a sharing violation although nothing is
    wrong.  Retry with a growing pause (10 ms more each time, at most 100 ms)
    until ``deadline`` seconds have passed or the user cancels.  Access denied
    is retried only while the target does not exist: an existing target means
    a real refusal, and a real permission error must fail fast, not after ten
    seconds.  Elsewhere than Windows no error has a ``winerror`` and nothing
    is retried.
    """
    start, pause = time.monotonic(), 0.0
    while True:
        try:
            return fn()
        except OSError as exc:
            code = getattr(exc, "winerror", None)
            transient = code in (WIN_SHARING, WIN_LOCK) or (code == WIN_ACCESS_DENIED and not lexists(target))
            if not transient:
                raise
            if time.monotonic() - start >= deadline:
                raise OSError(exc.errno, f"{exc.strerror or exc}; another program (an antivirus, the search "
                                         f"indexer or Claude Desktop) kept it locked for {deadline:.0f} s",
                              exc.filename) from exc
            pause = min(pause + 0.010, 0.100)
            if cancelled.wait(pause):
                raise


# ---------------------------------------------------------------- file names

_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$", re.IGNORECASE)
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def windows_name_problem(name: str) -> str | None:
    """Why Windows would refuse (or silently change) this file name, if it would."""
    if not name:
        return "the name is empty"
    if _RESERVED.match(name):
        return f"{name!r} is a name Windows reserves for a device"
    if name[-1] in ". ":
        return f"{name!r} ends with a dot or a space, which Windows drops"
    if _FORBIDDEN.search(name):
        return f"{name!r} holds a character Windows does not allow in a file name"
    return None


def starts_with(longer: str, shorter: str, length: int) -> bool:
    """Does the file ``longer`` begin with the first ``length`` bytes of ``shorter``?"""
    with open_readable(longer) as a, open_readable(shorter) as b:
        while length > 0:
            step = min(length, 1 << 20)
            if a.read(step) != b.read(step):
                return False
            length -= step
    return True
