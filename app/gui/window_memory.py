"""What the window remembers between runs: its size and place, how the
splitter divides it, the table's columns (their widths and sort), and
whether the preview shows the files and details."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter, QTableView

from app.gui.preview import PreviewPane
from app.gui.session_model import SessionModel


class WindowMemory:
    def __init__(self, settings: QSettings, window: QMainWindow, splitter: QSplitter, table: QTableView,
                 model: SessionModel, preview: PreviewPane):
        self.settings = settings
        self._window, self._splitter, self._table, self._model = window, splitter, table, model
        self._preview = preview
        self._splitter_state: QByteArray | None = None
        preview.technical_changed.connect(lambda on: self.settings.setValue("preview/technical", on))

    def restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self._window.restoreGeometry(geometry)
        self._splitter_state = self.settings.value("window/splitter")
        self._preview.set_technical(bool(self.settings.value("preview/technical", False, type=bool)))
        header = self._table.horizontalHeader()
        state = self.settings.value("table/header")
        if state is not None:
            header.restoreState(state)
            self._model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def window_shown(self) -> None:
        """The splitter is laid out only once the window has its size: restored
        earlier, its panes would be stretched in proportion, not kept."""
        if self._splitter_state is not None:
            state, self._splitter_state = self._splitter_state, None
            QTimer.singleShot(0, lambda: self._splitter.restoreState(state))

    def save(self) -> None:
        self.settings.setValue("window/geometry", self._window.saveGeometry())
        self.settings.setValue("window/splitter", self._splitter.saveState())
        self.settings.setValue("table/header", self._table.horizontalHeader().saveState())
        self.settings.sync()
