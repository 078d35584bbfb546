"""Python's cycle collector, paused for bulk work.

A scan, a plan and its run, and the writing of a scan --json make many
objects and no reference cycles; the collector would walk the growing heap
of records again and again as they pile up (about a tenth of a
10,000-session scan, some 4% of a repair).  What is made is freed by
reference counting all the same; the collector runs again afterwards.

The app's start is such work too: its modules (and the window's: Qt's
classes and their enums) are tens of thousands of objects that stay for
good, and the collector would run some thirty times over them before the
window shows its sessions (5 ms of the executable's start, measured).
hold_start() pauses it for that time, release_start() ends the pause.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_start_held = False


def hold_start() -> None:
    """No cycle collection until release_start(): called first thing, by the
    app's entry point (app/__main__.py)."""
    global _start_held
    if gc.isenabled():
        gc.disable()
        _start_held = True


def release_start() -> None:
    """The start is over (a command is about to run, or the window shows its
    sessions): the collector runs again, if hold_start() paused it."""
    global _start_held
    if _start_held:
        _start_held = False
        gc.enable()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cycle collection within the block; as it was before, after it
    (nested blocks leave it to the outermost)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
