"""The main window: every session, what is in it, and a way to repair it.

A thin view over app.core: it scans, reads, plans, repairs and undoes through
workers (app.gui.jobs on QThreads) and only renders what they return.
"""

from __future__ import annotations

import html
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core import (
    autostart,
    backups,
    claude_process,
    demo,
    engine,
    locations,
    plans,
    reasons,
    transaction,
    undo,
    watcher,
)
from app.core.display import summary_line
from app.core.kinds import Kind
from app.core.records import ScanResult, Session
from app.gui import jobs, resources
from app.gui.dialogs import BackupsDialog, ConfirmRepairDialog, SummaryDialog
from app.gui.preview import PreviewPane
from app.gui.session_model import COL_CWD, COL_LAST, COL_TITLE, KINDS, SessionFilter, SessionModel, kind_word
from app.gui.tasks import Tasks

log = logging.getLogger(__name__)

HOW_IT_WORKS = """<h3>How Session Rescue works</h3>
<p>Claude Desktop lists a Code session only while its record,
<code>local_&lt;id&gt;.json</code>, loads. On Windows Store installs each save writes
<code>local_&lt;id&gt;.json.tmp</code> and then renames it; that rename often fails
(<i>EXDEV: cross-device link not permitted</i>), and the session disappears after a restart.</p>
<p><b>Healthy</b> sessions load. <b>Orphaned</b> ones have a good copy that Claude Desktop does not
read (the <code>.tmp</code>): they can be brought back. <b>Corrupt</b> ones have no copy that
loads; they are left exactly as they are.</p>
<p><b>Transcript only</b> rows are conversations in <code>~/.claude/projects</code> that no
record points to (records wiped by a reinstall, or sessions started in the terminal).
<b>Rebuild</b> makes a new record for each; a record that lost its link to a transcript gets
the link back instead, with the evidence shown first. <b>Move to active account</b> copies
sessions left under another account into the one Claude Desktop is signed in to.</p>
<p>Every change shows its plan first. Each file it changes or removes is copied to the backup
folder before anything happens, and <i>Tools → Undo last change</i> puts every byte back.
Quit Claude Desktop fully first, including its tray icon: it keeps sessions in memory and
would overwrite a repair.</p>"""


