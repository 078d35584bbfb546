"""Work off the UI thread: a worker per job, each on its own QThread.

A worker runs ``fn(report, *args)`` and emits plain data: ``progress`` for
whatever ``report`` is given, then ``result`` or ``error`` (one sentence), then
``finished``.  It never touches a widget.  Connect its signals to methods of
objects that live in the UI thread (not to lambdas), so that Qt queues each
call onto the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """A failure whose message is meant for the user as it is."""


class Worker(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any):
        super().__init__()
        self._fn, self._args = fn, args

    @Slot()
    def run(self) -> None:
        try:
            value = self._fn(self.progress.emit, *self._args)
        except UserFacingError as exc:
            self.error.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            log.exception("a background job failed")
            self.error.emit(f"Something went wrong: {exc.__class__.__name__}: {exc}. "
                            "Nothing more was changed; the details are in the log file.")
        else:
            self.result.emit(value)
        finally:
            self.finished.emit()


class Tasks(QObject):
    """Starts workers and keeps them (and their threads) alive until done."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[tuple[QThread, Worker]] = []
        self._closed = False

    def start(self, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_progress: Callable[[Any], None] | None = None) -> Worker | None:
        """Run ``fn`` on a new thread; None once shut down.  (A result queued
        before the window closed may still arrive, and ask for more work: a
        thread started then would outlive its window, and Qt aborts when a
        running thread is destroyed.)"""
        if self._closed:
            return None
        self._prune()
        thread = QThread(self)
        worker = Worker(fn, *args)
        worker.moveToThread(thread)
        for signal, slot in ((worker.result, on_result), (worker.error, on_error), (worker.progress, on_progress)):
            if slot is not None:
                signal.connect(slot)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        self._running.append((thread, worker))
        thread.start()
        return worker

    @property
    def busy(self) -> bool:
        self._prune()
        return bool(self._running)

    def _prune(self) -> None:
        self._running = [(t, w) for t, w in self._running if not t.isFinished()]

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Wait for every job (a repair is never cut off mid-file), and take
        no more."""
        self._closed = True
        for thread, _ in self._running:
            thread.quit()
            thread.wait(timeout_ms)
        self._running.clear()


class Poll(QObject):
    """Runs ``fn(report, *args)`` in a worker every ``interval_ms`` (and once
    at start), never two at once: a slow look is not stacked behind another.
    ``result`` and ``error`` are each look's, as a Worker's."""

    result = Signal(object)
    error = Signal(str)

    def __init__(self, tasks: Tasks, interval_ms: int, fn: Callable[..., Any], *args: Any,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._tasks, self._fn, self._args = tasks, fn, args
        self._looking = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.look)

    def start(self) -> None:
        self.timer.start()
        QTimer.singleShot(0, self.look)

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def look(self) -> None:
        if self._looking:
            return
        self._looking = True
        self._tasks.start(self._fn, *self._args, on_result=self._on_result, on_error=self._on_error)

    @Slot(object)
    def _on_result(self, value: Any) -> None:
        self._looking = False
        self.result.emit(value)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self._looking = False
        self.error.emit(message)
