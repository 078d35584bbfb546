"""What the window's workers run: plain functions over app.core, no Qt.

Each takes ``report`` first (a worker's progress signal) and returns plain
data.  A failure the user should read raises UserFacingError with one sentence.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import contents, locations
from app.core.display import sentence, summary_line
from app.core.kinds import Kind
from app.core.records import ScanResult, Session
from app.core.scan import scan
from app.gui.tasks import UserFacingError

# What only a change, an undo, the backups, an export, the watcher or a look
# for Claude Desktop needs is imported by the job that does it: the window's
# start (the scan, the first preview) does not wait for any of it.
if TYPE_CHECKING:
    from app.core import engine, plans, transaction, undo, watcher
    from app.core.backups import RunInfo
    from app.gui.session_model import Arranged

Report = Callable[[Any], None]
ClaudeCheck = Callable[[], list]
DIFF_LIMIT = 400_000  # characters per side: past this, a line diff would take too long to be useful


def scan_folder(report: Report, generation: int, data_dir: locations.DataDir,
                shown: threading.Event | None = None,
                arrange: Callable[[list[Session]], Arranged] | None = None,
                ) -> tuple[int, ScanResult, str, Arranged | None, Any]:
    """Scan one data folder, reporting (generation, batch) as sessions are
    read; (generation, result, its summary line, what ``arrange`` made of
    every session found, and what read_session reads of the record it puts
    first, or None).  The line and the arrangement are made here: each reads
    every session, some 70 ms for 100,000 on the UI thread.  So is the first
    row's preview, when its files are small (the preview shows them whole):
    the window shows it with the list, without waiting for another worker
    (and painting the list once more meanwhile).  A bigger one would hold
    the list back; its own worker reads it once the list shows.

    With ``shown``, the scan waits after each batch until the window has
    shown it and painted it (or a second has passed).  Showing a batch calls
    from Qt into Python hundreds of times, and each call would otherwise queue
    for the interpreter lock behind this thread: the window would stutter."""

    def hand_over(batch: list) -> None:
        if shown is not None:
            shown.clear()
        report((generation, batch))
        if shown is not None:
            shown.wait(1.0)

    transcripts = locations.transcripts_dir(data_dirs=[data_dir])
    with collector_held():
        result = scan([data_dir], transcripts, on_batch=hand_over)
    arranged = arrange(result.sessions + result.transcript_only) if arrange is not None else None
    first = arranged.rows[0] if arranged is not None and arranged.rows else None
    small = first is not None and first.is_record and sum(
        f.size or 0 for f in (first.json, first.tmp) if f is not None) <= contents.PREVIEW_LIMIT
    preview = read_session(report, first) if first is not None and small else None
    return generation, result, summary_line(result), arranged, preview


_collector_lock = threading.Lock()
_collector_holders = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """No cycle collection while a scan runs, and none that looks at what it
    made afterwards (gc.freeze), so that the window never waits for one.

    A scan makes millions of objects in a few seconds, and no cycles among
    them (app.core.scan pauses the collector while it reads, for that reason).
    Left to the collector, each generation would walk them all as it filled:
    with 100,000 sessions, some 0.1 s for the youngest, as much for the next
    and half a second for a full collection, each time holding the interpreter
    lock, which the window's thread needs to draw a single row.  Frozen, they
    are still freed by reference counting when the window lets go of them.
    Scans may overlap (a refresh while one runs): the last to end lets the
    collector run again."""
    global _collector_holders, _collector_was_enabled
    with _collector_lock:
        if _collector_holders == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_holders += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_holders -= 1
            if _collector_holders == 0:
                gc.freeze()
                if _collector_was_enabled:
                    gc.enable()


def read_session(report: Report, session: Session, limit: int | None = contents.PREVIEW_LIMIT):
    """(session id, {kind: FileView}, side-by-side rows or None)."""
    views = {f.kind: contents.view_file(f, limit) for f in (session.json, session.tmp) if f is not None}
    diff = None
    if len(views) == 2:
        a, b = views["json"], views["tmp"]
        if a.complete and b.complete and max(len(a.text), len(b.text)) <= DIFF_LIMIT:
            diff = contents.side_by_side(a.text, b.text)
    return session.id, views, diff


def read_whole_file(report: Report, session: Session, kind: str):
    state = session.json if kind == "json" else session.tmp
    assert state is not None
    return session.id, contents.view_file(state, None)


def check_claude(report: Report, check: ClaudeCheck | None = None) -> list:
    """The Claude Desktop processes that run (``check``: what looks, by
    default claude_process.running, which loads psutil)."""
    if check is None:
        from app.core import claude_process

        check = claude_process.running
    return check()


def make_plan(report: Report, result: ScanResult, ids: Sequence[str] | None,
              kind: Kind = Kind.REPAIR, mirror: str | None = None) -> plans.Plan:
    """The plan of ``kind``; with ``mirror``, the rebuild that installs that
    file as the one named SSH session's conversation."""
    from app.core import planners, plans, rebuild

    try:
        if mirror is not None:
            return rebuild.plan(result, ids, mirror=mirror)
        return planners.PLANNERS[kind](result, ids)
    except plans.PlanError as exc:
        raise UserFacingError(sentence(str(exc))) from None


