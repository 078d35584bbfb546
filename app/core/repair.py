"""Repair: turn a scan into a plan, then carry the plan out with backups.

The plan is data.  For each session that is not healthy it says what will
happen and why, and it holds the exact engine items that do it, each pinned
to the bytes the plan saw.  A front end shows the plan (the window in its
confirmation, the CLI for ``--dry-run``); :func:`execute` carries out exactly
that list and nothing else.

What a plan may do, and nothing more (storage reference §6, classes A, B, D):

* promote   - only the ``.tmp`` exists and it loads: it becomes the ``.json``;
* replace   - the ``.json`` is stale or will not load, and the ``.tmp`` holds
              the newest loadable copy: it replaces the ``.json``;
* normalize - the newest copy is rejected only for a byte-order mark or a null
              timestamp: its fixed bytes become the ``.json``.

A session with no good copy is left exactly where it is, and says so.  A
deleted (tombstoned) session is never brought back.  A session whose files or
folders are links is never touched.  The only file a plan ever creates or
rewrites in Claude's folder is ``local_<id>.json``; what it replaces or
removes is first copied into the run's backup folder.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import backups, claude_process, fsops, normalize
from app.core import engine as E
from app.core import reasons as R
from app.core.backups import FileChange, Snapshot
from app.core.longpaths import extended
from app.core.locations import DataDir
from app.core.records import HEALTHY, FileState, ScanResult, Session

PROMOTE, REPLACE, NORMALIZE = "promote", "replace", "normalize"
LEAVE, SKIP_DELETED, SKIP_LINK, NOTHING = "leave", "skip-deleted", "skip-link", "none"
PLANNED, SKIPPED = E.PLANNED, "skipped"
OUTCOMES = (E.DONE, E.IDENTICAL, E.SOURCE_KEPT, E.FAILED, SKIPPED, E.CANCELLED, PLANNED)


class PlanError(Exception):
    """What was asked cannot be planned (an unknown session id, say)."""


@dataclass
class Action:
    """What will happen to one session, and why."""

    session: Session
    action: str
    reason: str
    changes: tuple[FileChange, ...] = ()
    items: tuple[E.Item, ...] = ()

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def changes_files(self) -> bool:
        return bool(self.items)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "reason": self.reason, "title": self.session.title,
                "account": self.session.account, "org": self.session.org,
                "files": [{"path": c.path, "before": c.before.to_json() if c.before else None,
                           "after": c.after.to_json() if c.after else None} for c in self.changes]}


@dataclass
class Plan:
    actions: list[Action]
    data_dirs: list[DataDir] = field(default_factory=list)  # the folders it was made from
    kind: str = "repair"  # what the backup run is called: repair, adopt, rebuild

    @property
    def to_do(self) -> list[Action]:
        return [a for a in self.actions if a.changes_files]

    def fingerprint(self) -> tuple[tuple[str, str, tuple[tuple[str, str | None], ...]], ...]:
        """What the plan does, as comparable data: for each session its
        action, and every file it touches with the bytes it holds now.  Two
        plans with one fingerprint do the same thing (a rebuilt record's new
        id may differ; what it is made from may not)."""
        return tuple((a.id, a.action, tuple((c.path if c.before else os.path.dirname(c.path),
                                             c.before.sha256 if c.before else None) for c in a.changes))
                     for a in self.actions)

    def to_json(self) -> dict[str, Any]:
        return {"actions": [a.to_json() for a in self.actions]}


# ---------------------------------------------------------------- planning


def snapshot(path: str) -> Snapshot:
    """What a file holds now: the bytes' hash and size, its mtime and mode."""
    st = os.lstat(extended(path))
    sha, size = fsops.sha256_file(path)
    return Snapshot(sha, size, st.st_mtime_ns, st.st_mode & 0o7777)


_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))


