"""The main window's menus: the menu bar, every command it offers with its
keys, and a row's context menu.

The window keeps the QActions it enables and disables (Menus); the slots are
the window's own, so a menu item and its button do the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app.core.kinds import Kind
from app.gui import window_parts

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None


class Menus(NamedTuple):
    """The menu items whose state follows the selection and the guard.  (A
    named tuple: a dataclass is made by compiling its methods as the window
    starts, some 1 ms.)"""

    repair_selected: QAction
    repair_all: QAction
    adopt: QAction
    rebuild: QAction
    mirror: QAction
    export: QAction
    resume: QAction
    undo: QAction


def _action(window: MainWindow, menu: QMenu, text: str, slot: Callable[[], object],
            shortcut: Shortcut = None) -> QAction:
    act = QAction(text, window)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    act.triggered.connect(lambda _checked=False: slot())
    menu.addAction(act)
    return act


def build_menus(w: MainWindow) -> Menus:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    _action(w, file_menu, "&Choose folder…", w.choose_folder, QKeySequence.StandardKey.Open)
    _action(w, file_menu, "Open &demo data", w.open_demo)
    file_menu.addSeparator()
    _action(w, file_menu, "&Quit", w.close, QKeySequence.StandardKey.Quit)
    view_menu = bar.addMenu("&View")
    _action(w, view_menu, "&Refresh", w.refresh, "F5")
    _action(w, view_menu, "&Find…", w.focus_search, QKeySequence.StandardKey.Find)
    tools = bar.addMenu("&Tools")
    repair_selected = _action(w, tools, "&Repair selected…", w.repair_selected, "Ctrl+R")
    repair_all = _action(w, tools, "Repair &all…", w.repair_all, "Ctrl+Shift+R")
    adopt = _action(w, tools, "&Move selected to active account…", w.adopt_selected)
    rebuild = _action(w, tools, "Re&build selected…", w.rebuild_selected, "Ctrl+B")
    mirror = _action(w, tools, "&Install copied SSH conversation…", w.install_mirror)
    tools.addSeparator()
    export = _action(w, tools, "&Export conversation…", w.export_conversation, "Ctrl+E")
    resume = _action(w, tools, "Copy r&esume command", w.copy_resume_command)
    tools.addSeparator()
    _action(w, tools, "&Backups…", w.show_backups)
    undo = _action(w, tools, "&Undo last change…", lambda: w.undo(None))
    _action(w, tools, "Open &log folder", w.open_log_folder)
    settings = bar.addMenu("&Settings")
    settings.addAction(w.keep_repaired_switch.action)
    settings.aboutToShow.connect(w.keep_repaired_switch.look)
    help_menu = bar.addMenu("&Help")
    _action(w, help_menu, "&How it works", w.how_it_works, QKeySequence.StandardKey.HelpContents)
    _action(w, help_menu, "&About Session Rescue", w.about)
    return Menus(repair_selected, repair_all, adopt, rebuild, mirror, export, resume, undo)


def show_context_menu(w: MainWindow, pos: QPoint) -> None:
    """A right-click on a row: what can be done with it (the selection's own
    changes, enabled as their buttons are), and its files."""
    index = w.table.indexAt(pos)
    if not index.isValid():
        return
    if not w.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
        w.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    enabled = {kind: widgets[0].isEnabled() for kind, widgets in w.selected_widgets.items()}
    menu = window_parts.session_menu(w, w.model.session_at(index.row()), [
        ("Repair…", w.repair_selected, enabled[Kind.REPAIR]),
        ("Move to active account…", w.adopt_selected, enabled[Kind.ADOPT]),
        ("Rebuild…", w.rebuild_selected, enabled[Kind.REBUILD]),
        ("Export conversation…", w.export_conversation, w.menus.export.isEnabled()),
        ("Copy resume command", w.copy_resume_command, w.menus.resume.isEnabled())])
    menu.popup(w.table.viewport().mapToGlobal(pos))
