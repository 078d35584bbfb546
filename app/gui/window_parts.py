"""The parts the main window is built from, made and styled here: the window
only lays them out and connects them."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import display
from app.core.locations import DataDir
from app.core.records import Session
from app.gui import resources
from app.gui.rich_text import escape
from app.gui.session_model import (
    COL_ACCOUNT,
    COL_CWD,
    COL_LAST,
    COL_REASONS,
    COL_SIZE,
    COL_STATUS,
    COL_TITLE,
    SESSION_ROLE,
    SessionModel,
    kind_word,
)

log = logging.getLogger(__name__)
COLUMN_WIDTHS = {COL_STATUS: 118, COL_TITLE: 190, COL_REASONS: 250, COL_LAST: 130, COL_CWD: 180, COL_ACCOUNT: 160,
                 COL_SIZE: 70}
CLAUDE_BANNER_STYLE = "background: #fff3bf; color: #5c4400; padding: 8px; border-bottom: 1px solid #e0c060;"
DIAGNOSIS_STYLE = "background: #e7f0fb; color: #1d3f66; padding: 6px 8px; border-bottom: 1px solid #b5cdea;"
# The same strips in a dark theme: a light strip on a dark window glares.
_DARK = {CLAUDE_BANNER_STYLE: "background: #4a3b0b; color: #ffe9a8; padding: 8px; border-bottom: 1px solid #7a6520;",
         DIAGNOSIS_STYLE: "background: #1d3350; color: #d6e6fa; padding: 6px 8px; border-bottom: 1px solid #2f5680;"}


def strip(name: str, style: str) -> QLabel:
    """A full-width line of news above the list, hidden until there is some."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    label.setStyleSheet(f"#{name} {{ {_DARK.get(style, style) if dark else style} }}")
    label.hide()
    return label


def claude_running_text(first_process: object) -> str:
    return ("<b>Claude Desktop is running.</b> Repairs wait until it is fully quit, including its icon in the "
            "system tray (menu bar on a Mac): it keeps sessions in memory and would overwrite a repair. "
            f"<span style='color:#7a6520'>({escape(str(first_process))})</span>")


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


# On and off must not look alike: "on" has a check mark and a coloured edge;
# "off" has ○ and a dashed edge, its text not greyed (that reads as
# disabled).  Neither is bold nor struck through: Qt sizes the button for its
# plain font, and lets a line-through stick to the checked state too.
TOGGLE_STYLE = ("QToolButton { padding: 2px 6px; border-radius: 4px; }"
                "QToolButton:checked { border: 2px solid palette(highlight); color: palette(button-text); }"
                "QToolButton:!checked { border: 1px dashed palette(mid); }")


def status_toggle(status: str, shown: bool = True) -> QToolButton:
    """A switch that shows or hides the rows of one status (its text, the count, is set by set_toggle_text)."""
    button = QToolButton()
    button.setCheckable(True)
    button.setChecked(shown)
    button.setIcon(resources.icon(f"status-{status}"))
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setStyleSheet(TOGGLE_STYLE)
    button.setProperty("status", status)
    button.toggled.connect(lambda _on: set_toggle_text(button, button.property("count") or 0))
    return button


def set_toggle_text(button: QToolButton, count: int) -> None:
    """The switch's words: its kind, how many, and whether they are shown."""
    word = kind_word(str(button.property("status")))
    shown = button.isChecked()
    # ✓ shown, ○ hidden: the text stays as dark as any button's, so that an
    # "off" switch never looks like a disabled one.
    text = f"{'✓' if shown else '○'} {word} {count}"
    if text == button.text():
        return  # nothing new to say (a new text lays the row of switches out again)
    button.setProperty("count", count)
    button.setText(text)
    state = "shown" if shown else "hidden"
    button.setToolTip(f"{display.counted(count, word.lower() + ' session')}, {state}: "
                      f"click to {'hide' if shown else 'show'} {'it' if count == 1 else 'them'}")
    button.setAccessibleName(f"{word} sessions")
    button.setAccessibleDescription(f"{count}, {state}")


class Place(NamedTuple):
    """Where the user was in the list: which sessions were selected, which
    was current, and how far it was scrolled."""

    selected: frozenset[str]
    current: str | None
    scroll: int

    @classmethod
    def of(cls, table: QTableView, selected: list[Session]) -> Place:
        index = table.currentIndex()
        current = index.data(SESSION_ROLE).id if index.isValid() else None
        return cls(frozenset(s.id for s in selected), current, table.verticalScrollBar().value())

    def restore(self, table: QTableView, model: SessionModel) -> None:
        """Select the same sessions again (those still listed), and scroll back."""
        selection = QItemSelection()
        current = None
        last = model.columnCount() - 1
        for row, session_id in model.rows_of(self.selected | {self.current or ""}):
            if session_id in self.selected:
                selection.select(model.index(row, 0), model.index(row, last))
            if session_id == self.current:
                current = model.index(row, 0)
        selected = table.selectionModel()
        if current is not None:
            selected.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)
        selected.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        table.verticalScrollBar().setValue(self.scroll)


class ElidedLabel(QLabel):
    """One line that never cuts its text silently: what does not fit ends in
    "…", and the whole of it is in the tooltip (and for screen readers)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setAccessibleName(text)
        self._elide()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name, so signals can still be connected to it
        self.set_full_text(text)

    def text(self) -> str:
        """The whole text, not what fits."""
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 80))
        QLabel.setText(self, shown)


def session_table(model: SessionModel, row_height: int) -> QTableView:
    """The list of sessions: whole rows selected, newest first, a row menu."""
    table = QTableView()
    table.setModel(model)
    table.setAccessibleName("Sessions")
    table.setAccessibleDescription("Every session found, one per row: its status, title and what happened to it. "
                                   "Select the ones to repair.")
    header = table.horizontalHeader()
    # The model sorts (cheaply); a click on a header asks it to.
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
    from app.gui.desktop import open_path  # here: the hand-off to the desktop waits for a right-click

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
        places = "<br>".join(f"<code>{escape(p)}</code>" for p in searched) or \
            "<i>nowhere: no place for Claude Desktop's data is known on this system</i>"
        self.text.setText("<h2>No Claude Desktop sessions were found.</h2>"
                          f"<p>Session Rescue looked in:</p><p>{places}</p>"
                          "<p>Choose the folder if Claude Desktop keeps its data somewhere else, "
                          "or open the demo data to see what Session Rescue does.</p>")


def change_buttons() -> tuple[QPushButton, QPushButton, QPushButton, QPushButton]:
    """Repair selected, Repair all, Move to active account, Rebuild."""
    repair_selected = QPushButton("&Repair selected…")
    repair_all = QPushButton("Repair &all…")
    adopt = QPushButton("&Move to active account…")
    adopt.setToolTip("Copy the selected sessions of another account into the one Claude Desktop is signed in to")
    rebuild = QPushButton("Re&build…")
    rebuild.setToolTip("Make records for the selected transcripts, or link a record back to its transcript")
    return repair_selected, repair_all, adopt, rebuild


def say_on_terminal(line: str) -> None:
    """The app's one line on its terminal, if it has one (a double-clicked
    Windows executable has none)."""
    log.info(line)
    if sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            print(line, flush=True)
