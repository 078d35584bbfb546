"""Undo a run, recover the runs a crash interrupted, and the one rule for
"undo this run" that both front ends follow.

Undo works by inspection (see backups.py): a file that holds its "after"
bytes goes back to its "before" bytes, from the run's own backup; one that
holds its "before" bytes is left alone; one that holds anything else was
changed since the run and is kept.  Nothing is acted on until the whole run
has been checked: its manifest (runcheck.py), the real folder of every file
it would change, and the bytes of every backup it would restore.  A run that
fails any check is *damaged*, reported, and left exactly as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core import backups, claude_process, engine, finished_runs, oslock, runcheck
from app.core.backups import Run, RunInfo
from app.core.runcheck import Damaged, Entry, Manifest

KEPT = "kept"  # changed since the run: never overwritten

Progress = Callable[[int, int, str], bool]


@dataclass
class UndoResult:
    id: str
    outcome: str  # done, already-identical (nothing to undo), failed, kept (changed since), cancelled
    detail: str = ""
    title: str | None = None


@dataclass
class UndoReport:
    run_id: str
    results: list[UndoResult]
    stopped: str | None = None  # why it stopped before the end (Claude Desktop started)


# ------------------------------------------------------------------ checking


def _set_aside(run: Run, number: int, path: str, prefix: str = "undone-") -> str:
    """Where undo keeps the bytes it replaces or removes: in the run's own
    files/ folder.  An undo follows the manifest, and a manifest can be
    planted; so even what undo takes away stays somewhere."""
    return str(run.files_dir / backups.file_name(number, path, prefix))


def _restore_items(run: Run, entry: Entry, number: int, root: str | None,
                   prefix: str = "undone-") -> list[engine.Item] | str:
    """The engine items that put one session's files back, or (a str) why
    they are kept as they are.  Raises Damaged when the run cannot be trusted.
    ``number`` makes the names of the set-aside copies unique in the run,
    ``prefix`` tells an undo's from a failed change's own rollback."""
    restores: list[engine.Item] = []
    removals: list[engine.Item] = []
    for index, change in enumerate(entry.files):
        now = backups.current_sha(change.path)
        if now == (change.before.sha256 if change.before else None):
            continue  # already as it was before the run
        if now != (change.after.sha256 if change.after else None):
            return f"{change.path} has changed since the run; left as it is"
        problem = runcheck.folder_problem(change.path, root)
        if problem:
            raise Damaged(problem)
        aside = _set_aside(run, number * 100 + index, change.path, prefix)
        if change.before is None:
            # A file the run made: moved into the run's folder, not deleted.
            removals.append(engine.Item(engine.MOVE, aside, source=change.path, source_sha256=now, keep_both=True))
            continue
        backup = runcheck.backup_path(run.path, change)
        if backup is None or backups.current_sha(str(backup)) != change.before.sha256:
            raise Damaged(f"the backup of {change.path} is missing, or does not hold the bytes its manifest "
                          "promises")
        if now is not None:  # what is there now is kept, before it is replaced
            restores.append(engine.Item(engine.COPY, aside, source=change.path, source_sha256=now, keep_both=True,
                                   direct=True))
        restores.append(engine.Item(engine.COPY, change.path, source=str(backup), source_sha256=change.before.sha256,
                               target_sha256=now))
    # Put every old file back before taking away any new one: at no moment is
    # the session without a copy.
    return restores + removals


def check(run: Run, finished: bool) -> tuple[Manifest, list[tuple[Entry, list[engine.Item] | str]]]:
    """The run's manifest and, last session first, what undoing each would
    do.  Changes nothing; raises Damaged if any part of the run is not to be
    trusted, so that a damaged run is never partly acted on."""
    manifest = run.manifest()
    # A finished run's journal says which sessions it changed: the others
    # (whose backup failed, or that were not reached) are not undone, even
    # when a later run gave them the same bytes.  An interrupted run's
    # journal may have lost its last lines to a power cut: there every
    # session is judged by the disk alone.
    changed = run.changed_ids() if finished else None
    numbered = [(n, entry) for n, entry in enumerate(manifest.actions) if changed is None or entry.id in changed]
    return manifest, [(entry, _restore_items(run, entry, n, manifest.projects_root))
                      for n, entry in reversed(numbered)]


# -------------------------------------------------------------------- undo


def undo(run: Run, file_engine: engine.Engine | None = None, progress: Progress | None = None,
         guard: claude_process.Guard | None = None) -> UndoReport:
    """Put back, byte for byte, every file the run changed, and remove the
    files it made.  Files changed since the run are kept, never overwritten.
    Raises Damaged (having changed nothing) if the run cannot be trusted."""
    file_engine = file_engine or engine.Engine()
    run.manifest()  # first: a folder that is not one of our runs is never written into, not even a lock
    finished = run.status() in (backups.COMPLETE, backups.PARTLY_UNDONE)
    run.hold()
    try:
        manifest, planned = check(run, finished)
        run.log(backups.UNDO_STARTED, sync=True)
        # A killed run may have left the engine's temp files beside the files
        # it changed: remove them, in the run's own (checked) folders only.
        folders = {os.path.dirname(c.path) for entry in manifest.actions for c in entry.files}
        for folder in sorted(f for f in folders
                             if runcheck.folder_problem(os.path.join(f, "x"), manifest.projects_root) is None):
            engine.sweep_temps(folder)
        engine.sweep_temps(str(run.files_dir))
        report = UndoReport(run.run_id, [])
        for index, (entry, work) in enumerate(planned):
            if progress is not None and progress(index, len(planned), entry.id) is False:
                file_engine.cancel()
            found = guard.appeared() if guard is not None else []
            if found:
                done = sum(r.outcome == engine.DONE for r in report.results)
                report.stopped = (f"Claude Desktop started ({claude_process.names(found)}): the undo stopped after "
                                  f"{done} session{'s' * (done != 1)}, which stay put back; the next repair or undo "
                                  "finishes it.")
            if file_engine.cancelled or report.stopped:
                why = "not undone: Claude Desktop started" if report.stopped else "cancelled"
                report.results.extend(UndoResult(e.id, engine.CANCELLED, why, e.title) for e, _ in planned[index:])
                break
            report.results.append(_undo_entry(file_engine, entry, work))
            result = report.results[-1]
            run.log("action-undone", id=entry.id, outcome=result.outcome, detail=result.detail)
        if not any(r.outcome == engine.CANCELLED for r in report.results):
            kept = [r.id for r in report.results if r.outcome not in (engine.DONE, engine.IDENTICAL)]
            run.log(backups.UNDO_DONE, sync=True, kept=kept)
    finally:
        run.close()
    return report


def _undo_entry(file_engine: engine.Engine, entry: Entry, work: list[engine.Item] | str) -> UndoResult:
    if isinstance(work, str):
        return UndoResult(entry.id, KEPT, work, entry.title)
    if not work:
        _remove_made_dirs(entry)  # a run killed after making them, before its first file
        return UndoResult(entry.id, engine.IDENTICAL, "nothing to undo", entry.title)
    for item in work:
        result = file_engine.apply(item)
        if not result.ok:
            return UndoResult(entry.id, engine.FAILED, result.detail, entry.title)
    _remove_made_dirs(entry)
    return UndoResult(entry.id, engine.DONE, "", entry.title)


def roll_back(run: Run, value: dict[str, object], number: int, projects_root: str | None, done: set[str],
              file_engine: engine.Engine, step: engine.StepHook | None = None) -> str:
    """Put back at once what one failed action of a run in progress had done
    to the files ``done`` (the copy of a conversation whose tenth file
    failed, say), as its undo would, and say so.  What it made is moved into
    the run (``rolled-back-``), never deleted; a file changed meanwhile, and
    one it never wrote (the stranger that made it fail), are kept."""
    try:
        entry = runcheck.entry(value, projects_root)
        entry = dataclasses.replace(entry, files=tuple(c for c in entry.files if c.path in done))
        work = _restore_items(run, entry, number, projects_root, "rolled-back-")
    except Damaged as exc:
        return f"what was done of it could not be put back ({exc}); the next repair or undo looks again"
    if isinstance(work, str):
        return work
    for item in work:
        result = file_engine.apply(item, step)
        if not result.ok:
            return f"what was done of it could not all be put back ({result.detail})"
    made = value.get("made_dirs")
    for folder in reversed(made if isinstance(made, list) else []):
        with contextlib.suppress(OSError, TypeError):
            os.rmdir(folder)
    return "what was done of it was put back as it was"


def _remove_made_dirs(entry: Entry) -> None:
    """The folders the run made for new transcripts, once empty again
    (deepest first; one that holds anything now stays)."""
    for folder in reversed(entry.made_dirs):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


# ----------------------------------------------------------------- recovery


@dataclass
class Recovery:
    """What recovery did before a job: the interrupted runs it undid, and
    the ones it left alone (damaged, or that could not be read), with why."""

    undone: list[UndoReport] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)
    stopped: str | None = None

    def sentences(self) -> list[str]:
        """What to tell the user, one sentence each."""
        out = []
        for report in self.undone:
            kept = [r for r in report.results if r.outcome not in (engine.DONE, engine.IDENTICAL)]
            left = (f"; {len(kept)} sessions had changed since and were left as they are." if len(kept) > 1 else
                    "; 1 session had changed since and was left as it is." if kept else ".")
            out.append(f"An interrupted run ({report.run_id}) was found and undone first{left}")
        for run_id, why in self.damaged:
            out.append(f"The backup run {run_id} was left exactly as it is, and nothing was taken from it: {why} "
                       f"{backups.SEE_LIST}.")
        return out


def recover(root: Path, file_engine: engine.Engine | None = None,
            guard: claude_process.Guard | None = None) -> Recovery:
    """Undo every run in ``root`` that was interrupted (nobody holds its lock
    and it never finished), and finish every interrupted undo, newest first.
    A damaged run is reported and skipped; it never blocks the others."""
    recovery = Recovery()
    known, finished = finished_runs.load(root), {}
    for run in reversed(backups.runs(root)):
        key = finished_runs.journal_key(run.path / backups.JOURNAL)
        if key is not None and known.get(run.run_id) == key:
            finished[run.run_id] = key  # seen finished, and its journal has not changed since: not opened
            continue
        status = run.status()
        if status in (backups.COMPLETE, backups.UNDONE, backups.PARTLY_UNDONE) and key is not None:
            finished[run.run_id] = key
        if status not in (backups.INTERRUPTED, backups.UNDO_INTERRUPTED):
            continue
        try:
            report = undo(run, file_engine, guard=guard)
        except Damaged as exc:
            recovery.damaged.append((run.run_id, f"it is damaged ({exc})"))
            continue
        except oslock.Held:
            continue  # somebody took it up since we looked: it is theirs
        except (OSError, ValueError) as exc:  # ValueError: a name the file system cannot hold
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            recovery.damaged.append((run.run_id, f"it could not be undone now ({why})"))
            continue
        recovery.undone.append(report)
        if report.stopped:
            recovery.stopped = report.stopped
            break
        try:
            run.log(backups.RECOVERED, sync=True)
        except OSError:
            pass  # the undo itself is recorded: undo-done
        finally:
            run.close()
    if finished != known:
        finished_runs.save(root, finished)
    return recovery


# ------------------------------------------------------------- undo, asked


ALREADY, BY_RECOVERY, UNDONE_NOW, DECLINED = "already undone", "undone by recovery", "undone", "declined"


@dataclass
class UndoOutcome:
    """What "undo this run" came to: ``how`` is one of ALREADY, BY_RECOVERY,
    UNDONE_NOW, DECLINED."""

    run_id: str
    how: str
    results: list[UndoResult] = field(default_factory=list)
    stopped: str | None = None
    recovery: Recovery = field(default_factory=Recovery)


def undo_run(root: Path, run_id: str | None, guard: claude_process.Guard | None,
             confirm: Callable[[RunInfo], bool] | None = None, file_engine: engine.Engine | None = None,
             progress: Progress | None = None) -> UndoOutcome:
    """Undo the run named ``run_id`` (None: the last one), guarded as every
    change is: never while Claude Desktop runs, one at a time.  The one rule
    for a run that is already undone, or that was interrupted (then recovery
    undoes it, with any other interrupted run)."""
    if guard is not None:
        found = guard.running()
        if found:
            raise claude_process.ClaudeRunning(found)
    backups.check_folder(root)
    if not root.is_dir():  # never make a backup folder just to find nothing in it
        raise backups.NothingToUndo(f"there is no change to undo in {root}") if run_id is None else \
            backups.BackupError(f"there is no run {run_id!r} in {root} {backups.SEE_LIST}")
    with backups.exclusive(root):
        run = backups.find(root, run_id)
        status = run.status()
        if status == backups.UNDONE:
            return UndoOutcome(run.run_id, ALREADY)
        if confirm is not None and not confirm(backups.describe(run)):
            return UndoOutcome(run.run_id, DECLINED)
        if status in (backups.INTERRUPTED, backups.UNDO_INTERRUPTED):
            recovery = recover(root, file_engine, guard)
            mine = next((r for r in recovery.undone if r.run_id == run.run_id), None)
            if mine is None:
                why = next((w for i, w in recovery.damaged if i == run.run_id), "it could not be undone")
                raise backups.BackupError(f"the run {run.run_id} was interrupted, and {why}")
            return UndoOutcome(run.run_id, BY_RECOVERY, mine.results, mine.stopped, recovery)
        try:
            report = undo(run, file_engine, progress, guard)
        except Damaged as exc:
            raise backups.BackupError(f"the run {run.run_id} is damaged: {exc}; it was left as it is") from None
        return UndoOutcome(run.run_id, UNDONE_NOW, report.results, report.stopped)