def read_page(report: Report, path: str, offset: int):
    """(path, offset, Page): one page of a transcript, for the Conversation tab."""
    from app.core import conversation  # here: the window starts without it (a first session may have none)

    return path, offset, conversation.read_page(path, offset)


def run_change(report: Report, job: transaction.Job, expected: transaction.Fingerprint,
               file_engine: engine.Engine) -> transaction.Result:
    """Carry out the plan the user confirmed, through core's one guarded
    transaction.  If the plan made under the lock is not the one confirmed
    (an interrupted run was undone first, or a file changed since), nothing
    is done and the new plan comes back, to be shown and confirmed again."""
    from app.core import backups, claude_process, plans, transaction

    def progress(done: int, total: int, action: plans.Action) -> bool:
        report((done, total, action.session.title or action.id))
        return True

    try:
        return transaction.run(job, claude_process.Guard(), expected=expected, file_engine=file_engine,
                               progress=progress)
    except claude_process.ClaudeRunning as exc:
        raise UserFacingError(f"{exc} Nothing was changed.") from None
    except (backups.BackupError, plans.PlanError) as exc:
        raise UserFacingError(sentence(str(exc))) from None


def run_undo(report: Report, root: Path, run_id: str | None) -> undo.UndoOutcome:
    """Undo the named run (or the last one), by core's one rule for undo."""
    from app.core import backups, claude_process, undo

    try:
        return undo.undo_run(root, run_id, claude_process.Guard())
    except claude_process.ClaudeRunning as exc:
        raise UserFacingError(f"{exc} Nothing was changed.") from None
    except backups.BackupError as exc:
        raise UserFacingError(sentence(str(exc))) from None


def describe_run(report: Report, root: Path, run_id: str | None) -> RunInfo:
    """The run an undo would take back (None: the last one), described."""
    from app.core import backups

    try:
        return backups.describe(backups.find(root, run_id))
    except backups.BackupError as exc:
        raise UserFacingError(sentence(str(exc))) from None


def list_runs(report: Report, root: Path) -> tuple[Path, list[RunInfo]]:
    """Every run in the backup folder, described (manifests are parsed: off the UI thread)."""
    from app.core import backups

    return root, backups.describe_all(root)


def keep_repaired(report: Report, on: bool) -> str:
    """Turn the watcher's autostart on (and start a watcher now) or off (and
    stop the one running); the sentence that says so.  Off the UI thread: on
    Windows the autostart entry is made by PowerShell, which may take up to
    a minute."""
    import subprocess

    from app.core import autostart, watcher

    try:
        if on:
            path = autostart.enable()
            try:
                watcher.start_in_background()
            except (OSError, subprocess.SubprocessError):
                autostart.disable()  # both or neither: the switch goes back to off, and so does the entry
                raise
            return f"Sessions will be kept repaired, from now and from every logon ({path})."
        autostart.disable()
        watcher.stop_running()
        return "Sessions are no longer kept repaired automatically."
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserFacingError(f"Could not change the automatic repair: {exc}") from None


def watch_tick(report: Report, repair_watcher: watcher.Watcher) -> watcher.RepairEvent | None:
    """One look of the watcher (app.core.watcher.Watcher.tick)."""
    return repair_watcher.tick()


def export_conversation(report: Report, session: Session, path: str, fmt: str) -> tuple[str, int]:
    """Write the session's conversation to ``path`` (the save dialog asked
    before replacing a file); (path, messages written)."""
    from app.core import export

    try:
        tally = export.export_to_file(session, path, fmt, overwrite=True)
    except export.ExportError as exc:
        raise UserFacingError(sentence(f"The conversation was not exported: {exc}")) from None
    return path, tally.messages
