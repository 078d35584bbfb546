"""What the window's workers run: plain functions over app.core, no Qt.

Each takes ``report`` first (a worker's progress signal) and returns plain
data.  A failure the user should read raises UserFacingError with one sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.core import backups, claude_process, contents, conversation, locations, plans, repair
from app.core import engine as E
from app.core.records import ScanResult, Session
from app.core.scan import scan
from app.gui.tasks import UserFacingError

Report = Callable[[Any], None]
ClaudeCheck = Callable[[], list]
DIFF_LIMIT = 400_000  # characters per side: past this, a line diff would take too long to be useful


def scan_folder(report: Report, generation: int, data_dir: locations.DataDir,
                shown: threading.Event | None = None) -> tuple[int, ScanResult]:
    """Scan one data folder, reporting (generation, batch) as sessions are read.

    With ``shown``, the scan waits after each batch until the window has
    shown it (or a second has passed).  Showing a batch calls from Qt into
    Python thousands of times, and each call would otherwise queue for the
    interpreter lock behind this thread: the window would stutter."""

    def hand_over(batch: list) -> None:
        if shown is not None:
            shown.clear()
        report((generation, batch))
        if shown is not None:
            shown.wait(1.0)

    transcripts = locations.transcripts_dir(data_dirs=[data_dir])
    return generation, scan([data_dir], transcripts, on_batch=hand_over)


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


def check_claude(report: Report, check: ClaudeCheck) -> list:
    return check()


def make_plan(report: Report, result: ScanResult, ids: Sequence[str] | None, kind: str = "repair") -> repair.Plan:
    try:
        return plans.PLANNERS[kind](result, ids)
    except repair.PlanError as exc:
        raise UserFacingError(str(exc).capitalize() + ".") from None


def read_page(report: Report, path: str, offset: int):
    """(path, offset, Page): one page of a transcript, for the Conversation tab."""
    return path, offset, conversation.read_page(path, offset)


def _guard(check: ClaudeCheck) -> None:
    running = check()
    if running:
        raise UserFacingError(claude_process.message(running) + " Nothing was changed.")


def run_repair(report: Report, the_plan: repair.Plan, root: Path, engine: E.Engine, check: ClaudeCheck,
               data_dirs: Sequence[locations.DataDir], ids: Sequence[str] | None) -> repair.Report:
    """Repair exactly the confirmed plan, guarded like the CLI's repair."""
    _guard(check)
    try:
        backups.ensure_writable(root)
        with backups.exclusive(root):
            if backups.recover(root, engine):
                # An interrupted run was undone: the files the plan saw have
                # changed back, so plan again over the same sessions.
                result = scan(list(data_dirs), locations.transcripts_dir(data_dirs=list(data_dirs)))
                planner = plans.PLANNERS[the_plan.kind]
                try:
                    the_plan = planner(result, ids if ids is not None else [a.id for a in the_plan.actions])
                except repair.PlanError as exc:
                    raise UserFacingError(f"An interrupted run was undone first, and then: {exc}. "
                                          "Nothing more was changed.") from None

            def progress(done: int, total: int, action: repair.Action) -> bool:
                report((done, total, action.session.title or action.id))
                return True

            return repair.execute(the_plan, root, engine, progress)
    except backups.BackupError as exc:
        raise UserFacingError(str(exc)) from None


def run_undo(report: Report, root: Path, run_id: str | None, check: ClaudeCheck):
    """(run id, results, already undone) for the named run, or the last one."""
    _guard(check)
    try:
        with backups.exclusive(root):
            run = backups.find(root, run_id)
            if run.status() == backups.UNDONE:
                return run.run_id, [], True
            if run.run_id in [r.run_id for r, _ in backups.recover(root)]:
                return run.run_id, [], True  # it had been interrupted: recovery has undone it
            return run.run_id, backups.undo(run), False
    except backups.BackupError as exc:
        raise UserFacingError(str(exc)) from None


def watch_tick(report: Report, keeper) -> object:
    """One look of the watcher (app.core.watcher.Watcher.tick)."""
    return keeper.tick()
