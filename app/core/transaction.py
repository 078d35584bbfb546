"""One guarded transaction: the only way a change reaches Claude's folder.

    Claude check -> writable check -> lock -> recovery -> plan -> confirm -> execute

The CLI, the window and the watcher all go through :func:`run`; none of them
re-orders it.  Claude Desktop keeps its records in memory and overwrites a
repair at its next save, so it is looked for before anything (a full look),
and again between sessions while the job runs (a cheap look: see
claude_process.Guard).  The lock makes one job at a time per backup folder;
recovery undoes what a killed job did, before a new plan is made from the
disk as it then is.

The window shows a plan *before* this sequence starts (the user reads it
while nothing is locked).  It passes that plan's fingerprint as
``expected``: if the plan made under the lock differs (recovery undid
something, or a file changed since), nothing is done and the new plan comes
back, to be shown and confirmed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import backups, claude_process, collector, engine, planners, plans, rebuild, undo
from app.core.kinds import Kind
from app.core.locations import DataDir
from app.core.scan import scan


@dataclass
class Job:
    """What to change: the kind of plan, where, and (None: all it applies to) which."""

    kind: Kind
    data_dirs: Sequence[DataDir]
    backup_root: Path
    transcripts: Path
    ids: Sequence[str] | None = None
    mirror: str | None = None  # rebuild --mirror: the file to install as the named SSH session's mirror


@dataclass
class Result:
    """What the transaction came to.  ``report`` is None when nothing was
    carried out: the user declined, or (``plan_changed``) the plan differs
    from the one confirmed and must be confirmed again."""

    plan: plans.Plan | None = None
    report: plans.Report | None = None
    recovery: undo.Recovery = field(default_factory=undo.Recovery)
    plan_changed: bool = False
    declined: bool = False
    stopped: str | None = None  # Claude Desktop started while interrupted runs were being undone

    def notes(self) -> list[str]:
        """Sentences for the user beside the report: runs recovered, runs left alone."""
        return self.recovery.sentences()


Fingerprint = Any  # plans.Plan.fingerprint()


def run(job: Job, guard: claude_process.Guard | None, confirm: Callable[[plans.Plan], bool] | None = None,
        expected: Fingerprint | None = None, file_engine: engine.Engine | None = None,
        progress: Callable[[int, int, plans.Action], bool] | None = None) -> Result:
    """Carry out one job, guarded.  ``guard`` None means the user chose to go
    ahead while Claude Desktop runs (--ignore-running).  Raises
    claude_process.ClaudeRunning, backups.Busy, backups.BackupError (one
    sentence each), or plans.PlanError for ids that name nothing."""
    if guard is not None:
        found = guard.running()
        if found:
            raise claude_process.ClaudeRunning(found)
    backups.check_root(job.backup_root, job.data_dirs)
    backups.ensure_writable(job.backup_root)
    result = Result()
    with backups.exclusive(job.backup_root), collector.paused():
        result.recovery = undo.recover(job.backup_root, file_engine, guard)
        if result.recovery.stopped:
            # What recovery put back stays put back (each session whole);
            # the next run finishes it.  Nothing of the job itself was done.
            result.stopped = (f"{result.recovery.stopped} Claude Desktop started while an interrupted run was being "
                              f"undone, so the {job.kind} was not started.")
            return result
        # A repair reads the records only.  Adopt needs main.log (the folder
        # the app last loaded), rebuild the transcripts without records; a
        # repair of named ids looks too, to say which command a transcript id
        # is for.
        details = job.kind != Kind.REPAIR or job.ids is not None
        found_now = scan(list(job.data_dirs), job.transcripts, details=details)
        if job.mirror is not None:
            result.plan = rebuild.plan(found_now, job.ids, mirror=job.mirror)
        else:
            result.plan = planners.PLANNERS[job.kind](found_now, job.ids)
        if expected is not None and result.plan.fingerprint() != expected:
            result.plan_changed = True
            return result
        if result.plan.to_do and confirm is not None and not confirm(result.plan):
            result.declined = True
            return result
        result.report = plans.execute(result.plan, job.backup_root, file_engine, progress, guard)
    return result
