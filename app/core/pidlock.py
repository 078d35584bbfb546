"""A lock file that names its holder, and is taken over once the holder is gone.

The lock holds the holder's process id and start time (a pid alone can be
reused by another program).  A lock left by a process that no longer runs (it
was killed, or the power went) is stale, and taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from app.core import fsops


class Held(Exception):
    """Another live process holds the lock; ``owner`` says which."""

    def __init__(self, owner: dict[str, Any]):
        super().__init__(f"held by process {owner.get('pid')}")
        self.owner = owner


def process_start(pid: int) -> float | None:
    """When the process began; None if it does not run (a zombie, killed but
    not yet reaped by its parent, runs no more)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.Error, OSError):
        return None


def alive(owner: dict[str, Any] | None) -> bool:
    """Is the process that wrote ``owner`` (pid and start time) still running?"""
    if not owner or "pid" not in owner:
        return False
    started = process_start(int(owner["pid"]))
    return started is not None and abs(started - float(owner.get("started", 0))) < 1.0


def me(**extra: Any) -> dict[str, Any]:
    return {"pid": os.getpid(), "started": process_start(os.getpid()) or 0.0, **extra}


def owner_of(lock: Path) -> dict[str, Any] | None:
    """Who holds ``lock`` now, if a live process does."""
    try:
        owner = json.loads(lock.read_bytes() or b"{}")
    except (OSError, ValueError):
        return None
    return owner if alive(owner) else None


@contextlib.contextmanager
def held(lock: Path, **extra: Any) -> Iterator[None]:
    """Hold ``lock`` for the block, or raise Held naming the live holder."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    mine = json.dumps(me(**extra)).encode()
    for _ in range(2):
        try:
            fsops.write_durable(str(lock), mine)
            break
        except FileExistsError:
            owner = owner_of(lock)
            if owner is not None:
                raise Held(owner) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its holder is gone
    else:
        raise Held({})
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
