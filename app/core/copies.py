"""Which copy of a session's record it is brought back from: the one with
the latest ``lastActivityAt`` that loads, or can be fixed (a byte-order
mark, a null timestamp).  The repair planner acts on it; the walk of
Claude Desktop's way (opens.py) asks it whether a repair can bring a
session back, without loading the planners.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from app.core import normalize
from app.core.longpaths import extended
from app.core.records import FileState, Session

_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))


def read_small(path: str, limit: int = 64 << 20) -> bytes | None:
    """A small record's bytes (a fixable record is never huge: it parsed).
    Never through a link, never blocking on a pipe put in its place."""
    try:
        fd = os.open(extended(path), _READ_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, total = [], 0
        while total <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Candidate:
    file: FileState
    last_ms: float
    rank: int  # ties go to the copy that needs no change, and to the .json
    fixed: normalize.Fixed | None = None


def candidates(session: Session) -> list[Candidate]:
    out = []
    for rank, f in ((3, session.json), (2, session.tmp)):
        if f is not None and f.loadable:
            out.append(Candidate(f, f.last_activity_ms or 0.0, rank))
    for rank, f in ((1, session.json), (0, session.tmp)):
        if f is None or f.loadable or not normalize.can_fix(f.problems):
            continue
        data = read_small(f.path)
        fixed = normalize.normalized(data, session.id, (f.mtime or 0) * 1000) if data is not None else None
        if fixed is not None:
            out.append(Candidate(f, fixed.last_activity_ms or 0.0, rank, fixed))
    return out


def best_copy(session: Session) -> Candidate | None:
    """The copy a session is brought back from: the one with the latest
    ``lastActivityAt``; on a tie, one that needs no change, and the ``.json``
    before the ``.tmp``.  None when no copy loads or can be fixed."""
    return max(candidates(session), key=lambda c: (c.last_ms, c.rank), default=None)
