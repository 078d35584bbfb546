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

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import backups, fsops, normalize
from app.core import engine as E
from app.core import reasons as R
from app.core.backups import FileChange, Snapshot
from app.core.longpaths import extended
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
    data_dirs: list[Path] = field(default_factory=list)
    kind: str = "repair"  # what the backup run is called: repair, adopt, rebuild

    @property
    def to_do(self) -> list[Action]:
        return [a for a in self.actions if a.changes_files]

    def to_json(self) -> dict[str, Any]:
        return {"actions": [a.to_json() for a in self.actions]}


# ---------------------------------------------------------------- planning


def snapshot(path: str) -> Snapshot:
    """What a file holds now: the bytes' hash and size, its mtime and mode."""
    st = os.lstat(extended(path))
    sha, size = fsops.sha256_file(path)
    return Snapshot(sha, size, st.st_mtime_ns, st.st_mode & 0o7777)


def read_small(path: str, limit: int = 64 << 20) -> bytes | None:
    """A small record's bytes (a fixable record is never huge: it parsed)."""
    try:
        if os.lstat(extended(path)).st_size > limit:
            return None
        with open(extended(path), "rb") as f:
            return f.read(limit + 1)
    except OSError:
        return None


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
    return Plan([plan_session(s) for s in chosen], [f.data_dir.path for f in scan.folders])


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
                "results": [r.to_json() for r in self.results], "summary": self.summary()}


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


def execute(the_plan: Plan, backup_root: Path, engine: E.Engine | None = None,
            progress: Callable[[int, int, Action], bool] | None = None) -> Report:
    """Carry out the plan: for each session, back up the files it changes,
    then change them.  ``progress(done, total, action)`` is called before each
    session; returning False cancels the rest (the finished ones stay
    finished, and can be undone).  Sessions that need nothing are reported as
    skipped.  The caller holds :func:`backups.exclusive` and has checked that
    Claude Desktop is not running."""
    engine = engine or E.Engine()
    backups.check_root(backup_root, the_plan.data_dirs)
    to_do = the_plan.to_do
    outcomes: dict[int, Outcome] = {id(a): _outcome(a, SKIPPED, a.reason) for a in the_plan.actions
                                    if not a.changes_files}
    if not to_do:
        return Report(None, None, False, list(outcomes.values()))
    entries = _manifest(to_do)
    run = backups.Run.create(backup_root, entries, the_plan.kind)
    engine.on_step = lambda item, state: run.log("step", path=item.target, state=state)
    work = list(zip(to_do, entries, strict=True))
    try:
        with engine.batched_dir_syncs():
            for start in range(0, len(work), BATCH):
                batch = work[start:start + BATCH]
                failed_backups = {}
                for action, entry in batch:
                    if engine.cancelled:
                        break
                    failed_backups[id(action)] = _back_up(run, engine, action, entry)
                    run.log(backups.BACKED_UP, id=action.id)
                # Every backup of this batch is durable before any original changes.
                engine.sync_dirs()
                for offset, (action, _) in enumerate(batch):
                    if progress is not None and progress(start + offset, len(to_do), action) is False:
                        engine.cancel()
                    if engine.cancelled or id(action) not in failed_backups:
                        outcomes[id(action)] = _outcome(action, E.CANCELLED, "cancelled before it started; "
                                                                             "not changed")
                        continue
                    outcomes[id(action)] = failed_backups[id(action)] or _apply(engine, action)
                    run.log(backups.ACTION_DONE, id=action.id, outcome=outcomes[id(action)].outcome)
                engine.sync_dirs()
                if engine.cancelled:
                    for action, _ in work[start + BATCH:]:
                        outcomes[id(action)] = _outcome(action, E.CANCELLED, "cancelled before it started; "
                                                                             "not changed")
                    break
        report = Report(run.run_id, str(run.path), False, [outcomes[id(a)] for a in the_plan.actions])
        run.log(backups.RUN_COMPLETE, sync=True, summary=report.summary())
    finally:
        engine.on_step = None
        run.close()
    return report


def repair_now(data_dirs: list, backup_root: Path, engine: E.Engine | None = None,
               progress: Callable[[int, int, Action], bool] | None = None) -> Report:
    """What ``repair`` does once Claude Desktop is known to be closed and the
    user has agreed: holding the backup folder's lock, undo any run that was
    interrupted, then scan, plan and carry out the plan.  Raises
    backups.Busy while another repair runs, backups.BackupError when backups
    cannot be written."""
    from app.core.locations import transcripts_dir
    from app.core.scan import scan

    backups.check_root(backup_root, [d.path for d in data_dirs])
    backups.ensure_writable(backup_root)
    with backups.exclusive(backup_root):
        backups.recover(backup_root, engine)
        result = scan(data_dirs, transcripts_dir(data_dirs=data_dirs), details=False)
        return execute(plan(result), backup_root, engine, progress)
