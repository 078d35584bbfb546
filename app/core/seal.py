"""The seal on a backup run: proof that Session Rescue made it, on this
computer, and that nobody edited it since.

Undo, and the recovery every change starts with, put files back as a run's
manifest says.  Checking the manifest's shape and paths (runcheck.py) keeps a
planted run inside Claude's session files, but a run planted to look genuine
in every way could still swap one session's bytes for others.  So each
manifest is sealed: an HMAC-SHA256 of its exact bytes, under a key that is
made once per user and kept *outside* the backup folder (in the user's data
folder, readable by the user alone).  A folder copied in from elsewhere (a
synced or shared drive, an archive, another computer), or a manifest edited
by hand, carries no valid seal, and is never acted on.

(A program running as the user could read the key; it could as well delete
the sessions themselves.  The seal is against runs that arrive as data.)
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat
import threading
from pathlib import Path

import platformdirs

from app import APP_NAME

KEY_NAME = "run-seal.key"
_KEY_BYTES = 32
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def key_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / KEY_NAME


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != _KEY_BYTES:
            raise OSError(errno.EINVAL, "the key that seals backup runs is not what Session Rescue wrote", str(path))
        return os.read(fd, _KEY_BYTES)
    finally:
        os.close(fd)


def _key() -> bytes:
    """This user's key, made (readable by the user alone) the first time."""
    path = key_path()
    with _lock:
        if str(path) in _cache:
            return _cache[str(path)]
        try:
            key = _read_key(path)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(_KEY_BYTES)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                             | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:  # another Session Rescue made it a moment ago
                key = _read_key(path)
            else:
                try:
                    os.write(fd, key)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _cache[str(path)] = key
        return key


def seal(data: bytes) -> str:
    """The seal of ``data`` (hex).  OSError when the key cannot be read or made."""
    return hmac.new(_key(), data, hashlib.sha256).hexdigest()


def verify(data: bytes, claimed: str) -> bool:
    """Does ``claimed`` seal ``data``, under this user's key?"""
    try:
        expected = seal(data)
    except OSError:
        return False
    return hmac.compare_digest(expected, claimed.strip())
