"""Screenshots of the window as a person sees it, for looking at by eye:
the main window, the plan, the summary and an exported conversation.

Run it under Xvfb, at the screen size and scaling to check, for example a
small laptop (1366×768 at 125%) in both themes:

    QT_SCALE_FACTOR=1.25 xvfb-run -a -s "-screen 0 1366x768x24" \\
        .venv/bin/python tests/window_screenshots.py OUT_DIR light
    (and again with dark)

It writes OUT_DIR/<theme>-main.png, -plan.png, -summary.png and, when
chromium is installed, -export.png (the HTML export, as a browser shows
it), each a grab of the whole screen; it prints what it wrote.  Nothing
outside a fresh temporary demo folder is changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from app.core import demo, export, locations
from app.gui import theme
from app.gui.dialogs import ConfirmRepairDialog, SummaryDialog
from app.gui.main_window import MainWindow

SHOWN = "Sketch the invoice PDF layout"  # an orphaned session whose words matter most


def grab(path: Path) -> None:
    QApplication.primaryScreen().grabWindow(0).save(str(path))
    print(path)


def when_modal(kind: type, then: Callable[[QDialog], None]) -> None:
    """Once a modal dialog of ``kind`` shows and has painted, call ``then`` with it."""
    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind):
            QTimer.singleShot(400, lambda: then(dialog))
        else:
            QTimer.singleShot(50, poll)
    QTimer.singleShot(0, poll)


def export_picture(session, out: Path, tmp: Path, scheme: str) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no chromium: the export is written, not pictured", file=sys.stderr)
        return
    page = tmp / "export.html"
    with open(page, "w", encoding="utf-8") as f:
        export.export_session(session, f, "html")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    *(["--force-dark-mode"] if scheme == "dark" else []),  # the page follows the system's scheme
                    f"--screenshot={out}", "--window-size=1092,614", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(out)


def main(out_dir: str, scheme: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    theme.apply(app, scheme)
    tmp = Path(tempfile.mkdtemp(prefix="screenshots-"))
    info = demo.write_demo(tmp / "Claude")
    window = MainWindow([locations.DataDir(info.path, "demo", "Demo data", True)],
                        settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), backup_root=tmp / "b")
    shown: list = []

    def on_summary(dialog: QDialog) -> None:
        grab(out / f"{scheme}-summary.png")
        dialog.done(SummaryDialog.DialogCode.Rejected)
        export_picture(shown[0], out / f"{scheme}-export.png", tmp, scheme)
        QTimer.singleShot(200, app.quit)

    def on_plan(dialog: QDialog) -> None:
        grab(out / f"{scheme}-plan.png")
        when_modal(SummaryDialog, on_summary)
        dialog.accept()

    def on_preview(session_id: str) -> None:
        if shown or window.preview.session is None or window.preview.session.title != SHOWN:
            return
        shown.append(window.preview.session)
        QTimer.singleShot(600, lambda: (grab(out / f"{scheme}-main.png"), when_modal(ConfirmRepairDialog, on_plan),
                                        window.repair_all()))

    def on_scan(_result) -> None:
        if shown:
            return
        for row in range(window.model.rowCount()):
            if window.model.session_at(row).title == SHOWN:
                window.table.selectRow(row)

    window.scan_finished.connect(on_scan)
    window.preview_shown.connect(on_preview)
    window.show()
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "light"))
