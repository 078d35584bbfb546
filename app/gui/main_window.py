"""The main window: every session, what is in it, and a way to repair it.

A thin view over app.core: it scans and reads through workers (app.gui.jobs
on QThreads) and only renders what they return.  A change (repair, adopt,
rebuild) and its undo are its RepairFlow's (app.gui.repair_flow); the window
lays out its parts (app.gui.window_parts) and wires them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from app.core import backfill, locations, reasons
from app.core.kinds import Kind, applies_to
from app.core.records import ScanResult, Session
from app.gui import resources, window_parts
from app.gui.claude_watch import ClaudeWatch
from app.gui.conversation_actions import ConversationActions
from app.gui.keep_repaired import KeepRepairedSwitch
from app.gui.preview import PreviewPane
from app.gui.preview_reader import PreviewReader
from app.gui.scan_feed import HOLD_MS, ScanFeed
from app.gui.session_model import KINDS, SHOWN_AT_FIRST, Arranged, SessionModel, arrange
from app.gui.tasks import Tasks
from app.gui.window_memory import WindowMemory
from app.gui.window_menus import build_menus, show_context_menu

# The machinery of a change (plans, backups, the engine, its dialogs), the
# demo data, the help texts and psutil are imported when first used, not
# before the window shows its sessions; so are the file dialog and the
# message box (Qt makes each type, and its many enums, when first asked for
# it: some 2 ms of the start), and the hand-off to the desktop.
if TYPE_CHECKING:
    from app.core import plans
    from app.gui.repair_flow import RepairFlow


class MainWindow(QMainWindow):
    # Plain data out, for whoever listens (the tests, screenshot mode).
    scan_finished = Signal(object)  # ScanResult
    preview_shown = Signal(str)  # session id
    repair_finished = Signal(object)  # plans.Report
    undo_finished = Signal(object)  # (run id, results, already undone)
    claude_state_changed = Signal(bool)
    job_failed = Signal(str)
    keep_repaired_applied = Signal(str)  # what the status bar says once the switch took effect (or did not)
    ready = Signal()  # once: the first scan is shown with its first row's preview (or the empty state)
    log_wanted = Signal()  # the log folder was asked for before the log file opened (at ready): open it now

    def __init__(self, data_dirs: list[locations.DataDir], searched: list[str] | None = None,
                 backup_root: Path | None = None, settings: QSettings | None = None,
                 claude_check: Callable[[], list] | None = None, check_interval_ms: int = 3000,
                 announce: bool = False, log_dir: Path | None = None):
        super().__init__()
        self.setWindowTitle("Session Rescue")
        self.setWindowIcon(resources.icon("session-rescue"))
        self.tasks = Tasks(self)
        self._chosen_backup_root = backup_root
        self.log_dir = log_dir
        self._searched = list(searched or [])
        self._announce = announce
        self._demo_tmp: tempfile.TemporaryDirectory | None = None
        self._result: ScanResult | None = None
        self._next_sort = 0.0  # when the rows streaming in are next put in order, and counted
        self._was_ready = False
        self._held_back = False  # shown once its first rows are in (show_with_first_rows)
        self._kept: window_parts.Place | None = None  # the selection and scroll a refresh gives back
        self.scan_feed = ScanFeed(self.tasks, self)
        self.keep_repaired_switch = KeepRepairedSwitch(self, self.tasks)
        self._flow: RepairFlow | None = None  # made when first asked for (the flow property)
        self.conversation_actions = ConversationActions(self, self.tasks)

        self._build_widgets()
        self.claude_watch = ClaudeWatch(self.tasks, self.banner, check_interval_ms, claude_check, self)
        self._build_menus()
        self._wire_workers()
        self._update_actions()
        self.memory = WindowMemory(settings or QSettings("Session Rescue", "Session Rescue"), self, self.splitter,
                                   self.table, self.model, self.preview)
        self.memory.restore()
        for d in data_dirs:
            self.folder_combo.add(d, select=False)
        QTimer.singleShot(0, self._first_folder)
        self.claude_watch.start_after(self.ready)

    # ------------------------------------------------------------- widgets

    def _build_widgets(self) -> None:
        self.model = SessionModel(self)  # the table's rows: it sorts and filters them itself
        self._build_banners()
        self._build_table()
        self._build_preview()
        # Three rows, so that the window fits a small laptop screen: where the
        # data is, what is shown, and what can be done with it.
        main = window_parts.column(self._build_folder_row(), self._build_filter_bar(), self._build_action_buttons(),
                                   self.splitter, stretch=self.splitter, margins=(8, 8, 8, 0))
        self._build_empty_state()
        self.stack = QStackedWidget()
        self.stack.addWidget(main)
        self.stack.addWidget(self.empty)
        self.setCentralWidget(window_parts.column(self.banner, self.diagnosis, self.stack, stretch=self.stack,
                                                  spacing=0))
        self._build_status_bar()
        self.resize(1200, 720)

    def _build_banners(self) -> None:
        self.banner = window_parts.strip("banner", window_parts.CLAUDE_BANNER_STYLE)
        # What Claude Desktop's own log says about the lost sessions (main.log).
        self.diagnosis = window_parts.strip("diagnosis", window_parts.DIAGNOSIS_STYLE)
        self.diagnosis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _build_folder_row(self) -> QHBoxLayout:
        self.folder_combo = window_parts.FolderChoice()
        self.folder_combo.currentIndexChanged.connect(self._on_folder_chosen)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.choose_folder)
        folder_label = QLabel("&Data folder:")
        folder_label.setBuddy(self.folder_combo)
        return window_parts.row(folder_label, self.folder_combo, self.browse_button, stretch=self.folder_combo)

    def _build_filter_bar(self) -> QHBoxLayout:
        """Which kinds of session are shown: a switch each, with its count
        (the search box sits with the buttons, so that both rows fit a small screen)."""
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, folder or id  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(140)
        self.search.setAccessibleName("Search")
        self.search.setAccessibleDescription("Shows only the sessions whose title, folder or id holds these words")
        self.search.textChanged.connect(self.model.set_search)
        self.toggles: dict[str, QToolButton] = {}
        for status in KINDS:
            toggle = window_parts.status_toggle(status, status in SHOWN_AT_FIRST)
            toggle.toggled.connect(lambda shown, s=status: self.model.set_status_shown(s, shown))
            self.toggles[status] = toggle
        show = QLabel("Show:")
        return window_parts.row(show, *self.toggles.values(), end_with_stretch=True)

    def _build_action_buttons(self) -> QHBoxLayout:
        buttons = window_parts.change_buttons()
        self.repair_selected_button, self.repair_all_button, self.adopt_button, self.rebuild_button = buttons
        for button, slot in zip(buttons, (self.repair_selected, self.repair_all, self.adopt_selected,
                                          self.rebuild_selected), strict=True):
            button.clicked.connect(slot)
        return window_parts.row(*buttons, self.search, stretch=self.search)

    def _build_table(self) -> None:
        self.table = window_parts.session_table(self.model, self.fontMetrics().height() + 8)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self.model.sort)
        self.table.customContextMenuRequested.connect(partial(show_context_menu, self))
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.doubleClicked.connect(lambda _index: self.preview.tabs.setFocus())

    def _build_preview(self) -> None:
        self.preview = PreviewPane()
        self.preview_reader = PreviewReader(self.preview, self.tasks, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

    def _build_empty_state(self) -> None:
        self.empty = window_parts.EmptyState()
        self.empty_text = self.empty.text
        self.demo_button = self.empty.demo_button
        self.demo_button.clicked.connect(self.open_demo)
        self.empty.choose_button.clicked.connect(self.choose_folder)

    def _build_status_bar(self) -> None:
        self.status_label = window_parts.ElidedLabel("Starting…")
        self.statusBar().addWidget(self.status_label, 1)
        self._update_counts()

    def _build_menus(self) -> None:
        self.menus = build_menus(self)
        self.keep_repaired_action = self.keep_repaired_switch.action
        # Which button and menu item each kind of change has, for a selection.
        self.selected_widgets: dict[Kind, tuple[QWidget | QAction, ...]] = {
            Kind.REPAIR: (self.repair_selected_button, self.menus.repair_selected),
            Kind.ADOPT: (self.adopt_button, self.menus.adopt),
            Kind.REBUILD: (self.rebuild_button, self.menus.rebuild)}

    def _wire_workers(self) -> None:
        self.scan_feed.batch.connect(self._on_batch)
        self.scan_feed.finished.connect(self._on_scan_done)
        self.scan_feed.failed.connect(self._on_job_failed)
        self.preview_reader.shown.connect(self._on_preview_shown)
        self.preview_reader.status.connect(self.status_label.setText)
        self.preview_reader.failed.connect(self._on_job_failed)
        self.preview.install_mirror.connect(self.install_mirror)
        self.preview.export_wanted.connect(self.export_conversation)
        self.preview.resume_wanted.connect(self.copy_resume_command)
        self.conversation_actions.status.connect(self.status_label.setText)
        self.claude_watch.looked.connect(self._update_actions)
        self.claude_watch.changed.connect(self.claude_state_changed)
        self.keep_repaired_switch.status.connect(self.status_label.setText)
        self.keep_repaired_switch.applied.connect(self.status_label.setText)
        self.keep_repaired_switch.applied.connect(self.keep_repaired_applied)

    @property
    def flow(self) -> RepairFlow:
        """What carries out a change (repair, adopt, rebuild) and its undo,
        made the first time one is asked for: it brings the planning, backup
        and engine modules and their dialogs, which showing the sessions
        does not need."""
        if self._flow is None:
            from app.gui.repair_flow import RepairFlow

            flow = RepairFlow(self, self.tasks, lambda: self.claude_watch.running, self._dirs_in_use,
                              self.backup_root_for, lambda: self.preview.technical)
            flow.status.connect(self.status_label.setText)
            flow.busy_changed.connect(self._update_actions)
            flow.files_changed.connect(self.refresh)
            flow.repair_finished.connect(self.repair_finished)
            flow.undo_finished.connect(self.undo_finished)
            flow.failed.connect(self.job_failed)
            self._flow = flow
        return self._flow

    @property
    def _changing(self) -> bool:
        """Whether a plan, a change or an undo is under way."""
        return self._flow is not None and self._flow.busy

    # ------------------------------------------------------------ settings

    def show_with_first_rows(self, at_the_latest_ms: int = HOLD_MS) -> None:
        """Show the window once the first scan has rows for it (or has found
        none, or failed), and ``at_the_latest_ms`` from now whatever it has.
        A folder read that fast opens already filled, with a single paint:
        shown at once, the window would paint itself empty first, and that
        paint and the scan would take turns with the interpreter lock.  The
        scan's feed holds its first rows as long (scan_feed.HOLD_MS)."""
        self._held_back = True
        QTimer.singleShot(at_the_latest_ms, self, self._appear)

    @Slot()
    def _appear(self) -> None:
        if self._held_back:
            self._held_back = False
            self.show()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.memory.window_shown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._held_back = False  # closed before its first rows: never shown again by show_with_first_rows
        if self._flow is not None:
            self._flow.cancel()  # a change stops between sessions, never in the middle of a file
        self.claude_watch.stop()
        self.memory.save()
        self.tasks.shutdown()
        if self._demo_tmp is not None:
            self._demo_tmp.cleanup()
        super().closeEvent(event)

    def keep_repaired(self, on: bool) -> None:
        self.keep_repaired_switch.switch(on)

    # ------------------------------------------------------------- folders

    def _first_folder(self) -> None:
        first = self.folder_combo.first_with_sessions()
        if first is None:
            self._show_empty()
        elif self.folder_combo.currentIndex() == first:
            self.refresh()
        else:
            self.folder_combo.setCurrentIndex(first)

    def _show_empty(self) -> None:
        self._appear()
        self.empty.show_places(self._searched)
        self.stack.setCurrentWidget(self.empty)
        self.status_label.setText("No Claude Desktop data found.")
        if self._announce:
            self._announce = False
            window_parts.say_on_terminal("No Claude Desktop sessions were found. Looked in:\n  "
                      + "\n  ".join(self._searched))
        self._now_ready()

    def _now_ready(self) -> None:
        if not self._was_ready:
            self._was_ready = True
            self.ready.emit()

    def current_folder(self) -> locations.DataDir | None:
        return self.folder_combo.currentData()

    def _dirs_in_use(self) -> list[locations.DataDir]:
        current = self.current_folder()
        return [current] if current is not None else []

    def backup_root_for(self, dirs: list[locations.DataDir] | None = None) -> Path:
        """Where backups go: the folder chosen for this window, or the default
        for the data shown (the demo data keeps its own, inside it)."""
        if self._chosen_backup_root is not None:
            return self._chosen_backup_root
        from app.core import backups

        return backups.root_for(self._dirs_in_use() if dirs is None else dirs)

    @Slot(int)
    def _on_folder_chosen(self, index: int) -> None:
        if index >= 0:
            self.refresh()

    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Choose Claude Desktop's data folder")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        from PySide6.QtWidgets import QMessageBox

        try:
            data_dir = locations.chosen(folder)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Session Rescue", f"That folder cannot be opened: {exc}")
            return
        if not data_dir.has_sessions:
            QMessageBox.information(self, "Session Rescue", f"There is no {locations.SESSIONS_FOLDER} folder in "
                                    f"{folder}. Choose the folder that holds it (Claude's data folder).")
            return
        self.folder_combo.add(data_dir)

    def open_demo(self) -> None:
        if self._demo_tmp is None:
            from app.core import demo

            self._demo_tmp = tempfile.TemporaryDirectory(prefix="session-rescue-demo-")
            demo.write_demo(Path(self._demo_tmp.name) / "Claude")
        self.folder_combo.add(locations.DataDir(Path(self._demo_tmp.name) / "Claude", "demo", "Demo data", True))

    # ---------------------------------------------------------------- scan

    def refresh(self) -> None:
        data_dir = self.current_folder()
        if data_dir is None:
            return
        self.stack.setCurrentIndex(0)
        if self._result is not None:  # F5, or the list after a change: the user stays where they were
            self._kept = window_parts.Place.of(self.table, self.selected_sessions())
        self._result = None
        self.model.clear()
        self.preview.clear("Scanning…")
        self._update_counts()
        self._update_actions()
        self.status_label.setText(f"Scanning {data_dir.path}…")
        self._next_sort = 0.0
        # The final order is worked out by the scan's worker, for the view the
        # table has now (if it is changed meanwhile, the table works it out).
        self.scan_feed.start(data_dir, partial(arrange, self.model.view()))

    @Slot(object)
    def _on_batch(self, batch: list[Session]) -> None:
        self.model.append(batch)
        self._appear()  # with its first rows
        now = time.perf_counter()
        if now >= self._next_sort:
            # Newest first as rows stream in, and the counts on the switches,
            # but not at every batch: four times a second is lively enough
            # (and each new count lays out the row of switches again).
            self.model.resort()
            self._update_counts()
            self._next_sort = now + 0.25

    @Slot(object, str, object, object)
    def _on_scan_done(self, result: ScanResult, summary: str, arranged: Arranged | None, preview: tuple | None) -> None:
        self._appear()
        self._result = result
        # The transcripts without a record (found after the records, from
        # ~/.claude/projects), and the statuses and flags the scan's last steps set.
        self.model.settle(result.transcript_only, arranged)
        self._show_diagnosis(result)
        self._update_counts()
        self._update_actions()
        took = time.perf_counter() - self.scan_feed.started_at
        warnings = [w for f in result.folders for w in f.warnings]
        self.status_label.setText(summary + f"  (scanned in {took:.1f} s)"
                                  + (f"  Note: {warnings[0]}" if warnings else ""))
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.restore(self.table, self.model)
        if not self.table.selectionModel().hasSelection() and self.model.rowCount():
            self.preview_reader.offer(preview)  # the first row's files, as the scan's worker read them
            self.table.selectRow(0)
            self.preview_reader.offer(None)  # only now: they may change later
        elif kept is None and (current := self.table.currentIndex()).isValid():
            # Chosen while the rows streamed in, before the scan's verdicts
            # (and before its conversation was looked for): shown again.
            self._show_row(current.row(), again=True)
        if self._announce:
            self._announce = False
            window_parts.say_on_terminal(summary)
        self.scan_finished.emit(result)
        if not self.model.rowCount():
            self._now_ready()

    def _show_diagnosis(self, result: ScanResult) -> None:
        """What concerns the data as a whole, above the list: Claude Desktop's
        log, and the scan's own notes (one record that empties the whole list)."""
        shown = [s for f in result.folders for s in (f.diagnosis.sentence(), *f.notes) if s] + result.notes
        self.diagnosis.setText(" ".join(shown))
        self.diagnosis.setToolTip("\n".join(p for f in result.folders for p in f.diagnosis.files))
        self.diagnosis.setVisible(bool(shown))

    def _update_counts(self) -> None:
        counts = self.model.counts()
        for status, button in self.toggles.items():
            window_parts.set_toggle_text(button, counts[status])

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self._appear()
        self.status_label.setText(message)
        self.job_failed.emit(message)

    # ------------------------------------------------------------- preview

    def selected_sessions(self) -> list[Session]:
        rows = self.table.selectionModel().selectedRows()
        return [self.model.session_at(index.row()) for index in sorted(rows, key=lambda i: i.row())]

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._show_row(current.row())

    def _show_row(self, row: int, again: bool = False) -> None:
        session = self.model.session_at(row)
        links = self._result.links if self._result is not None else []
        self.preview_reader.show(session, backfill.link_of(links, session), again)

    @Slot(str)
    def _on_preview_shown(self, session_id: str) -> None:
        self.preview_shown.emit(session_id)
        if self._result is not None:
            self._now_ready()

    # ------------------------------------------------------ what may be done

    def _update_actions(self) -> None:
        claude, known = self.claude_watch.running, self.claude_watch.known
        ready = self._result is not None and known and not claude and not self._changing
        chosen = self.selected_sessions() if ready else []
        for kind, widgets in self.selected_widgets.items():
            applies = any(applies_to(kind, s) for s in chosen)
            for widget in widgets:
                widget.setEnabled(ready and applies)
        for widget in (self.repair_all_button, self.menus.repair_all):
            widget.setEnabled(ready)
        mirror_wanted = len(chosen) == 1 and reasons.SSH_MIRROR_MISSING in chosen[0].reasons
        for widget in (self.menus.mirror, self.preview.mirror_button):
            widget.setEnabled(ready and mirror_wanted)
        one = self.selected_sessions()
        readable = len(one) == 1 and ConversationActions.can_export(one[0])  # read only: Claude may run
        self.menus.export.setEnabled(readable)
        self.menus.resume.setEnabled(readable)
        self.menus.undo.setEnabled(known and not claude and not self._changing)
        reason = ("Quit Claude Desktop fully to repair" if claude else
                  "Looking whether Claude Desktop is running…" if not known else
                  "A repair is running" if self._changing else "")
        for button in (self.repair_selected_button, self.repair_all_button):
            button.setToolTip(reason)

    # ------------------------------------------------- changes, by the flow

    def repair_selected(self) -> None:
        self._plan_selected(Kind.REPAIR)

    def repair_all(self) -> None:
        if self._result is not None:
            self.flow.plan(self._result, None, Kind.REPAIR)

    def adopt_selected(self) -> None:
        self._plan_selected(Kind.ADOPT)

    def rebuild_selected(self) -> None:
        self._plan_selected(Kind.REBUILD)

    def install_mirror(self, session_id: str | None = None, path: str | None = None) -> None:
        """Install the copy of the selected SSH session's conversation (``path``, or asked for)."""
        chosen = [s for s in self.selected_sessions() if session_id in (None, s.id)]
        if len(chosen) == 1 and self._result is not None:
            self.flow.install_mirror(self._result, chosen[0], path)

    def export_conversation(self, path: str | None = None) -> None:
        """Save the selected session's conversation as a document (``path``, or asked for)."""
        chosen = self.selected_sessions()
        if len(chosen) == 1 and ConversationActions.can_export(chosen[0]):
            self.conversation_actions.export(chosen[0], path)

    def copy_resume_command(self) -> None:
        chosen = self.selected_sessions()
        if len(chosen) == 1:
            self.conversation_actions.copy_resume_command(chosen[0])

    def _plan_selected(self, kind: Kind) -> None:
        """Plan ``kind`` for the selected sessions it applies to (kinds.applies_to: the one rule)."""
        ids = [s.id for s in self.selected_sessions() if applies_to(kind, s)]
        if ids and self._result is not None:
            self.flow.plan(self._result, ids, kind)

    def start_repair(self, plan: plans.Plan) -> None:
        self.flow.start(plan)

    def undo(self, run_id: str | None, confirm: bool = True) -> None:
        self.flow.undo(run_id, confirm)

    def show_backups(self) -> None:
        self.flow.show_backups()

    # -------------------------------------------------------------- manners

    def open_log_folder(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        from app.gui.desktop import open_path

        if self.log_dir is None:
            self.log_wanted.emit()  # connected directly: log_dir is set on return, if the file could open
        if self.log_dir is None:
            QMessageBox.information(self, "Log folder", "There is no log file: its folder cannot be written.")
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        open_path(self.log_dir)

    def how_it_works(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        from app.gui import help_texts

        QMessageBox.information(self, "How it works", help_texts.HOW_IT_WORKS)

    def about(self) -> None:
        from app.gui import help_texts

        help_texts.AboutBox(self, self.tasks, self.backup_root_for()).open()  # the SHA-256 fills in later