class MainWindow(QMainWindow):
    # Plain data out, for whoever listens (the tests, screenshot mode).
    scan_finished = Signal(object)  # ScanResult
    preview_shown = Signal(str)  # session id
    repair_finished = Signal(object)  # plans.Report
    undo_finished = Signal(object)  # (run id, results, already undone)
    claude_state_changed = Signal(bool)
    job_failed = Signal(str)
    ready = Signal()  # once: the first scan is shown with its first row's preview (or the empty state)

    def __init__(self, data_dirs: list[locations.DataDir], searched: list[str] | None = None,
                 backup_root: Path | None = None, settings: QSettings | None = None,
                 claude_check: Callable[[], list] = claude_process.running, check_interval_ms: int = 3000,
                 announce: bool = False, log_dir: Path | None = None):
        super().__init__()
        self.setWindowTitle("Session Rescue")
        self.setWindowIcon(resources.icon("session-rescue"))
        self.tasks = Tasks(self)
        self.settings = settings or QSettings("Session Rescue", "Session Rescue")
        self._chosen_backup_root = backup_root
        self.claude_check = claude_check
        self.log_dir = log_dir
        self._searched = list(searched or [])
        self._announce = announce
        self._dirs: list[locations.DataDir] = []
        self._demo_tmp: tempfile.TemporaryDirectory | None = None
        self._generation = 0
        self._result: ScanResult | None = None
        self._scan_started = self._last_sort = 0.0
        self._batch_shown = threading.Event()
        self._claude: list = []
        self._checking = False
        self._busy = False  # a repair or an undo is running
        self._engine: engine.Engine | None = None
        self._progress: QProgressDialog | None = None
        self._plan_ids: list[str] | None = None
        self._plan_kind = "repair"
        self._was_ready = False
        self.first_rows_after: float | None = None  # seconds from scan start to the first rows shown

        self._build_widgets()
        self._build_menus()
        self._update_actions()
        self._restore_settings()
        for d in data_dirs:
            self._add_folder(d, select=False)
        self._claude_timer = QTimer(self)
        self._claude_timer.setInterval(check_interval_ms)
        self._claude_timer.timeout.connect(self.check_claude)
        self._claude_timer.start()
        QTimer.singleShot(0, self.check_claude)
        QTimer.singleShot(0, self._first_folder)

    # ------------------------------------------------------------- widgets

    def _build_widgets(self) -> None:
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("#banner { background: #fff3bf; color: #5c4400; padding: 8px;"
                                  " border-bottom: 1px solid #e0c060; }")
        self.banner.hide()
        # What Claude Desktop's own log says about the lost sessions (main.log).
        self.diagnosis = QLabel()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setWordWrap(True)
        self.diagnosis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diagnosis.setStyleSheet("#diagnosis { background: #e7f0fb; color: #1d3f66; padding: 6px 8px;"
                                     " border-bottom: 1px solid #b5cdea; }")
        self.diagnosis.hide()

        self.folder_combo = QComboBox()
        self.folder_combo.setMinimumContentsLength(24)
        self.folder_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.folder_combo.setToolTip("The Claude Desktop data folder shown")
        self.folder_combo.currentIndexChanged.connect(self._on_folder_chosen)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.choose_folder)
        folder_label = QLabel("&Data folder:")
        folder_label.setBuddy(self.folder_combo)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, folder or id  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.toggles: dict[str, QToolButton] = {}
        for status in KINDS:
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(True)
            button.setIcon(resources.icon(f"status-{status}"))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(f"Show or hide {kind_word(status).lower()} sessions")
            button.toggled.connect(lambda shown, s=status: self.proxy.set_status_shown(s, shown))
            self.toggles[status] = button

        self.repair_selected_button = QPushButton("&Repair selected…")
        self.repair_selected_button.clicked.connect(self.repair_selected)
        self.repair_all_button = QPushButton("Repair &all…")
        self.repair_all_button.clicked.connect(self.repair_all)
        self.adopt_button = QPushButton("&Move to active account…")
        self.adopt_button.setToolTip("Copy the selected sessions of another account into the one Claude Desktop "
                                     "is signed in to")
        self.adopt_button.clicked.connect(self.adopt_selected)
        self.rebuild_button = QPushButton("Re&build…")
        self.rebuild_button.setToolTip("Make records for the selected transcripts, or link a record back to its "
                                       "transcript")
        self.rebuild_button.clicked.connect(self.rebuild_selected)

        self.model = SessionModel(self)
        self.proxy = SessionFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        header = self.table.horizontalHeader()
        # The source model sorts (cheaply); a click on a header asks it to.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(COL_LAST, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self.model.sort)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere else
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header.setStretchLastSection(True)
        for col, width in ((0, 130), (COL_TITLE, 250), (COL_LAST, 150), (COL_CWD, 200), (4, 130), (5, 80)):
            self.table.setColumnWidth(col, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.doubleClicked.connect(lambda _index: self.preview.tabs.setFocus())

        self.preview = PreviewPane()
        self.preview.show_all.connect(self._show_all)
        self.preview.page_wanted.connect(self._read_page)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        # Three rows, so that the window fits a small laptop screen: where the
        # data is, what is shown, and what can be done with it.
        where = QHBoxLayout()
        where.addWidget(folder_label)
        where.addWidget(self.folder_combo, 1)
        where.addWidget(self.browse_button)
        bar = QHBoxLayout()
        self.search.setMinimumWidth(150)
        bar.addWidget(self.search, 1)
        for button in self.toggles.values():
            bar.addWidget(button)
        do = QHBoxLayout()
        for button in (self.repair_selected_button, self.repair_all_button, self.adopt_button,
                       self.rebuild_button):
            do.addWidget(button)
        do.addStretch(1)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(8, 8, 8, 0)
        main_layout.addLayout(where)
        main_layout.addLayout(bar)
        main_layout.addLayout(do)
        main_layout.addWidget(self.splitter, 1)

        self.empty = QWidget()
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(1)
        self.empty_text = QLabel()
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        empty_layout.addWidget(self.empty_text)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.demo_button = QPushButton("Open demo data")
        self.demo_button.clicked.connect(self.open_demo)
        choose = QPushButton("Choose a folder…")
        choose.clicked.connect(self.choose_folder)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(choose)
        buttons.addStretch(1)
        empty_layout.addLayout(buttons)
        empty_layout.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(main)
        self.stack.addWidget(self.empty)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.diagnosis)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel("Starting…")
        self.statusBar().addWidget(self.status_label, 1)
        self.resize(1200, 720)
        self._update_counts()

    def _build_menus(self) -> None:
        def action(menu: QMenu, text: str, slot: Callable[[], object], shortcut: QKeySequence | str | None = None):
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Choose folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        action(file_menu, "Open &demo data", self.open_demo)
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Refresh", self.refresh, "F5")
        action(view_menu, "&Find…", self._focus_search, QKeySequence.StandardKey.Find)
        tools = self.menuBar().addMenu("&Tools")
        self.repair_selected_action = action(tools, "&Repair selected…", self.repair_selected, "Ctrl+R")
        self.repair_all_action = action(tools, "Repair &all…", self.repair_all, "Ctrl+Shift+R")
        self.adopt_action = action(tools, "&Move selected to active account…", self.adopt_selected)
        self.rebuild_action = action(tools, "Re&build selected…", self.rebuild_selected, "Ctrl+B")
        tools.addSeparator()
        action(tools, "&Backups…", self.show_backups)
        self.undo_action = action(tools, "&Undo last change…", lambda: self.undo(None))
        action(tools, "Open &log folder", self.open_log_folder)
        settings_menu = self.menuBar().addMenu("&Settings")
        self.keep_repaired_action = QAction("&Keep my sessions repaired", self)
        self.keep_repaired_action.setCheckable(True)
        self.keep_repaired_action.setStatusTip("Repair each time Claude Desktop quits, from every logon on")
        self.keep_repaired_action.setChecked(autostart.status().enabled)
        self.keep_repaired_action.toggled.connect(self.keep_repaired)
        settings_menu.addAction(self.keep_repaired_action)
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&How it works", self.how_it_works, QKeySequence.StandardKey.HelpContents)
        action(help_menu, "&About Session Rescue", self.about)

    # ------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._splitter_state = self.settings.value("window/splitter")
        header = self.settings.value("table/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
            bar = self.table.horizontalHeader()
            self.model.sort(bar.sortIndicatorSection(), bar.sortIndicatorOrder())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # The splitter is laid out only once the window has its size: restored
        # earlier, its panes would be stretched in proportion, not kept.
        if self._splitter_state is not None:
            state, self._splitter_state = self._splitter_state, None
            QTimer.singleShot(0, lambda: self.splitter.restoreState(state))

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("table/header", self.table.horizontalHeader().saveState())
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._busy and self._engine is not None:
            # A repair stops between sessions, never in the middle of a file.
            self._engine.cancel()
        self._claude_timer.stop()
        self._save_settings()
        self.tasks.shutdown()
        if self._demo_tmp is not None:
            self._demo_tmp.cleanup()
        super().closeEvent(event)

    # ------------------------------------------------------------- folders

    def _add_folder(self, data_dir: locations.DataDir, select: bool = True) -> None:
        for i in range(self.folder_combo.count()):
            if self.folder_combo.itemData(i).path == data_dir.path:
                if select:
                    self.folder_combo.setCurrentIndex(i)
                return
        self._dirs.append(data_dir)
        text = f"{data_dir.label} — {data_dir.path}"
        self.folder_combo.blockSignals(not select)
        self.folder_combo.addItem(resources.icon("session-rescue"), text, data_dir)
        self.folder_combo.setItemData(self.folder_combo.count() - 1, str(data_dir.path), Qt.ItemDataRole.ToolTipRole)
        if select:
            self.folder_combo.setCurrentIndex(self.folder_combo.count() - 1)
        self.folder_combo.blockSignals(False)

    def _first_folder(self) -> None:
        with_sessions = [i for i in range(self.folder_combo.count()) if self.folder_combo.itemData(i).has_sessions]
        if not with_sessions:
            self._show_empty()
            return
        if self.folder_combo.currentIndex() == with_sessions[0]:
            self.refresh()
        else:
            self.folder_combo.setCurrentIndex(with_sessions[0])

    def _show_empty(self) -> None:
        places = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in self._searched) or "<li>–</li>"
        self.empty_text.setText("<h2>No Claude Desktop sessions were found on this computer.</h2>"
                                f"<p>Session Rescue looked in:</p><ul style='text-align:left'>{places}</ul>"
                                "<p>Choose the folder if Claude Desktop keeps its data somewhere else, "
                                "or open the demo data to see what Session Rescue does.</p>")
        self.stack.setCurrentWidget(self.empty)
        self.status_label.setText("No Claude Desktop data found.")
        if self._announce:
            self._announce = False
            self._say("No Claude Desktop sessions were found on this computer. Looked in:\n  "
                      + "\n  ".join(self._searched))
        self._now_ready()

    def _now_ready(self) -> None:
        if not self._was_ready:
            self._was_ready = True
            self.ready.emit()

    def current_folder(self) -> locations.DataDir | None:
        return self.folder_combo.currentData()

    @Slot(int)
    def _on_folder_chosen(self, index: int) -> None:
        if index >= 0:
            self.refresh()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose Claude Desktop's data folder")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        try:
            data_dir = locations.chosen(folder)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Session Rescue", f"That folder cannot be opened: {exc}")
            return
        if not data_dir.has_sessions:
            QMessageBox.information(self, "Session Rescue", f"There is no {locations.SESSIONS_FOLDER} folder in "
                                    f"{folder}. Choose the folder that holds it (Claude's data folder).")
            return
        self._add_folder(data_dir)

    def open_demo(self) -> None:
        if self._demo_tmp is None:
            self._demo_tmp = tempfile.TemporaryDirectory(prefix="session-rescue-demo-")
            demo.write_demo(Path(self._demo_tmp.name) / "Claude")
        self._add_folder(locations.DataDir(Path(self._demo_tmp.name) / "Claude", "demo", "Demo data", True))

    # ---------------------------------------------------------------- scan

    def refresh(self) -> None:
        data_dir = self.current_folder()
        if data_dir is None:
            return
        self.stack.setCurrentIndex(0)
        self._generation += 1
        self._result = None
        self.model.clear()
        self.preview.clear("Scanning…")
        self._update_counts()
        self._update_actions()
        self.status_label.setText(f"Scanning {data_dir.path}…")
        self._scan_started = time.perf_counter()
        self._last_sort = 0.0
        self.first_rows_after = None
        self._batch_shown = threading.Event()
        self.tasks.start(jobs.scan_folder, self._generation, data_dir, self._batch_shown,
                         on_progress=self._on_batch, on_result=self._on_scan_done, on_error=self._on_job_failed)

    @Slot(object)
    def _on_batch(self, payload) -> None:
        generation, batch = payload
        if generation != self._generation:
            return
        try:
            self.model.append(batch)
            now = time.perf_counter()
            if self.first_rows_after is None:
                self.first_rows_after = now - self._scan_started
            if now - self._last_sort > 0.25:  # newest first as rows stream in, not re-sorted at every batch
                self.model.resort()
                self._last_sort = now
            self._update_counts()
        finally:
            self._batch_shown.set()  # the scan may go on

    @Slot(object)
    def _on_scan_done(self, payload) -> None:
        generation, result = payload
        if generation != self._generation:
            return
        self._result = result
        self.model.append(result.transcript_only)  # found after the records, from ~/.claude/projects
        self.model.resort()  # the final order; it also shows the active-account flags set at the end
        self._show_diagnosis(result)
        self._update_counts()
        self._update_actions()
        took = time.perf_counter() - self._scan_started
        warnings = [w for f in result.folders for w in f.warnings]
        self.status_label.setText(summary_line(result) + f"  (scanned in {took:.1f} s)"
                                  + (f"  Note: {warnings[0]}" if warnings else ""))
        if not self.table.selectionModel().hasSelection() and self.proxy.rowCount():
            self.table.selectRow(0)
        if self._announce:
            self._announce = False
            self._say(summary_line(result))
        self.scan_finished.emit(result)
        if not self.proxy.rowCount():
            self._now_ready()

    def _show_diagnosis(self, result: ScanResult) -> None:
        sentences = [f.diagnosis.sentence() for f in result.folders]
        shown = [s for s in sentences if s]
        self.diagnosis.setText(" ".join(shown))
        self.diagnosis.setToolTip("\n".join(p for f in result.folders for p in f.diagnosis.files))
        self.diagnosis.setVisible(bool(shown))

    def _say(self, line: str) -> None:
        """The app's one line on its terminal, if it has one (a double-clicked
        Windows executable has none)."""
        log.info(line)
        if sys.stdout is not None:
            try:
                print(line, flush=True)
            except (OSError, ValueError):
                pass

    def _update_counts(self) -> None:
        counts = self.model.counts()
        for status, button in self.toggles.items():
            button.setText(f"{kind_word(status)} {counts[status]}")

    @Slot(str)
    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # ------------------------------------------------------------- preview

    def selected_sessions(self) -> list:
        rows = self.table.selectionModel().selectedRows()
        return [self.proxy.session_at(index.row()) for index in sorted(rows, key=lambda i: i.row())]

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        session = self.proxy.session_at(current.row())
        if session.id == self.preview.session_id:
            return
        self.preview.show_session(session, self._link_of(session))
        if not session.is_record:  # no files to read: its conversation loads when its tab shows
            self.preview_shown.emit(session.id)
            if self._result is not None:
                self._now_ready()
            return
        self.tasks.start(jobs.read_session, session, on_result=self._on_read, on_error=self._on_job_failed)

    def _link_of(self, session: Session):
        """The backfill proposal a record or a transcript is part of, if any."""
        for link in self._result.links if self._result is not None else []:
            if link.session is session or link.transcript.id == session.id and not session.is_record:
                return link
        return None

    @Slot(str, int)
    def _read_page(self, path: str, offset: int) -> None:
        self.tasks.start(jobs.read_page, path, offset, on_result=self._on_page, on_error=self._on_job_failed)

    @Slot(object)
    def _on_page(self, payload) -> None:
        path, _offset, page = payload
        self.preview.show_page(path, page)

    @Slot(object)
    def _on_read(self, payload) -> None:
        session_id, views, diff = payload
        if session_id != self.preview.session_id:
            return
        self.preview.show_views(session_id, views, diff)
        self.preview_shown.emit(session_id)
        if self._result is not None:
            self._now_ready()

    @Slot(str)
    def _show_all(self, kind: str) -> None:
        current = self.table.currentIndex()
        if not current.isValid():
            return
        session = self.proxy.session_at(current.row())
        self.status_label.setText("Reading the whole file…")
        self.tasks.start(jobs.read_whole_file, session, kind, on_result=self._on_whole_file,
                         on_error=self._on_job_failed)

    @Slot(object)
    def _on_whole_file(self, payload) -> None:
        session_id, view = payload
        self.preview.show_full(session_id, view)
        self.status_label.setText(f"Showing all {view.full_length:,} characters of {Path(view.path).name}.")

    # ---------------------------------------------------------- the guard

    def check_claude(self) -> None:
        """Is Claude Desktop running?  Asked off the UI thread (psutil walks
        every process), never twice at once."""
        if self._checking:
            return
        self._checking = True
        self.tasks.start(jobs.check_claude, self.claude_check, on_result=self._on_claude_state,
                         on_error=self._on_claude_check_failed)

    @Slot(object)
    def _on_claude_state(self, running: list) -> None:
        self._checking = False
        was = bool(self._claude)
        self._claude = running
        if running:
            self.banner.setText("<b>Claude Desktop is running.</b> Repairs wait until it is fully quit, "
                                "including its icon in the system tray (menu bar on a Mac): it keeps sessions "
                                "in memory and would overwrite a repair. "
                                f"<span style='color:#7a6520'>({html.escape(str(running[0]))})</span>")
        self.banner.setVisible(bool(running))
        self._update_actions()
        if was != bool(running):
            self.claude_state_changed.emit(bool(running))

    @Slot(str)
    def _on_claude_check_failed(self, message: str) -> None:
        self._checking = False
        log.warning("could not check for Claude Desktop: %s", message)

    def _update_actions(self) -> None:
        ready = self._result is not None and not self._claude and not self._busy
        chosen = self.selected_sessions() if ready else []
        for widgets, ids in (((self.repair_selected_button, self.repair_selected_action), _repair_ids(chosen)),
                             ((self.adopt_button, self.adopt_action), _adopt_ids(chosen)),
                             ((self.rebuild_button, self.rebuild_action), _rebuild_ids(chosen))):
            for widget in widgets:
                widget.setEnabled(ready and bool(ids))
        for widget in (self.repair_all_button, self.repair_all_action):
            widget.setEnabled(ready)
        self.undo_action.setEnabled(not self._claude and not self._busy)
        reason = ("Quit Claude Desktop fully to repair" if self._claude else
                  "A repair is running" if self._busy else "")
        for button in (self.repair_selected_button, self.repair_all_button):
            button.setToolTip(reason)

    # -------------------------------------------------------------- repair

    def repair_selected(self) -> None:
        ids = _repair_ids(self.selected_sessions())
        if ids:
            self._plan(ids)

    def repair_all(self) -> None:
        self._plan(None)

    def adopt_selected(self) -> None:
        ids = _adopt_ids(self.selected_sessions())
        if ids:
            self._plan(ids, "adopt")

    def rebuild_selected(self) -> None:
        ids = _rebuild_ids(self.selected_sessions())
        if ids:
            self._plan(ids, "rebuild")

    def _plan(self, ids: list[str] | None, kind: str = "repair") -> None:
        if self._result is None or self._busy:
            return
        if self._claude:
            QMessageBox.warning(self, "Claude Desktop is running", claude_process.message(self._claude))
            return
        self._busy = True
        self._update_actions()
        self._plan_ids = ids
        self._plan_kind = kind
        self.status_label.setText("Making the plan…")
        self.tasks.start(jobs.make_plan, self._result, ids, kind, on_result=self._on_plan,
                         on_error=self._on_job_failed)

    @Slot(object)
    def _on_plan(self, plan: plans.Plan) -> None:
        self._busy = False
        self._update_actions()
        if not plan.to_do:
            left = "\n".join(f"• {a.session.title or a.id}: {a.reason}" for a in plan.actions[:8])
            QMessageBox.information(self, "Nothing to do", "Nothing would change for these sessions:\n\n"
                                    + (left or "every session is healthy."))
            self.status_label.setText("Nothing to do.")
            return
        self._confirm_plan(plan)

    def _confirm_plan(self, plan: plans.Plan, why: str | None = None, notes: list[str] | None = None) -> None:
        dialog = ConfirmRepairDialog(plan, self.backup_root_for(), self, [*(notes or []), *([why] if why else [])])
        self.confirm_dialog = dialog  # reachable by tests
        if dialog.exec() != ConfirmRepairDialog.DialogCode.Accepted:
            self.status_label.setText("Nothing was changed.")
            return
        self.start_repair(plan)

    def start_repair(self, plan: plans.Plan) -> None:
        self._busy = True
        self._update_actions()
        self._engine = engine.Engine()
        self._progress = QProgressDialog("Getting ready…", "Cancel", 0, len(plan.to_do), self)
        self._progress.setWindowTitle({"adopt": "Copying", "rebuild": "Rebuilding"}.get(plan.kind, "Repairing"))
        self._progress.setWindowModality(Qt.WindowModality.WindowModal)
        self._progress.setMinimumDuration(0)
        self._progress.setAutoClose(False)
        self._progress.setAutoReset(False)
        self._progress.canceled.connect(self.cancel_repair)
        self._progress.show()
        dirs = self._dirs_in_use()
        job = transaction.Job(Kind(plan.kind), dirs, self.backup_root_for(dirs),
                              locations.transcripts_dir(data_dirs=dirs), self._plan_ids)
        self.tasks.start(jobs.run_change, job, plan.fingerprint(), self._engine,
                         on_progress=self._on_repair_progress, on_result=self._on_repair_done,
                         on_error=self._on_job_failed)

    def _dirs_in_use(self) -> list[locations.DataDir]:
        current = self.current_folder()
        return [current] if current is not None else []

    def backup_root_for(self, dirs: list[locations.DataDir] | None = None) -> Path:
        """Where backups go: the folder chosen for this window, or the default
        for the data shown (the demo data keeps its own, inside it)."""
        if self._chosen_backup_root is not None:
            return self._chosen_backup_root
        return backups.root_for(self._dirs_in_use() if dirs is None else dirs)

    @Slot()
    def cancel_repair(self) -> None:
        if self._engine is not None:
            self._engine.cancel()
        if self._progress is not None:
            self._progress.setLabelText("Cancelling after the current session…")

    @Slot(object)
    def _on_repair_progress(self, payload) -> None:
        done, total, title = payload
        # A local reference: a modal dialog's setValue() runs the event loop,
        # where the repair's result may arrive and close this dialog.
        progress = self._progress
        if progress is not None and not progress.wasCanceled():
            progress.setMaximum(total)
            progress.setLabelText(f"{progress.windowTitle()} {done + 1} of {total}: {title}")
            progress.setValue(done)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.canceled.disconnect(self.cancel_repair)
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

    @Slot(object)
    def _on_repair_done(self, done: transaction.Result) -> None:
        self._close_progress()
        self._busy = False
        self._engine = None
        self._update_actions()
        if done.plan_changed and done.plan is not None:
            # Recovery undid an interrupted run, or a file changed since the
            # plan was shown: what would happen is not what was confirmed.
            self.status_label.setText("The plan changed since it was shown; nothing was changed.")
            self._confirm_plan(done.plan, "What would happen has changed since you confirmed it (an interrupted "
                                          "run was undone first, or a file changed). Nothing was changed yet; "
                                          "please check the new plan.", done.notes())
            return
        report = done.report
        if report is None:
            message = done.stopped or "Nothing was changed."
            self.status_label.setText(message)
            QMessageBox.warning(self, "Session Rescue", "\n\n".join([*done.notes(), message]))
            self.refresh()
            return
        counts = report.summary()
        words = {"adopt": "Copied", "rebuild": "Rebuilt"}.get(self._plan_kind, "Repaired")
        self.status_label.setText(f"{words} {counts[engine.DONE] + counts[engine.SOURCE_KEPT]}, failed {counts[engine.FAILED]}.")
        self.repair_finished.emit(report)
        self.refresh()
        dialog = SummaryDialog(report, self, self._plan_kind, done.notes())
        self.summary_dialog = dialog  # reachable by tests
        choice = dialog.exec()
        if choice == SummaryDialog.OPEN_FOLDER and report.backup_dir:
            self._open_path(Path(report.backup_dir))
        elif choice == SummaryDialog.UNDO and report.run_id:
            self.undo(report.run_id, confirm=False)

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        was_busy = self._busy
        self._close_progress()
        self._busy = False
        self._engine = None
        self._update_actions()
        self.status_label.setText(message)
        self.job_failed.emit(message)
        if was_busy:
            QMessageBox.warning(self, "Session Rescue", message)

    # ---------------------------------------------------------------- undo

    def undo(self, run_id: str | None, confirm: bool = True) -> None:
        if self._busy:
            return
        if self._claude:
            QMessageBox.warning(self, "Claude Desktop is running", claude_process.message(self._claude))
            return
        if not confirm:
            self._start_undo(run_id)
            return
        # Which run, and what it was, is read off the UI thread: a backup
        # folder can hold many runs.
        self._busy = True
        self._update_actions()
        self.status_label.setText("Reading the backups…")
        self.tasks.start(jobs.describe_run, self.backup_root_for(), run_id, on_result=self._ask_undo,
                         on_error=self._on_job_failed)

    @Slot(object)
    def _ask_undo(self, info: backups.RunInfo) -> None:
        self._busy = False
        self._update_actions()
        self.status_label.setText("")
        answer = QMessageBox.question(
            self, f"Undo {info.kind}", f"Put back every file the {info.kind} of {info.created_local} changed, and "
            f"remove the files it made ({info.sessions} session(s))? Files changed since then are kept as they are.")
        if answer == QMessageBox.StandardButton.Yes:
            self._start_undo(info.run_id)

    def _start_undo(self, run_id: str | None) -> None:
        self._busy = True
        self._update_actions()
        self.status_label.setText("Undoing…")
        self.tasks.start(jobs.run_undo, self.backup_root_for(), run_id, on_result=self._on_undo_done,
                         on_error=self._on_job_failed)

    @Slot(object)
    def _on_undo_done(self, done: undo.UndoOutcome) -> None:
        self._busy = False
        self._update_actions()
        restored = sum(1 for r in done.results if r.outcome == engine.DONE)
        kept = [r for r in done.results if r.outcome not in (engine.DONE, engine.IDENTICAL)]
        text = (f"The run {done.run_id} was already undone." if done.how == undo.ALREADY else
                f"Undid the run {done.run_id}: {restored} session(s) put back as they were.")
        if kept:
            text += "\n\nNot put back (changed since the repair, or failed):\n" + "\n".join(
                f"• {r.id}: {r.detail}" for r in kept[:10])
        for note in [*done.recovery.sentences(), *([done.stopped] if done.stopped else [])]:
            text += "\n\n" + note
        self.status_label.setText(text.splitlines()[0])
        self.undo_finished.emit((done.run_id, done.results, done.how == undo.ALREADY))
        self.refresh()
        QMessageBox.information(self, "Undo", text)

    @Slot(bool)
    def keep_repaired(self, on: bool) -> None:
        """Turn autostart of the watcher on (and start one now) or off (and
        stop the one running)."""
        try:
            if on:
                path = autostart.enable()
                watcher.start_in_background()
                self.status_label.setText(f"Sessions will be kept repaired, from now and from every logon ({path}).")
            else:
                autostart.disable()
                watcher.stop_running()
                self.status_label.setText("Sessions are no longer kept repaired automatically.")
        except OSError as exc:
            self.keep_repaired_action.blockSignals(True)
            self.keep_repaired_action.setChecked(not on)
            self.keep_repaired_action.blockSignals(False)
            QMessageBox.warning(self, "Session Rescue", f"Could not change the automatic repair: {exc}")

    def show_backups(self) -> None:
        self.status_label.setText("Reading the backups…")
        self.tasks.start(jobs.list_runs, self.backup_root_for(), on_result=self._on_runs_listed,
                         on_error=self._on_job_failed)

    @Slot(object)
    def _on_runs_listed(self, payload: tuple[Path, list[backups.RunInfo]]) -> None:
        root, infos = payload
        self.status_label.setText("")
        dialog = BackupsDialog(root, infos, self)
        self.backups_dialog = dialog  # reachable by tests
        choice = dialog.exec()
        chosen = dialog.selected()
        if chosen is None:
            return
        if choice == BackupsDialog.OPEN_FOLDER:
            self._open_path(chosen.path)
        elif choice == BackupsDialog.UNDO:
            self.undo(chosen.run_id)

    # -------------------------------------------------------------- manners

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        session = self.proxy.session_at(index.row())
        menu = QMenu(self)
        menu.addAction("Open containing folder", lambda: self._open_path(Path(session.folder)))
        path = ((session.json or session.tmp).path if (session.json or session.tmp) else
                session.transcript_path or session.folder)
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        menu.addAction("Copy session id", lambda: QGuiApplication.clipboard().setText(session.id))
        menu.addSeparator()
        repair_here = menu.addAction("Repair…", self.repair_selected)
        repair_here.setEnabled(self.repair_selected_button.isEnabled())
        adopt_here = menu.addAction("Move to active account…", self.adopt_selected)
        adopt_here.setEnabled(self.adopt_button.isEnabled())
        rebuild_here = menu.addAction("Rebuild…", self.rebuild_selected)
        rebuild_here.setEnabled(self.rebuild_button.isEnabled())
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _open_path(self, path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def open_log_folder(self) -> None:
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._open_path(self.log_dir)

    def how_it_works(self) -> None:
        QMessageBox.information(self, "How it works", HOW_IT_WORKS)

    def about(self) -> None:
        QMessageBox.about(self, "About Session Rescue",
                          f"<h3>Session Rescue {__version__}</h3><p>Brings back Claude Desktop's lost Code "
                          "sessions, without ever losing a byte.</p><p>Backups: <code>"
                          f"{html.escape(str(self.backup_root_for()))}</code></p>")


def _repair_ids(chosen: list[Session]) -> list[str]:
    return [s.id for s in chosen if s.is_record]


def _adopt_ids(chosen: list[Session]) -> list[str]:
    return [s.id for s in chosen if s.is_record and not s.active]


def _rebuild_ids(chosen: list[Session]) -> list[str]:
    return [s.id for s in chosen if not s.is_record or reasons.UNLINKED in s.reasons]
