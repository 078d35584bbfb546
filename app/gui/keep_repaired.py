"""The Settings menu's "Keep my sessions repaired": the watcher's autostart,
switched in a worker (on Windows PowerShell makes the entry, which may take
up to a minute), the switch always showing what is in effect.

What is in effect is read each time the menu opens (look), not as the
window starts: the autostart module, and the look at the disk, wait until
someone can see the switch."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.gui import jobs
from app.gui.tasks import Tasks

TIP = "Repair each time Claude Desktop quits, from every logon on"


class KeepRepairedSwitch(QObject):
    status = Signal(str)  # a line for the status bar while it is switched
    applied = Signal(str)  # what the status bar says once the switch took effect (or did not)

    def __init__(self, window: QWidget, tasks: Tasks):
        super().__init__(window)
        self._window = window  # the warning's parent
        self._tasks = tasks
        self.action = QAction("&Keep my sessions repaired", window)
        self.action.setCheckable(True)
        self.action.setStatusTip(TIP)
        self.action.toggled.connect(self.switch)
        self._switching = False

    @Slot()
    def look(self) -> None:
        """The switch as the autostart entry is now (its menu is about to
        show), unless it is being switched: then it shows what was asked for
        until that is done.  An entry that cannot be read leaves the switch
        off and unusable, saying why, rather than guessing."""
        if self._switching:
            return
        from app.core import autostart

        try:
            enabled = autostart.status().enabled
        except (OSError, ValueError) as exc:  # an autostart folder out of reach, a name too long
            self._show(False)
            self.action.setEnabled(False)
            self.action.setStatusTip(f"Cannot tell whether it is on: {exc}")
            return
        self._show(enabled)
        self.action.setEnabled(True)
        self.action.setStatusTip(TIP)

    def _show(self, on: bool) -> None:
        """Tick or untick the switch without switching anything."""
        self.action.blockSignals(True)
        try:
            self.action.setChecked(on)
        finally:
            self.action.blockSignals(False)

    @Slot(bool)
    def switch(self, on: bool) -> None:
        """Turn autostart of the watcher on (and start one now) or off (and
        stop the one running).  The switch waits, disabled, until it is done."""
        self._switching = True
        self.action.setEnabled(False)
        self.status.emit("Turning the automatic repair on…" if on else "Turning the automatic repair off…")
        self._tasks.start(jobs.keep_repaired, on, on_result=self._on_switched, on_error=self._on_failed)

    @Slot(str)
    def _on_switched(self, message: str) -> None:
        self._switching = False
        self.action.setEnabled(True)
        self.applied.emit(message)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        self._show(not self.action.isChecked())  # back to what is in effect, without switching again
        self._switching = False
        self.action.setEnabled(True)
        self.applied.emit(message)
        QMessageBox.warning(self._window, "Session Rescue", message)
