"""Python's cycle collector, paused for bulk work.

A scan, a plan and its run, and the writing of a scan --json make many
objects and no reference cycles; the collector would walk the growing heap
of records again and again as they pile up (about a tenth of a
10,000-session scan, some 4% of a repair).  What is made is freed by
reference counting all the same; the collector runs again afterwards.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


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
