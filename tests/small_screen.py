"""Run under Xvfb by test_window_for_everyone: the window and its plan on a
small laptop's screen (the test sets the screen's size and QT_SCALE_FACTOR),
measured as a person would see them; prints one JSON document."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.core import demo, locations
from app.gui.dialogs import ConfirmRepairDialog
from app.gui.main_window import MainWindow


def inside(outer, inner) -> bool:
    return outer.contains(inner.topLeft()) and outer.contains(inner.bottomRight())


def main() -> int:
    app = QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp(prefix="small-screen-"))
    info = demo.write_demo(tmp / "Claude")
    window = MainWindow([locations.DataDir(info.path, "demo", "Demo data", True)],
                        settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), backup_root=tmp / "b")
    window.show()
    out: dict = {}

    def measure_plan() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ConfirmRepairDialog):
            QTimer.singleShot(50, measure_plan)
            return
        room = dialog.screen().availableGeometry()
        table = dialog.table
        viewport = table.viewport().rect()
        shown = sum(1 for r in range(table.rowCount())
                    if viewport.contains(table.visualRect(table.model().index(r, 0)).adjusted(0, 0, -1, -1)))
        out["plan"] = {"rows": table.rowCount(), "shown": shown, "fits": inside(room, dialog.frameGeometry()),
                       "room": [room.width(), room.height()], "size": [dialog.width(), dialog.height()]}
        dialog.reject()
        QTimer.singleShot(100, app.quit)

    def scanned(_result) -> None:
        room = window.screen().availableGeometry()
        out["window"] = {"fits": inside(room, window.frameGeometry()), "size": [window.width(), window.height()],
                         "room": [room.width(), room.height()]}
        QTimer.singleShot(50, measure_plan)
        window.repair_all()

    window.scan_finished.connect(scanned)
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
