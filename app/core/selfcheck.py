"""The program's own fingerprint: which file is running, and its SHA-256.

A user who downloaded the executable compares the SHA-256 the About box (or
``--version``) shows with the release's ``SHA256SUMS.txt``: equal, it is the
file that was published.  Only a frozen build (PyInstaller) is one file, and
there ``sys.executable`` is that file; run from source, the program is many
files, and there is nothing single to check.

Reading ~45 MB takes a noticeable moment: the window asks for it off the UI
thread, and the answer is kept for the file as it was (its size and time).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

# Small pieces: the interpreter's own SHA-256 (the executable leaves OpenSSL
# out) holds the GIL while it hashes one, so a window waiting for its turn
# never waits longer than one piece takes.
CHUNK = 256 * 1024
FROM_SOURCE = "running from source: there is no single program file to check"

_known: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Fingerprint:
    path: Path | None  # the executable; None when running from source
    sha256: str | None = None  # 64 hex digits; None from source, or when the file could not be read
    problem: str | None = None  # why it could not be read

    @property
    def line(self) -> str:
        """One line for people: what was checked, and its SHA-256."""
        if self.path is None:
            return FROM_SOURCE
        if self.sha256 is None:
            return f"SHA-256 of {self.path}: could not be read ({self.problem})"
        return f"SHA-256 of {self.path}: {self.sha256}"


def own_executable() -> Path | None:
    """The file this program runs from when it is one (a frozen build); None
    from source."""
    if not getattr(sys, "frozen", False) or not sys.executable:
        return None
    return Path(sys.executable).absolute()


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path`` (hex), read piece by piece."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def known() -> Fingerprint | None:
    """The fingerprint at once, when it needs no reading (from source, or
    already read for the file as it is now); else None."""
    path = own_executable()
    if path is None:
        return Fingerprint(None)
    try:
        key = _key(path)
    except OSError:
        return None
    with _lock:
        digest = _known.get(key)
    return Fingerprint(path, digest) if digest is not None else None


def fingerprint() -> Fingerprint:
    """Which file runs and its SHA-256, reading it if need be (slow: call it
    off the UI thread)."""
    path = own_executable()
    if path is None:
        return Fingerprint(None)
    try:
        key = _key(path)
        with _lock:
            digest = _known.get(key)
        if digest is None:
            digest = sha256_of(path)
            if _key(path) == key:  # not replaced while it was read
                with _lock:
                    _known[key] = digest
    except OSError as exc:
        return Fingerprint(path, None, exc.strerror or exc.__class__.__name__)
    return Fingerprint(path, digest)


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns
