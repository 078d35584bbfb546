"""One change from its plan to its undo, the same way for repair, adopt and
rebuild: the plan is made and shown, and only what the user confirmed is
carried out (through core's one guarded transaction), with a progress dialog
that can cancel, a summary after, and the way back.

Each step runs in a worker (app.gui.jobs); the flow shows what comes back in
its dialogs, and tells the window the rest through signals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from app.core import (
    backups,
    claude_process,
    conversation_files,
    display,
    engine,
    locations,
    plans,
    reasons,
    transaction,
)
from app.core.display import sentence
from app.core.kinds import Kind
from app.core.locations import DataDir
from app.core.records import ScanResult, Session
from app.core.undo import ALREADY, UndoOutcome
from app.gui import jobs
from app.gui.desktop import open_path
from app.gui.dialogs import WORDS, BackupsDialog, ConfirmRepairDialog, SummaryDialog, words_for
from app.gui.tasks import Tasks

PLAN_CHANGED = ("What would happen has changed since you confirmed it (an interrupted run was undone first, or a "
                "file changed). Nothing was changed yet; please check the new plan.")


def undo_text(done: UndoOutcome) -> str:
    """What an undo came to, in words; its first line is the status bar's."""
    restored = sum(1 for r in done.results if r.outcome == engine.DONE)
    kept = [r for r in done.results if r.outcome not in (engine.DONE, engine.IDENTICAL)]
    text = (f"The run {done.run_id} was already undone." if done.how == ALREADY else
            f"Undid the run {done.run_id}: {display.counted(restored, 'session')} put back as "
            f"{'it was' if restored == 1 else 'they were'}.")
    if kept:
        text += "\n\nNot put back (changed since the repair, or failed):\n" + "\n".join(
            f"• {r.id}: {r.detail}" for r in kept[:10])
    for note in [*done.recovery.sentences(), *([done.stopped] if done.stopped else [])]:
        text += "\n\n" + note
    return text


class RepairFlow(QObject):
    """Plan → confirm → progress → summary → undo, one at a time.

    The window gives it where it works: ``claude`` (the Claude Desktop
    processes its last look found), ``data_dirs`` (the folders shown) and
    ``backup_root`` (where their backups go).  The last dialog of each kind
    stays reachable (``confirm_dialog``, ``progress``...) for the tests."""

    status = Signal(str)  # a line for the status bar
    busy_changed = Signal()  # a plan, a change or an undo started or ended
    repair_finished = Signal(object)  # plans.Report
    undo_finished = Signal(object)  # (run id, results, already undone)
    failed = Signal(str)
    files_changed = Signal()  # a change or an undo ended: what the window shows is out of date

    def __init__(self, window: QWidget, tasks: Tasks, claude: Callable[[], list],
                 data_dirs: Callable[[], list[DataDir]], backup_root: Callable[[list[DataDir]], Path],
                 technical: Callable[[], bool] = lambda: False):
        super().__init__(window)
        self._technical = technical  # whether the plan shows its technical reasons at first
        self._window = window  # the dialogs' parent
        self._tasks = tasks
        self._claude = claude
        self._data_dirs = data_dirs
        self._backup_root = backup_root
        self.busy = False
        self.engine: engine.Engine | None = None  # the running change's, which can cancel it
        self.progress: QProgressDialog | None = None
        self.confirm_dialog: ConfirmRepairDialog | None = None
        self.summary_dialog: SummaryDialog | None = None
        self.backups_dialog: BackupsDialog | None = None
        self._kind = Kind.REPAIR
        self._ids: list[str] | None = None  # what the user chose (None: all the plan applies to)
        self._mirror: str | None = None  # the file a mirror install installs
        self._words = WORDS[Kind.REPAIR]  # how the running change is spoken of
        self._plain: dict[str, str] = {}  # what happened to each session of the running change, in plain words

    # ---------------------------------------------------------------- plan

    def plan(self, result: ScanResult, ids: list[str] | None, kind: Kind = Kind.REPAIR,
             mirror: str | None = None) -> None:
        """Make the plan of ``kind`` for ``ids`` (None: every session it
        applies to) off the UI thread, then show it to be confirmed.  With
        ``mirror``: install that file as the one SSH session's conversation."""
        if self.busy or not self._claude_has_quit():
            return
        self._set_busy(True)
        self._kind, self._ids, self._mirror = kind, ids, mirror
        self.status.emit("Making the plan…")
        self._tasks.start(jobs.make_plan, result, ids, kind, mirror, on_result=self._on_plan,
                          on_error=self._on_failed)

    def install_mirror(self, result: ScanResult, session: Session, path: str | None = None) -> None:
        """Class R: the user fetched an SSH session's conversation from its
        host; ask which file (unless given), then plan, show and confirm its
        install like every other change."""
        if reasons.SSH_MIRROR_MISSING not in session.reasons:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self._window, f"The copy of “{session.title or session.id}” from {session.ssh_host}",
                str(Path.home()), "Claude Code transcripts (*.jsonl);;All files (*)")
        if path:
            self.plan(result, [session.id], Kind.REBUILD, mirror=path)

    @Slot(object)
    def _on_plan(self, plan: plans.Plan) -> None:
        self._set_busy(False)
        if not self._claude_has_quit():  # it started while the plan was made: nothing to confirm now
            self.status.emit("")
            return
        in_place = [a for a in plan.actions if a.action == conversation_files.MIRROR_IN_PLACE]
        if not plan.to_do and self._mirror is not None and in_place:
            QMessageBox.information(self._window, "Already installed", sentence(in_place[0].reason))
            self.status.emit("Nothing to do: that copy is already installed.")
            return
        refused = [a for a in plan.actions if a.action == conversation_files.MIRROR_REFUSED]
        if not plan.to_do and self._mirror is not None and refused:  # not this session's conversation
            why = refused[0].reason
            QMessageBox.warning(self._window, "This is not the right file",
                                sentence(f"{Path(self._mirror).name} was not installed: {why}"))
            self.status.emit("Nothing was installed.")
            return
        if not plan.to_do:
            left = "\n".join(f"• {a.session.title or a.id}: {a.reason}" for a in plan.actions[:8])
            QMessageBox.information(self._window, "Nothing to do", "Nothing would change for these sessions:\n\n"
                                    + (left or "every session is healthy."))
            self.status.emit("Nothing to do.")
            return
        self._confirm(plan)

    def _confirm(self, plan: plans.Plan, notes: list[str] | None = None) -> None:
        self.status.emit("Waiting for you to confirm the plan…")
        dialog = ConfirmRepairDialog(plan, self._root(), self._window, notes, self._technical())
        self.confirm_dialog = dialog
        if dialog.exec() != ConfirmRepairDialog.DialogCode.Accepted:
            self.status.emit("Nothing was changed.")
            return
        self.start(plan)

    # --------------------------------------------------------------- change

    def start(self, plan: plans.Plan) -> None:
        """Carry out ``plan``, as confirmed: if the plan made under core's
        lock differs, nothing is done and the new one is shown again."""
        self._set_busy(True)
        self._kind, self._words = plan.kind, words_for(plan)
        self._plain = {a.id: display.headline(a.session) for a in plan.actions}
        self.engine = engine.Engine()
        self.status.emit(f"{self._words.doing} {display.counted(len(plan.to_do), 'session')}…")
        self._show_progress(plan)
        dirs = self._data_dirs()
        job = transaction.Job(plan.kind, dirs, self._backup_root(dirs), locations.transcripts_dir(data_dirs=dirs),
                              self._ids, self._mirror)
        self._tasks.start(jobs.run_change, job, plan.fingerprint(), self.engine, on_progress=self._on_progress,
                          on_result=self._on_change_done, on_error=self._on_failed)

    def _show_progress(self, plan: plans.Plan) -> None:
        self.progress = QProgressDialog("Getting ready…", "Cancel", 0, len(plan.to_do), self._window)
        self.progress.setWindowTitle(self._words.doing)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.cancel)
        self.progress.show()

    @Slot()
    def cancel(self) -> None:
        """Stop the running change between sessions, never in the middle of a file."""
        if self.engine is not None:
            self.engine.cancel()
        if self.progress is not None:
            self.progress.setLabelText("Cancelling after the current session…")

    @Slot(object)
    def _on_progress(self, payload: tuple[int, int, str]) -> None:
        done, total, title = payload
        # A local reference: a modal dialog's setValue() runs the event loop,
        # where the change's result may arrive and close this dialog.
        progress = self.progress
        if progress is not None and not progress.wasCanceled():
            progress.setMaximum(total)
            progress.setLabelText(f"{progress.windowTitle()} {done + 1} of {total}: {title}")
            progress.setValue(done)
            self.status.emit(f"{self._words.doing} {done + 1} of {total}: {title}")

    def _stop_running(self) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect(self.cancel)
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        self.engine = None
        self._set_busy(False)

    @Slot(object)
    def _on_change_done(self, done: transaction.Result) -> None:
        self._stop_running()
        if done.plan_changed and done.plan is not None:
            # Recovery undid an interrupted run, or a file changed since the
            # plan was shown: what would happen is not what was confirmed.
            self.status.emit("The plan changed since it was shown; nothing was changed.")
            self._confirm(done.plan, [*done.notes(), PLAN_CHANGED])
            return
        if done.report is None:
            message = done.stopped or "Nothing was changed."
            self.status.emit(message)
            QMessageBox.warning(self._window, "Session Rescue", "\n\n".join([*done.notes(), message]))
            self.files_changed.emit()
            return
        self._summarise(done.report, done.notes())

    def _summarise(self, report: plans.Report, notes: list[str]) -> None:
        counts = report.summary()
        changed = counts[engine.DONE] + counts[engine.SOURCE_KEPT]
        words = self._words
        failed = counts[engine.FAILED]
        self.status.emit(f"{words.done.capitalize()} {display.counted(changed, 'session')}"
                         + (f"; {failed} failed." if failed else "."))
        self.repair_finished.emit(report)
        self.files_changed.emit()
        self.summary_dialog = SummaryDialog(report, self._window, self._kind, notes, words, self._plain,
                                            self._technical())
        choice = self.summary_dialog.exec()
        if choice == SummaryDialog.OPEN_FOLDER and report.backup_dir:
            open_path(Path(report.backup_dir))
        elif choice == SummaryDialog.UNDO and report.run_id:
            answer = QMessageBox.question(
                self._window, words.undo, f"Put back the {display.counted(changed, 'session')} this {words.noun} "
                "changed, exactly as they were before it? Anything changed since then is kept as it is.")
            if answer == QMessageBox.StandardButton.Yes:
                self.undo(report.run_id, confirm=False)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        was_busy = self.busy
        self._stop_running()
        self.status.emit(message)
        self.failed.emit(message)
        if was_busy:
            QMessageBox.warning(self._window, "Session Rescue", message)

    # ----------------------------------------------------------------- undo

    def undo(self, run_id: str | None, confirm: bool = True) -> None:
        """Undo the run ``run_id`` (None: the last one); with ``confirm``,
        say first what that run was, and ask."""
        if self.busy or not self._claude_has_quit():
            return
        if not confirm:
            self._start_undo(run_id)
            return
        # Which run, and what it was, is read off the UI thread: a backup
        # folder can hold many runs.
        self._set_busy(True)
        self.status.emit("Reading the backups…")
        self._tasks.start(jobs.describe_run, self._root(), run_id, on_result=self._ask_undo, on_error=self._on_failed)

    @Slot(object)
    def _ask_undo(self, info: backups.RunInfo) -> None:
        self._set_busy(False)
        self.status.emit("")
        if not self._claude_has_quit():  # it started while the backups were read
            return
        kind = info.kind or "change"
        answer = QMessageBox.question(
            self._window, f"Undo {kind}", f"Put back every file the {kind} of {info.created_local} changed, and "
            f"remove the files it made ({display.counted(info.sessions, 'session')})? Files changed since then are "
            "kept as they are.")
        if answer == QMessageBox.StandardButton.Yes:
            self._start_undo(info.run_id)

    def _start_undo(self, run_id: str | None) -> None:
        self._set_busy(True)
        self.status.emit("Undoing…")
        self._tasks.start(jobs.run_undo, self._root(), run_id, on_result=self._on_undo_done, on_error=self._on_failed)

    @Slot(object)
    def _on_undo_done(self, done: UndoOutcome) -> None:
        self._set_busy(False)
        text = undo_text(done)
        self.status.emit(text.splitlines()[0])
        self.undo_finished.emit((done.run_id, done.results, done.how == ALREADY))
        self.files_changed.emit()
        QMessageBox.information(self._window, "Undo", text)

    # -------------------------------------------------------------- backups

    def show_backups(self) -> None:
        """Every past run (read off the UI thread); open one's folder, or undo it."""
        self.status.emit("Reading the backups…")
        self._tasks.start(jobs.list_runs, self._root(), on_result=self._on_runs_listed, on_error=self._on_failed)

    @Slot(object)
    def _on_runs_listed(self, payload: tuple[Path, list[backups.RunInfo]]) -> None:
        root, infos = payload
        self.status.emit("")
        self.backups_dialog = BackupsDialog(root, infos, self._window)
        choice = self.backups_dialog.exec()
        chosen = self.backups_dialog.selected()
        if chosen is None:
            return
        if choice == BackupsDialog.OPEN_FOLDER:
            open_path(chosen.path)
        elif choice == BackupsDialog.UNDO:
            self.undo(chosen.run_id)

    # -------------------------------------------------------------- helpers

    def _root(self) -> Path:
        return self._backup_root(self._data_dirs())

    def _claude_has_quit(self) -> bool:
        running = self._claude()
        if running:
            QMessageBox.warning(self._window, "Claude Desktop is running", claude_process.message(running))
        return not running

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit()
