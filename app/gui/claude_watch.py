"""Whether Claude Desktop runs, as the window shows it: a look now and every
few seconds, off the UI thread (psutil walks every process), and the banner
that asks the user to quit it.

The first look waits until the window shows its first sessions (or a second
has passed): it would slow the scan and the first preview.  Until a look has
answered, the window offers no change (``known``); and a change is never
made on the window's word alone: the core's transaction looks again, itself,
before it touches a file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot
from PySide6.QtWidgets import QLabel

from app.gui import jobs, window_parts
from app.gui.tasks import Poll, Tasks

log = logging.getLogger(__name__)
FIRST_LOOK_AT_THE_LATEST_MS = 1000


class ClaudeWatch(QObject):
    looked = Signal()  # after each look: what may be done follows it
    changed = Signal(bool)  # it started (True) or quit (False)

    def __init__(self, tasks: Tasks, banner: QLabel, interval_ms: int,
                 check: Callable[[], list] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.running: list = []  # what the last look found (claude_process.running's list)
        self.known = False  # a look has answered: until then nothing may be changed
        self._banner = banner
        self._started = False
        # ``check``: a stand-in for claude_process.running, for the tests.
        self._poll = Poll(tasks, interval_ms, jobs.check_claude, check, parent=self)
        self._poll.result.connect(self._on_look)
        self._poll.error.connect(lambda message: log.warning("could not check for Claude Desktop: %s", message))

    def start_after(self, ready: SignalInstance) -> None:
        """The first look once ``ready`` fires, or after a second at the latest."""
        ready.connect(self.start)
        QTimer.singleShot(FIRST_LOOK_AT_THE_LATEST_MS, self, self.start)

    @Slot()
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._poll.start()

    def stop(self) -> None:
        self._started = True  # stopped for good: no first look after this
        self._poll.stop()

    @Slot(object)
    def _on_look(self, running: list) -> None:
        was = bool(self.running)
        self.running, self.known = running, True
        if running:
            self._banner.setText(window_parts.claude_running_text(running[0]))
        self._banner.setVisible(bool(running))
        self.looked.emit()
        if was != bool(running):
            self.changed.emit(bool(running))
