"""The parts the main window is built from, made and styled here: the window
only lays them out and connects them."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.locations import DataDir
from app.core.records import Session
from app.gui import resources
from app.gui.desktop import open_path
from app.gui.session_model import COL_ACCOUNT, COL_CWD, COL_LAST, COL_SIZE, COL_STATUS, COL_TITLE, kind_word

COLUMN_WIDTHS = {COL_STATUS: 130, COL_TITLE: 250, COL_LAST: 150, COL_CWD: 200, COL_ACCOUNT: 130, COL_SIZE: 80}
CLAUDE_BANNER_STYLE = "background: #fff3bf; color: #5c4400; padding: 8px; border-bottom: 1px solid #e0c060;"
DIAGNOSIS_STYLE = "background: #e7f0fb; color: #1d3f66; padding: 6px 8px; border-bottom: 1px solid #b5cdea;"


def strip(name: str, style: str) -> QLabel:
    """A full-width line of news above the list, hidden until there is some."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(f"#{name} {{ {style} }}")
    label.hide()
    return label


def claude_running_text(first_process: object) -> str:
    return ("<b>Claude Desktop is running.</b> Repairs wait until it is fully quit, including its icon in the "
            "system tray (menu bar on a Mac): it keeps sessions in memory and would overwrite a repair. "
            f"<span style='color:#7a6520'>({html.escape(str(first_process))})</span>")


class FolderChoice(QComboBox):
    """The data folders the window can show, each listed once."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumContentsLength(24)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setToolTip("The Claude Desktop data folder shown")

    def add(self, data_dir: DataDir, select: bool = True) -> None:
        """List ``data_dir`` (unless it is listed), and with ``select`` show it."""
        for i in range(self.count()):
            if self.itemData(i).path == data_dir.path:
                if select:
                    self.setCurrentIndex(i)
                return
        self.blockSignals(not select)
        self.addItem(resources.icon("session-rescue"), f"{data_dir.label} — {data_dir.path}", data_dir)
        self.setItemData(self.count() - 1, str(data_dir.path), Qt.ItemDataRole.ToolTipRole)
        if select:
            self.setCurrentIndex(self.count() - 1)
        self.blockSignals(False)

    def first_with_sessions(self) -> int | None:
        return next((i for i in range(self.count()) if self.itemData(i).has_sessions), None)


def status_toggle(status: str, shown: bool = True) -> QToolButton:
    """A switch that shows or hides the rows of one status (its text, the count, is set later)."""
    button = QToolButton()
    button.setCheckable(True)
    button.setChecked(shown)
    button.setIcon(resources.icon(f"status-{status}"))
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setToolTip(f"Show or hide {kind_word(status).lower()} sessions")
    return button


def session_table(proxy: QSortFilterProxyModel, row_height: int) -> QTableView:
    """The list of sessions: whole rows selected, newest first, a row menu."""
    table = QTableView()
    table.setModel(proxy)
    header = table.horizontalHeader()
    # The source model sorts (cheaply); a click on a header asks it to.
    header.setSectionsClickable(True)
    header.setSortIndicatorShown(True)
    header.setSortIndicator(COL_LAST, Qt.SortOrder.DescendingOrder)
    header.setStretchLastSection(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere else
    table.verticalHeader().hide()
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(row_height)
    for col, width in COLUMN_WIDTHS.items():
        table.setColumnWidth(col, width)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    return table


def row(*widgets: QWidget, stretch: QWidget | None = None, end_with_stretch: bool = False) -> QHBoxLayout:
    """Widgets side by side; ``stretch`` takes the room left."""
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is stretch else 0)
    if end_with_stretch:
        layout.addStretch(1)
    return layout


def column(*parts: QWidget | QLayout, stretch: QWidget | None = None, margins: tuple[int, int, int, int] = (0, 0, 0, 0),
           spacing: int | None = None) -> QWidget:
    """A widget holding ``parts`` one below the other; ``stretch`` takes the room left."""
    widget = QWidget()
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(*margins)
    if spacing is not None:
        layout.setSpacing(spacing)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part, 1 if part is stretch else 0)
    return widget


def session_menu(parent: QWidget, session: Session, changes: list[tuple[str, Callable[[], None], bool]]) -> QMenu:
    """A row's menu: its folder, its path and id to copy, and ``changes``
    (text, what it does, whether it can now) for the selection."""
    menu = QMenu(parent)
    menu.addAction("Open containing folder", lambda: open_path(Path(session.folder)))
    state = session.json or session.tmp
    path = state.path if state is not None else session.transcript_path or session.folder
    menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
    menu.addAction("Copy session id", lambda: QGuiApplication.clipboard().setText(session.id))
    menu.addSeparator()
    for text, slot, enabled in changes:
        menu.addAction(text, slot).setEnabled(enabled)
    return menu


class EmptyState(QWidget):
    """What the window shows when no Claude Desktop data was found: where it
    looked, and two ways on (the demo data, or a folder of one's own)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text)
        self.demo_button = QPushButton("Open demo data")
        self.choose_button = QPushButton("Choose a folder…")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.choose_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(2)

    def show_places(self, searched: list[str]) -> None:
        places = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in searched) or "<li>–</li>"
        self.text.setText("<h2>No Claude Desktop sessions were found on this computer.</h2>"
                          f"<p>Session Rescue looked in:</p><ul style='text-align:left'>{places}</ul>"
                          "<p>Choose the folder if Claude Desktop keeps its data somewhere else, "
                          "or open the demo data to see what Session Rescue does.</p>")
