"""Plans, and how a plan is carried out: the machinery every kind of change
shares (repair, adopt, rebuild).

A plan is data.  For each session it says what will happen and why, and it
holds the exact engine items that do it, each pinned to the bytes the plan
saw.  A front end shows the plan (the window in its confirmation, the CLI for
``--dry-run``); :func:`execute` carries out exactly that list and nothing
else, backing up every file before it changes, journaling each step, and
looking between sessions whether Claude Desktop has started.

The planners (repair.py, adopt.py, rebuild.py) decide what to do; which
sessions each applies to is decided once, in app.core.kinds (:func:`applies_to`,
also known by its name here).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import backups, claude_process, collector, fsops, jsjson, runcheck, undo
from app.core.engine import CANCELLED, COPY, DONE, FAILED, IDENTICAL, PLANNED, SOURCE_KEPT, Engine, Item
from app.core.kinds import Kind, applies_to  # noqa: F401 - plans.applies_to, the name its callers know
from app.core.locations import DataDir
from app.core.records import AmbiguousId, ScanResult, Session, complete_id
from app.core.runcheck import Snapshot

SKIPPED = "skipped"
OUTCOMES = (DONE, IDENTICAL, SOURCE_KEPT, FAILED, SKIPPED, CANCELLED, PLANNED)


@dataclass(frozen=True)
class FileChange:
    """One file a plan changes: what it holds before, and after (None: absent)."""

    path: str
    before: Snapshot | None
    after: Snapshot | None


class PlanError(Exception):
    """What was asked cannot be planned (an unknown session id, say)."""


@dataclass
class Action:
    """What will happen to one session, and why."""

    session: Session
    action: str
    reason: str
    changes: tuple[FileChange, ...] = ()
    items: tuple[Item, ...] = ()
    made_dirs: tuple[str, ...] = ()  # folders made (outermost first) before its items, for new transcripts
    done: str = ""  # what happened, once done: a summary speaks in the past (``reason`` is the plan's future)

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def changes_files(self) -> bool:
        return bool(self.items)


@dataclass
class Plan:
    actions: list[Action]
    data_dirs: list[DataDir] = field(default_factory=list)  # the folders it was made from
    kind: Kind = Kind.REPAIR  # also what its backup run is called
    projects_root: str | None = None  # the transcripts folder, when it changes files there

    @property
    def to_do(self) -> list[Action]:
        return [a for a in self.actions if a.changes_files]

    def fingerprint(self) -> tuple[tuple[str, str, tuple[tuple[str, str | None], ...]], ...]:
        """What the plan does, as comparable data: for each session its
        action, and every file it touches with the bytes it holds now.  Two
        plans with one fingerprint do the same thing (a rebuilt record's new
        id may differ; what it is made from may not)."""
        return tuple((a.id, a.action, tuple((c.path if c.before else os.path.dirname(c.path),
                                             c.before.sha256 if c.before else None) for c in a.changes)
                      + tuple(("from", i.source_sha256) for i in a.items if i.source is not None))
                     for a in self.actions)


# ---------------------------------------------------------------- planning


def snapshot(path: str) -> Snapshot:
    """What a file holds now: the bytes' hash and size, its mtime and mode
    (from the fstat of the very file that was read: no second look by name)."""
    sha, size, st = fsops.hash_regular(path)
    return Snapshot(sha, size, st.st_mtime_ns, st.st_mode & 0o7777)


def named_sessions(scan: ScanResult, ids: Iterable[str] | None) -> list[Session] | None:
    """The records a user named (None when they named none), in scan order;
    PlanError, in one sentence, for an id that is no record."""
    if ids is None:
        return None
    known = [bare_id(s.id) for s in (*scan.sessions, *scan.transcript_only)]
    try:
        wanted = {complete_id(bare_id(i), known) for i in ids}
    except AmbiguousId as exc:
        raise PlanError(str(exc)) from None
    unknown = sorted(wanted - {bare_id(s.id) for s in scan.sessions})
    if unknown and unknown[0] in {bare_id(s.id) for s in scan.transcript_only}:
        raise PlanError(f"{unknown[0]} is a transcript without a record; 'rebuild' makes one for it")
    if unknown:
        raise PlanError(f"no session {unknown[0]} was found" + (f" (and {len(unknown) - 1} more)"
                                                                if len(unknown) > 1 else ""))
    return [s for s in scan.sessions if bare_id(s.id) in wanted]


def bare_id(session_id: str) -> str:
    return session_id.removeprefix("local_").lower()


# --------------------------------------------------------------- executing


@dataclass
class Outcome:
    id: str
    action: str
    outcome: str
    detail: str
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "outcome": self.outcome, "detail": self.detail}


@dataclass
class Report:
    run_id: str | None
    backup_dir: str | None
    dry_run: bool
    results: list[Outcome]
    # Why the run stopped before its end, in one sentence (Claude Desktop
    # started, or the journal could not be written); None when it did not.
    stopped: str | None = None
    stopped_by_claude: bool = False

    def summary(self) -> dict[str, int]:
        counts = {outcome: 0 for outcome in OUTCOMES}
        for r in self.results:
            counts[r.outcome] += 1
        counts["total"] = len(self.results)
        return counts

    @property
    def failed(self) -> bool:
        return any(r.outcome == FAILED for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "backup_dir": self.backup_dir, "dry_run": self.dry_run,
                "results": [r.to_json() for r in self.results], "summary": self.summary(), "stopped": self.stopped}


def _outcome(action: Action, outcome: str, detail: str) -> Outcome:
    return Outcome(action.id, action.action, outcome, detail, action.session.title)


def dry_run(the_plan: Plan, files: Engine | None = None) -> Report:
    """The plan as a report, each change checked against the disk as it is now
    (the engine's preview, which decides as apply does), so that what would
    fail says so.  Changes nothing."""
    files = files or Engine()
    results = []
    for action in the_plan.actions:
        if not action.changes_files:
            results.append(_outcome(action, SKIPPED, action.reason))
            continue
        previews = [files.preview(item) for item in action.items]
        failed = [p for p in previews if p.outcome == FAILED]
        if failed:
            results.append(_outcome(action, FAILED, f"would fail: {failed[0].detail}"))
        elif all(p.outcome == IDENTICAL for p in previews):
            results.append(_outcome(action, IDENTICAL, "already repaired"))
        else:
            results.append(_outcome(action, PLANNED, action.reason))
    return Report(None, None, True, results)


def _refused(action: Action, projects_root: str | None) -> str | None:
    """Why the manifest check every undo makes (runcheck) would reject this
    action's files; None when it would accept them."""
    for change in action.changes:
        problem = runcheck.target_problem(change.path, projects_root)
        if problem:
            return f"{change.path} {problem}"
    for folder in action.made_dirs:
        if projects_root is None or not runcheck.is_inside(folder, projects_root) or \
                os.path.normpath(folder) != folder:
            return f"the folder {folder} is not inside the projects folder"
    return None


def manifest_entries(actions: list[Action]) -> list[dict[str, Any]]:
    """The manifest's list of actions: every file each changes, before and
    after, and the name its backup will have in the run's files/."""
    entries, index = [], 0
    for action in actions:
        files = []
        for change in action.changes:
            backup = None
            if change.before is not None:
                index += 1
                backup = f"{backups.FILES}/{backups.file_name(index, change.path)}"
            files.append({"path": change.path, "before": change.before.to_json() if change.before else None,
                          "after": change.after.to_json() if change.after else None, "backup": backup})
        entries.append({"id": action.id, "action": action.action, "reason": action.reason,
                        "title": action.session.title, "account": action.session.account,
                        "org": action.session.org, "files": files, "made_dirs": list(action.made_dirs)})
    return entries


# Sessions per batch: backed up together, their backups made durable with one
# folder fsync, then changed together with one fsync of Claude's folder.
BATCH = 64
ProgressHook = Callable[[int, int, Action], bool]


class _Journal:
    """The run's journal, for a run in progress: a line that cannot be
    written (a full disk) is remembered, never raised in the middle of a
    file's change; the run then stops before its next session.

    Lines wait in memory until :meth:`flush` (once per session, and before a
    batch's originals change): one write instead of seven per session.  Only
    the fsync'd milestones are a run's status, and recovery reads the files
    themselves, so a line lost with a killed process loses nothing (the
    lines were never fsync'd either); a milestone is written after every
    line before it."""

    def __init__(self, run: backups.Run):
        self.run = run
        self.error: OSError | None = None
        self._waiting: list[bytes] = []
        self._names: dict[str, bytes] = {}  # paths and ids, JSON-encoded once for their several lines

    def log(self, event: str, sync: bool = False, **fields: Any) -> None:
        self._waiting.append(backups.journal_line(event, **fields))
        if sync:
            self.flush(sync=True)

    def step(self, item: Item, step: str) -> None:
        """The engine's hook: each step of each file, as it is made."""
        self._waiting.append(backups.step_line(self._encoded(item.target), step))

    def session(self, event: str, action: Action, outcome: str | None = None) -> None:
        """A session's own line: backed up, or done (with its outcome)."""
        self._waiting.append(backups.session_line(event, self._encoded(action.id), outcome))

    def _encoded(self, text: str) -> bytes:
        """``text`` as JSON, encoded once for the several lines that name it."""
        encoded = self._names.get(text)
        if encoded is None:
            if len(self._names) > 8 * BATCH:
                self._names.clear()
            encoded = self._names[text] = jsjson.stringify(text)
        return encoded

    def flush(self, sync: bool = False) -> None:
        """Write the waiting lines, in one write (fsync'd with ``sync``).
        After a failed write nothing more is written: a milestone must never
        follow lines that are missing."""
        lines, self._waiting = b"".join(self._waiting), []
        if self.error is not None or not lines:
            return
        try:
            self.run.append(lines, sync)
        except OSError as exc:
            self.error = exc


@dataclass
class _Execution:
    """One run being carried out: where it writes, what watches it, and what
    each session came to so far."""

    run: backups.Run
    journal: _Journal
    files: Engine
    progress: ProgressHook | None
    guard: claude_process.Guard | None
    total: int
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    done: int = 0
    stopped: str | None = None  # the guard's sentence, or "journal"
    by_claude: bool = False
    projects_root: str | None = None  # where the plan may write transcripts

    def _backup_path(self, spec: dict[str, Any]) -> str:
        """Where the manifest entry ``spec`` of a file puts its backup (an
        os.path join, not pathlib's: made per file, thousands a run)."""
        return os.path.join(str(self.run.path), *spec["backup"].split("/"))

    def back_up(self, action: Action, entry: dict[str, Any]) -> Outcome | None:
        """A verified copy of every file the action changes; an outcome if that failed."""
        for change, spec in zip(action.changes, entry["files"], strict=True):
            if change.before is None:
                continue
            saved = self.files.apply(Item(COPY, self._backup_path(spec), source=change.path,
                                          source_sha256=change.before.sha256, direct=True), self.journal.step)
            if not saved.ok:
                return _outcome(action, FAILED, f"not changed: the backup failed ({saved.detail})")
        return None

    def change(self, action: Action, entry: dict[str, Any], number: int) -> Outcome:
        """Change one session's files, its backups being durable already.  A
        session changed only in part (its fifth file failed) is put back as
        it was, at once, the way an undo would: never left half done."""
        unsafe = self._unsafe(action) or self._make_dirs(action) or self._unsafe(action)
        if unsafe:
            return _outcome(action, FAILED, f"not changed: {unsafe}")
        results = []
        for item in action.items:
            results.append(self.files.apply(item, self.journal.step))
            if results[-1].outcome == FAILED:
                break
        outcomes = {r.outcome for r in results}
        warnings = [w for r in results for w in r.warnings]
        if FAILED in outcomes:
            detail = next(r.detail for r in results if r.outcome == FAILED)
            if len(results) > 1 or action.made_dirs:
                done = {item.target for item, r in zip(action.items, results, strict=False)
                        if r.outcome in (DONE, SOURCE_KEPT)}
                detail += "; " + undo.roll_back(self.run, entry, number, self.projects_root, done, self.files,
                                                self.journal.step)
            return _outcome(action, FAILED, detail + "; the backup is kept")
        if SOURCE_KEPT in outcomes:
            return _outcome(action, SOURCE_KEPT, next(r.detail for r in results if r.outcome == SOURCE_KEPT))
        if outcomes == {IDENTICAL}:
            return _outcome(action, IDENTICAL, "already repaired")
        return _outcome(action, DONE, "; ".join([action.done or action.reason, *warnings]))

    def _unsafe(self, action: Action) -> str | None:
        """Why a transcript of this action may not be written now: a folder
        on its way became a link since the plan (checked again, just before)."""
        root = self.projects_root
        if root is None:
            return None
        return next((problem for c in action.changes if runcheck.is_transcript_path(c.path, root)
                     and (problem := runcheck.chain_problem(c.path, root))), None)

    def _make_dirs(self, action: Action) -> str | None:
        """Make the action's new folders one level at a time: each must be a
        folder of its own once made (recorded in the manifest: an undo
        removes them again, once empty)."""
        for folder in action.made_dirs:
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            except OSError as exc:
                return fsops.describe_error(exc)
            if not fsops.is_plain_dir(folder):
                return f"{folder} is a link or not a folder; nothing is written through it"
        return None

    def _back_up_batch(self, batch: list[tuple[Action, dict[str, Any]]]) -> dict[int, Outcome | None]:
        """Back up each session of a batch (until a cancel): for each, None,
        or the outcome that failed it.  Every backup is on the disk, and its
        folder fsync'd, before this returns: before any original changes."""
        failed: dict[int, Outcome | None] = {}
        with self.files.deferred_file_syncs() as lost:
            for action, entry in batch:
                if self.files.cancelled:
                    break
                failed[id(action)] = self.back_up(action, entry)
        for action, entry in batch:
            if id(action) not in failed:
                break
            why = self._lost_backup(entry, lost) if lost else None
            if why is not None and failed[id(action)] is None:
                failed[id(action)] = _outcome(action, FAILED, f"not changed: the backup failed ({why})")
            self.journal.session(backups.BACKED_UP, action)
        self.journal.flush()
        self.files.sync_dirs()
        return failed

    def _lost_backup(self, entry: dict[str, Any], lost: dict[str, str]) -> str | None:
        """Why a backup of this action is not on the disk after all, if one is not."""
        return next((lost[path] for spec in entry["files"] if spec["backup"]
                     and (path := self._backup_path(spec)) in lost), None)

    def batch(self, batch: list[tuple[Action, dict[str, Any]]], start: int) -> None:
        """Back up a batch of sessions, make the backups durable, then change them."""
        failed_backups = self._back_up_batch(batch)
        for offset, (action, entry) in enumerate(batch):
            if not self._may_go_on(action, start + offset) or id(action) not in failed_backups:
                return
            outcome = failed_backups[id(action)] or self.change(action, entry, start + offset)
            self.outcomes[id(action)] = outcome
            self.done += outcome.outcome in (DONE, SOURCE_KEPT)
            self.journal.session(backups.ACTION_DONE, action, outcome.outcome)
            self.journal.flush()  # a session's lines in one write; a failed one stops the run before the next
        self.files.sync_dirs()

    def _may_go_on(self, action: Action, index: int) -> bool:
        """Before each session: the journal still writes, the user has not
        cancelled, and Claude Desktop has not started."""
        if self.journal.error is not None:
            self.stopped = "journal"
            return False
        if self.progress is not None and self.progress(index, self.total, action) is False:
            self.files.cancel()
        found = self.guard.appeared() if self.guard is not None else []
        if found:
            self.stopped, self.by_claude = claude_process.names(found), True
            return False
        return not self.files.cancelled

    def not_started(self, action: Action) -> Outcome:
        why = ("not started: Claude Desktop started" if self.by_claude else
               "not started: the journal could not be written" if self.stopped else "cancelled before it started")
        return _outcome(action, CANCELLED, why + "; not changed")

    def stopped_sentence(self, backup_dir: str, kind: str) -> str | None:
        """Why the run ended early, and what that means for the sessions done."""
        sessions = f"{self.done} session{'s' * (self.done != 1)}"
        if self.by_claude:
            return (f"Claude Desktop started ({self.stopped}), so the {kind} stopped there: {sessions} changed "
                    f"before that stay as they are (and can be undone); the rest were not touched. Quit Claude "
                    f"Desktop fully, including its tray icon, then run it again.")
        error = self.journal.error
        if error is None:
            return None
        why = "the disk is full" if error.errno == errno.ENOSPC else fsops.describe_error(error)
        if not self.done:
            return f"The {kind} stopped before changing anything: its journal could not be written ({why})."
        return (f"The {kind} stopped after {sessions}: its journal could not be written ({why}). The next repair "
                f"undoes those {self.done} first, from their backups in {backup_dir}, then repairs again; "
                "nothing is lost.")


def execute(the_plan: Plan, backup_root: Path, files: Engine | None = None, progress: ProgressHook | None = None,
            guard: claude_process.Guard | None = None) -> Report:
    """Carry out the plan: for each session, back up the files it changes,
    then change them.  ``progress(done, total, action)`` is called before each
    session; returning False cancels the rest (the finished ones stay
    finished, and can be undone).  Between sessions, ``guard`` looks whether
    Claude Desktop has started: if so, the run stops there.  Sessions that
    need nothing are reported as skipped.  Call it through
    transaction.run, which holds the backup folder's lock and has recovered
    interrupted runs first."""
    with collector.paused():
        return _execute(the_plan, backup_root, files or Engine(), progress, guard)


def _execute(the_plan: Plan, backup_root: Path, files: Engine, progress: ProgressHook | None,
             guard: claude_process.Guard | None) -> Report:
    backups.check_root(backup_root, the_plan.data_dirs)
    skipped = {id(a): _outcome(a, SKIPPED, a.reason) for a in the_plan.actions if not a.changes_files}
    # A change its own undo would refuse is never begun: a run that cannot be
    # taken back must not exist.
    for action in the_plan.to_do:
        refused = _refused(action, the_plan.projects_root)
        if refused:
            skipped[id(action)] = _outcome(action, FAILED, f"not changed: {refused}")
    to_do = [a for a in the_plan.to_do if id(a) not in skipped]
    if not to_do:
        return Report(None, None, False, [skipped[id(a)] for a in the_plan.actions])
    entries = manifest_entries(to_do)
    try:
        run = backups.Run.create(backup_root, entries, the_plan.kind, the_plan.projects_root)
    except OSError as exc:
        why = "the disk is full" if exc.errno == errno.ENOSPC else fsops.describe_error(exc)
        raise backups.BackupError(f"nothing was changed: the backup could not be started in {backup_root} "
                                  f"({why})") from None
    doing = _Execution(run, _Journal(run), files, progress, guard, len(to_do), skipped,
                       projects_root=the_plan.projects_root)
    work = list(zip(to_do, entries, strict=True))
    try:
        with files.batched_dir_syncs():
            for start in range(0, len(work), BATCH):
                doing.batch(work[start:start + BATCH], start)
                if files.cancelled or doing.stopped:
                    break
        for action in to_do:
            doing.outcomes.setdefault(id(action), doing.not_started(action))
        report = Report(run.run_id, str(run.path), False, [doing.outcomes[id(a)] for a in the_plan.actions],
                        stopped_by_claude=doing.by_claude)
        doing.journal.log(backups.RUN_COMPLETE, sync=True, summary=report.summary())
        report.stopped = doing.stopped_sentence(str(run.path), the_plan.kind)
    finally:
        doing.journal.flush()  # the steps of a run cut short by an exception (never a milestone)
        run.close()
    return report
