"""Start the window: the application, its theme, its log file, screenshot mode."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import cast

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__
from app.core import collector, locations, logfile
from app.gui import resources, theme
from app.gui.main_window import MainWindow

SCREENSHOT_TIMEOUT_MS = 60_000
START_AT_THE_LATEST_MS = 10_000  # the cycle collector runs again by then, ready or not


def run(data_dirs: list[locations.DataDir], searched: list[str] | None = None, screenshot: Path | None = None,
        backup_root: Path | None = None) -> int:
    """Open the window and run until it closes.  With ``screenshot``, save a
    PNG of the window once the scan is shown with the first row's preview,
    and exit (0 when saved)."""
    app = cast(QApplication, QApplication.instance() or theme.application(sys.argv[:1]))
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(resources.icon("session-rescue"))
    theme.apply(app)
    # The log file opens once the window shows its sessions (or a job fails):
    # its modules would delay them.  What is logged until then waits for it.
    logfile.hold()
    settings = None
    if screenshot is not None:  # the same picture every time: no remembered geometry
        settings = QSettings(str(Path(tempfile.mkdtemp(prefix="session-rescue-shot-")) / "settings.ini"),
                             QSettings.Format.IniFormat)
    window = MainWindow(data_dirs, searched, backup_root, settings=settings, announce=True)
    outcome = {"code": 0}
    if screenshot is not None:
        window.resize(1280, 780)

        def shoot() -> None:
            if window.grab().save(str(screenshot), "PNG"):
                print(f"Saved a screenshot of the window to {screenshot}")
            else:
                print(f"session-rescue: could not save the screenshot to {screenshot}", file=sys.stderr)
                outcome["code"] = 1
            window.close()

        def too_slow() -> None:
            print("session-rescue: the window was not ready within a minute; no screenshot", file=sys.stderr)
            outcome["code"] = 1
            window.close()

        window.ready.connect(lambda: QTimer.singleShot(300, shoot))  # let it paint once more
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, too_slow)
    log_opened = False

    def open_log_file() -> None:
        nonlocal log_opened
        if not log_opened:
            log_opened = True
            window.log_dir = logfile.start()

    window.ready.connect(open_log_file)
    window.log_wanted.connect(open_log_file)
    window.job_failed.connect(open_log_file)
    # The start is over once the window shows its sessions (or could not):
    # the cycle collector, paused for it (app/__main__.py), runs again.
    window.ready.connect(collector.release_start)
    window.job_failed.connect(collector.release_start)
    # ... and whatever happens on the way to ready (a slot that raised, a
    # scan that never ends), the collector is not kept from a window that
    # may stay open for days (found by review).
    QTimer.singleShot(START_AT_THE_LATEST_MS, collector.release_start)
    window.show_with_first_rows()
    code = app.exec()
    open_log_file()  # closed before: what was logged still goes to the file
    return outcome["code"] if screenshot is not None else code
