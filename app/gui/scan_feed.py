"""A scan of one data folder, streamed to the window: batches of sessions as
they are read (the scan waits for each to be shown), then the whole result.
Asking for a new scan makes the older one stale; what a stale scan still
sends is dropped here, so the window only hears about the scan it last asked
for.

Each batch shown costs a paint, and the scan waits for it.  So in a scan's
first tenth of a second (HOLD_MS) the rows wait here, unpainted, until they
make a full batch of the scan's (scan.BATCH_SIZE): a folder read that fast
shows all its rows at once, with the result, and a big one its first full
batch as soon as it is read, as before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core import locations
from app.core.records import Session
from app.core.scan import BATCH_SIZE
from app.gui import jobs
from app.gui.tasks import Tasks

HOLD_MS = 100  # how long a scan's first rows may wait for more (a tenth of a second reads as at once)


class ScanFeed(QObject):
    batch = Signal(object)  # list[Session], read so far
    # ScanResult, its summary line, what arrange made of its sessions, and the
    # preview of the record it put first (jobs.read_session's, or None)
    finished = Signal(object, str, object, object)
    failed = Signal(str)

    def __init__(self, tasks: Tasks, parent: QObject | None = None):
        super().__init__(parent)
        self._tasks = tasks
        self._generation = 0
        self._worker: QObject | None = None  # the latest scan's (tasks.Worker)
        self._shown = threading.Event()
        self._held: list[Session] = []  # rows read, waiting (see the module's doc)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._show_held)
        self.started_at = 0.0  # time.perf_counter() when the last scan started
        self.first_rows_after: float | None = None  # seconds from its start to its first rows shown

    def start(self, data_dir: locations.DataDir, arrange: Callable[[list[Session]], Any] | None = None) -> None:
        """Scan ``data_dir``; ``arrange``, if given, is run on every session
        found by the scan's worker, once the scan is done (plain Python: no Qt)."""
        self._generation += 1
        self.started_at = time.perf_counter()
        self.first_rows_after = None
        self._shown = threading.Event()
        self._held = []
        self._hold.start(HOLD_MS)
        self._worker = self._tasks.start(jobs.scan_folder, self._generation, data_dir, self._shown, arrange,
                                         on_progress=self._on_batch, on_result=self._on_done,
                                         on_error=self._on_failed)

    @Slot(object)
    def _on_batch(self, payload) -> None:
        generation, batch = payload
        if generation != self._generation:
            return
        if self._hold.isActive() and len(self._held) + len(batch) < BATCH_SIZE:
            self._held += batch
            self._shown.set()  # nothing to paint: the scan goes on at once
            return
        try:
            self._hold.stop()
            self._emit(self._held + batch)
        finally:
            self._held = []
            # The scan goes on once the batch is painted, too: a timer fires
            # after the events queued by now, the paint among them.  Painting
            # calls into Python once per cell, and each call would otherwise
            # queue for the interpreter lock behind the scan.
            QTimer.singleShot(1, self._shown.set)

    def _emit(self, batch: list[Session]) -> None:
        self.batch.emit(batch)  # in the table before emit() returns: the window is in this thread
        if self.first_rows_after is None:
            self.first_rows_after = time.perf_counter() - self.started_at

    @Slot()
    def _show_held(self) -> None:
        """The hold is over, and the scan still runs: show what it read."""
        held, self._held = self._held, []
        if held:
            self._emit(held)

    @Slot(object)
    def _on_done(self, payload) -> None:
        generation, result, summary, arranged, preview = payload
        if generation == self._generation:
            self._hold.stop()
            self._show_held()
            self.finished.emit(result, summary, arranged, preview)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        # An error carries no generation: who sent it tells whether it is the
        # latest scan's, and an older scan's failure must not show over a newer one.
        if self.sender() is not self._worker:
            return
        self._hold.stop()
        self._show_held()  # what was read before the failure, as before it
        self.failed.emit(message)
