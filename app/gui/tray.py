"""The watcher's icon in the system tray: its last repairs, a way to the
window, and a notification after each repair."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import cast

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from app import APP_NAME
from app.core import autostart
from app.core.watcher import RepairEvent, Watcher
from app.gui import jobs, resources, theme
from app.gui.session_model import friendly_time
from app.gui.tasks import Poll, Tasks

SHOWN_EVENTS = 5


def application() -> QApplication:
    """The application (made once), named as the window names it: on X11 the
    icon's window is then called "Session Rescue", not after sys.argv[0]."""
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    app.setApplicationName(APP_NAME)
    return app


def available() -> bool:
    """Is there a system tray to put an icon in?  (Needs the application.)"""
    application()
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayWatcher(QObject):
    """Drives a Watcher from a timer (each look in a worker thread) and shows
    what it did."""

    def __init__(self, repair_watcher: Watcher, interval: float, parent: QObject | None = None):
        super().__init__(parent)
        self.repair_watcher = repair_watcher
        self.tasks = Tasks(self)
        self.icon = QSystemTrayIcon(resources.icon("session-rescue"), self)
        self.icon.setToolTip("Session Rescue is keeping your Claude Desktop sessions repaired")
        self.menu = QMenu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.poll = Poll(self.tasks, int(interval * 1000), jobs.watch_tick, repair_watcher, parent=self)
        self.poll.result.connect(self._on_event)
        self.poll.error.connect(self._on_error)
        self.last_message: str | None = None
        self.rebuild_menu()

    def start(self) -> None:
        self.icon.show()
        self.poll.start()

    @Slot(object)
    def _on_event(self, event: RepairEvent | None) -> None:
        if event is None:
            return
        self.rebuild_menu()
        if event.worth_telling:
            # A run left alone (damaged), or Claude Desktop starting midway,
            # is said here too: the watcher never acts on them silently.
            self.notify(" ".join([event.sentence().rstrip(".") + ".", *event.notes]))

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.notify(message)

    def notify(self, text: str) -> None:
        self.last_message = text
        self.icon.showMessage("Session Rescue", text, resources.icon("session-rescue"), 10_000)

    def rebuild_menu(self) -> None:
        self.menu.clear()
        title = self.menu.addAction("Keeping Claude Desktop sessions repaired")
        title.setEnabled(False)
        self.menu.addSeparator()
        events = list(self.repair_watcher.events)[-SHOWN_EVENTS:][::-1]  # the last ones, newest first
        if not events:
            self.menu.addAction("No repair yet").setEnabled(False)
        for event in events:
            self.menu.addAction(f"{friendly_time(event.when * 1000)}: {event.sentence()}").setEnabled(False)
        self.menu.addSeparator()
        open_window = QAction("Open Session Rescue", self.menu)
        open_window.triggered.connect(self.open_window)
        self.menu.addAction(open_window)
        stop = QAction("Stop until next logon", self.menu)
        stop.triggered.connect(QApplication.quit)
        self.menu.addAction(stop)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_window()

    def open_window(self) -> None:
        subprocess.Popen([*autostart.command(), "gui"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=sys.platform != "win32")

    def stop(self) -> None:
        self.poll.stop()
        self.tasks.shutdown()
        self.icon.hide()


def run(repair_watcher: Watcher, interval: float, stop: threading.Event) -> int:
    """Show the icon and watch until ``stop`` is set (by a signal: Ctrl+C, or
    SIGTERM from "autostart disable") or the user stops it from the menu."""
    app = application()
    app.setQuitOnLastWindowClosed(False)  # the tray has no window to close
    theme.apply(app)
    tray = TrayWatcher(repair_watcher, interval)
    # Python runs its signal handlers only between Python statements; this
    # timer gives it that chance while Qt's loop waits, and ends the loop.
    stopper = QTimer()
    stopper.timeout.connect(lambda: app.quit() if stop.is_set() else None)
    stopper.start(250)
    tray.start()
    code = app.exec()
    stopper.stop()
    tray.stop()
    return code
