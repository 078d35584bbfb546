"""What the window remembers between runs: its size and place, how the
splitter divides it, the table's columns (their widths and sort), and
whether the preview shows the files and details."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter, QTableView

from app.gui.preview import PreviewPane
from app.gui.session_model import SessionModel

HEADER_KEY = "table/header-2"  # the columns' order changed: a width saved for another column is not reused
DEFAULT_SIZE = (1200, 720)


def fit_to_screen(window: QMainWindow) -> None:
    """The window fits the screen it is on (a 1366×768 laptop at 125% has
    about 1092×580 to give), whatever size it was, or was remembered at."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    room = screen.availableGeometry()
    width = min(window.width(), room.width() - 16)
    height = min(window.height(), room.height() - 40)  # a title bar and a frame, which Qt does not count
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    if not room.contains(window.frameGeometry().topLeft()):
        window.move(room.topLeft())


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
        fit_to_screen(self._window)
        self._splitter_state = self.settings.value("window/splitter")
        self._preview.set_technical(bool(self.settings.value("preview/technical", False, type=bool)))
        header = self._table.horizontalHeader()
        state = self.settings.value(HEADER_KEY)
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
        self.settings.setValue(HEADER_KEY, self._table.horizontalHeader().saveState())
        self.settings.sync()