def read_small(path: str, limit: int = 64 << 20) -> bytes | None:
    """A small record's bytes (a fixable record is never huge: it parsed).
    Never through a link, never blocking on a pipe put in its place."""
    try:
        fd = os.open(extended(path), _READ_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, total = [], 0
        while total <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Candidate:
    file: FileState
    last_ms: float
    rank: int  # ties go to the copy that needs no change, and to the .json
    fixed: normalize.Fixed | None = None


def candidates(session: Session) -> list[Candidate]:
    out = []
    for rank, f in ((3, session.json), (2, session.tmp)):
        if f is not None and f.loadable:
            out.append(Candidate(f, f.last_activity_ms or 0.0, rank))
    for rank, f in ((1, session.json), (0, session.tmp)):
        if f is None or f.loadable or not normalize.can_fix(f.problems):
            continue
        data = read_small(f.path)
        fixed = normalize.normalized(data, session.id, (f.mtime or 0) * 1000) if data is not None else None
        if fixed is not None:
            out.append(Candidate(f, fixed.last_activity_ms or 0.0, rank, fixed))
    return out


def link_problem(session: Session) -> str | None:
    for f in (session.json, session.tmp):
        if f is not None and f.is_link:
            return f"{os.path.basename(f.path)} is a link"
    org = session.folder
    for folder in (org, os.path.dirname(org)):
        if os.path.islink(extended(folder)) or (hasattr(os.path, "isjunction") and os.path.isjunction(folder)):
            return f"its folder {folder} is reached through a link"
    return None


def _problems(session: Session) -> str:
    codes = [c for c in session.reasons if c not in R.INFORMATIONAL and c != R.TOMBSTONED]
    return ", ".join(codes) or "no loadable copy"


def plan_session(session: Session) -> Action:
    """What to do with one session."""
    if session.status == HEALTHY:
        return Action(session, NOTHING, "healthy: nothing to do")
    if session.tombstoned:
        return Action(session, SKIP_DELETED, "deleted in Claude Desktop (a tombstone exists); never brought back")
    link = link_problem(session)
    if link:
        return Action(session, SKIP_LINK, f"{link}; links are never followed or changed, so it was left as it is")
    found = candidates(session)
    if not found:
        return Action(session, LEAVE, f"no copy of this session loads ({_problems(session)}); "
                                      "it was left exactly as it is")
    best = max(found, key=lambda c: (c.last_ms, c.rank))
    json_file, tmp_file = session.json, session.tmp
    json_path = json_file.path if json_file else os.path.join(session.folder, session.id + ".json")
    try:
        json_before = snapshot(json_path) if json_file else None
        if best.fixed is None:
            assert best.file is tmp_file and tmp_file is not None  # the .json as it is would be healthy
            return _move_tmp(session, tmp_file, json_path, json_before)
        return _normalize(session, best, json_path, json_before)
    except OSError as exc:
        return Action(session, LEAVE, f"could not read its files ({fsops.describe_error(exc)}); "
                                      "it was left as it is")


def _move_tmp(session: Session, tmp: FileState, json_path: str, json_before: Snapshot | None) -> Action:
    tmp_before = snapshot(tmp.path)
    changes = (FileChange(tmp.path, tmp_before, None),
               FileChange(json_path, json_before, Snapshot(tmp_before.sha256, tmp_before.size)))
    item = E.Item(E.MOVE, json_path, source=tmp.path, source_sha256=tmp_before.sha256,
                  target_sha256=json_before.sha256 if json_before else None)
    if json_before is None:
        reason = "only the unsaved .tmp copy exists and it loads: it becomes the record"
        return Action(session, PROMOTE, reason, changes, (item,))
    if session.json is not None and session.json.loadable:
        reason = "the .tmp copy is newer than the record: it replaces the record (the old one is backed up)"
    else:
        reason = (f"the record will not load ({_problems(session)}) but the .tmp copy does: "
                  "it replaces the record (the old one is backed up)")
    return Action(session, REPLACE, reason, changes, (item,))


def _normalize(session: Session, best: Candidate, json_path: str, json_before: Snapshot | None) -> Action:
    fixed = best.fixed
    assert fixed is not None
    after = Snapshot(fsops.sha256_bytes(fixed.data), len(fixed.data))
    from_tmp = best.file is session.tmp
    changes = [FileChange(json_path, json_before, after)]
    source = source_sha = None
    if from_tmp:
        tmp_before = snapshot(best.file.path)
        changes.insert(0, FileChange(best.file.path, tmp_before, None))
        source, source_sha = best.file.path, tmp_before.sha256
    item = E.Item(E.WRITE, json_path, data=fixed.data, source=source, source_sha256=source_sha,
                  target_sha256=json_before.sha256 if json_before else None)
    where = "the .tmp copy" if from_tmp else "the record"
    reason = f"{where} is rejected only for a fixable reason: {'; '.join(fixed.notes)}"
    return Action(session, NORMALIZE, reason, tuple(changes), (item,))


def plan(scan: ScanResult, ids: Iterable[str] | None = None) -> Plan:
    """The plan for every session that is not healthy, or for the ones named."""
    named = named_sessions(scan, ids)
    chosen = [s for s in scan.sessions if s.status != HEALTHY] if named is None else named
    return Plan([plan_session(s) for s in chosen], [f.data_dir for f in scan.folders])


def named_sessions(scan: ScanResult, ids: Iterable[str] | None) -> list[Session] | None:
    """The records a user named (None when they named none), in scan order;
    PlanError, in one sentence, for an id that is no record."""
    if ids is None:
        return None
    wanted = {bare_id(i) for i in ids}
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
        return any(r.outcome == E.FAILED for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "backup_dir": self.backup_dir, "dry_run": self.dry_run,
                "results": [r.to_json() for r in self.results], "summary": self.summary(), "stopped": self.stopped}


def _outcome(action: Action, outcome: str, detail: str) -> Outcome:
    return Outcome(action.id, action.action, outcome, detail, action.session.title)


def dry_run(the_plan: Plan, engine: E.Engine | None = None) -> Report:
    """The plan as a report, each change checked against the disk as it is now
    (the engine's preview), so that what would fail says so.  Changes nothing."""
    engine = engine or E.Engine()
    results = []
    for action in the_plan.actions:
        if not action.changes_files:
            results.append(_outcome(action, SKIPPED, action.reason))
            continue
        previews = [engine.preview(item) for item in action.items]
        failed = [p for p in previews if p.outcome == E.FAILED]
        if failed:
            results.append(_outcome(action, E.FAILED, f"would fail: {failed[0].detail}"))
        elif all(p.outcome == E.IDENTICAL for p in previews):
            results.append(_outcome(action, E.IDENTICAL, "already repaired"))
        else:
            results.append(_outcome(action, PLANNED, action.reason))
    return Report(None, None, True, results)


def _manifest(actions: list[Action]) -> list[dict[str, Any]]:
    entries, index = [], 0
    for action in actions:
        files = []
        for change in action.changes:
            backup = None
            if change.before is not None:
                index += 1
                backup = f"{backups.FILES}/{index:05d}-{os.path.basename(change.path)}"
            files.append({"path": change.path, "before": change.before.to_json() if change.before else None,
                          "after": change.after.to_json() if change.after else None, "backup": backup})
        entries.append({"id": action.id, "action": action.action, "reason": action.reason,
                        "title": action.session.title, "account": action.session.account,
                        "org": action.session.org, "files": files})
    return entries


def _back_up(run: backups.Run, engine: E.Engine, action: Action, entry: dict[str, Any]) -> Outcome | None:
    """A verified copy of every file the action changes; an outcome if that failed."""
    for change, spec in zip(action.changes, entry["files"], strict=True):
        if change.before is None:
            continue
        saved = engine.apply(E.Item(E.COPY, str(run.path / spec["backup"]), source=change.path,
                                    source_sha256=change.before.sha256, direct=True))
        if not saved.ok:
            return _outcome(action, E.FAILED, f"not changed: the backup failed ({saved.detail})")
    return None


def _apply(engine: E.Engine, action: Action) -> Outcome:
    """Change one session's files, its backups being durable already."""
    results = []
    for item in action.items:
        results.append(engine.apply(item))
        if results[-1].outcome == E.FAILED:
            break
    outcomes = {r.outcome for r in results}
    warnings = [w for r in results for w in r.warnings]
    if E.FAILED in outcomes:
        detail = next(r.detail for r in results if r.outcome == E.FAILED)
        return _outcome(action, E.FAILED, detail + "; the backup is kept")
    if E.SOURCE_KEPT in outcomes:
        return _outcome(action, E.SOURCE_KEPT, next(r.detail for r in results if r.outcome == E.SOURCE_KEPT))
    if outcomes == {E.IDENTICAL}:
        return _outcome(action, E.IDENTICAL, "already repaired")
    return _outcome(action, E.DONE, "; ".join([action.reason, *warnings]))


# Sessions per batch: backed up together, their backups made durable with one
# folder fsync, then changed together with one fsync of Claude's folder.
BATCH = 64


class _Journal:
    """The run's journal, for a run in progress: a line that cannot be
    written (a full disk) is remembered, never raised in the middle of a
    file's change; the run then stops before its next session."""

    def __init__(self, run: backups.Run):
        self.run = run
        self.error: OSError | None = None

    def log(self, event: str, sync: bool = False, **fields: Any) -> None:
        if self.error is not None:
            return
        try:
            self.run.log(event, sync, **fields)
        except OSError as exc:
            self.error = exc


@dataclass
class _Progress:
    """Where a run is: what each session came to, and why it stopped early."""

    outcomes: dict[int, Outcome]
    done: int = 0
    stopped: str | None = None
    by_claude: bool = False


def execute(the_plan: Plan, backup_root: Path, engine: E.Engine | None = None,
            progress: Callable[[int, int, Action], bool] | None = None,
            guard: claude_process.Guard | None = None) -> Report:
    """Carry out the plan: for each session, back up the files it changes,
    then change them.  ``progress(done, total, action)`` is called before each
    session; returning False cancels the rest (the finished ones stay
    finished, and can be undone).  Between sessions, ``guard`` looks whether
    Claude Desktop has started: if so, the run stops there.  Sessions that
    need nothing are reported as skipped.  Call it through
    transaction.run, which holds the backup folder's lock and has recovered
    interrupted runs first."""
    engine = engine or E.Engine()
    backups.check_root(backup_root, the_plan.data_dirs)
    to_do = the_plan.to_do
    state = _Progress({id(a): _outcome(a, SKIPPED, a.reason) for a in the_plan.actions if not a.changes_files})
    if not to_do:
        return Report(None, None, False, list(state.outcomes.values()))
    entries = _manifest(to_do)
    try:
        run = backups.Run.create(backup_root, entries, the_plan.kind)
    except OSError as exc:
        why = "the disk is full" if exc.errno == errno.ENOSPC else fsops.describe_error(exc)
        raise backups.BackupError(f"nothing was changed: the backup could not be started in {backup_root} "
                                  f"({why})") from None
    journal = _Journal(run)
    engine.on_step = lambda item, step: journal.log("step", path=item.target, state=step)
    work = list(zip(to_do, entries, strict=True))
    try:
        with engine.batched_dir_syncs():
            for start in range(0, len(work), BATCH):
                _run_batch(work[start:start + BATCH], start, len(to_do), run, journal, engine, progress, guard, state)
                if engine.cancelled or state.stopped:
                    break
        for action in to_do:
            state.outcomes.setdefault(id(action), _not_started(action, state))
        report = Report(run.run_id, str(run.path), False, [state.outcomes[id(a)] for a in the_plan.actions],
                        stopped_by_claude=state.by_claude)
        journal.log(backups.RUN_COMPLETE, sync=True, summary=report.summary())
        report.stopped = _stopped_sentence(state, journal, report, the_plan.kind)
    finally:
        engine.on_step = None
        run.close()
    return report


def _run_batch(batch: list[tuple[Action, dict[str, Any]]], start: int, total: int, run: backups.Run,
               journal: _Journal, engine: E.Engine, progress: Callable[[int, int, Action], bool] | None,
               guard: claude_process.Guard | None, state: _Progress) -> None:
    """Back up a batch of sessions, make the backups durable, then change them."""
    failed_backups = {}
    for action, entry in batch:
        if engine.cancelled:
            break
        failed_backups[id(action)] = _back_up(run, engine, action, entry)
        journal.log(backups.BACKED_UP, id=action.id)
    # Every backup of this batch is durable before any original changes.
    engine.sync_dirs()
    for offset, (action, _) in enumerate(batch):
        if journal.error is not None:
            state.stopped = "journal"
            return
        if progress is not None and progress(start + offset, total, action) is False:
            engine.cancel()
        found = guard.appeared() if guard is not None else []
        if found:
            state.stopped, state.by_claude = claude_process.message(found), True
            return
        if engine.cancelled or id(action) not in failed_backups:
            return
        outcome = failed_backups[id(action)] or _apply(engine, action)
        state.outcomes[id(action)] = outcome
        state.done += outcome.outcome in (E.DONE, E.SOURCE_KEPT)
        journal.log(backups.ACTION_DONE, id=action.id, outcome=outcome.outcome)
    engine.sync_dirs()


def _not_started(action: Action, state: _Progress) -> Outcome:
    why = ("not started: Claude Desktop started" if state.by_claude else
           "not started: the journal could not be written" if state.stopped else "cancelled before it started")
    return _outcome(action, E.CANCELLED, why + "; not changed")


def _stopped_sentence(state: _Progress, journal: _Journal, report: Report, kind: str) -> str | None:
    """Why the run ended early, and what that means for the sessions done."""
    done = state.done
    sessions = f"{done} session{'s' * (done != 1)}"
    if state.by_claude:
        return (f"{state.stopped} The {kind} stopped there: {sessions} changed before that stay as they are "
                f"(and can be undone); the rest were not touched. Quit Claude Desktop fully, then try again.")
    if journal.error is None:
        return None
    why = "the disk is full" if journal.error.errno == errno.ENOSPC else fsops.describe_error(journal.error)
    if not done:
        return f"The {kind} stopped before changing anything: its journal could not be written ({why})."
    return (f"The {kind} stopped after {sessions}: its journal could not be written ({why}). The next repair "
            f"undoes those {done} first, from their backups in {report.backup_dir}, then repairs again; "
            "nothing is lost.")
