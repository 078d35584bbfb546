"""The repair planner: what bringing back each session that is not healthy
takes (storage reference §6, classes A, B, D).  The plan it makes is carried
out by plans.execute, like every other kind.

What a repair may do, and nothing more:

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
from collections.abc import Iterable

from app.core import conversation_files as conversation
from app.core import fsops, reasons
from app.core.copies import Candidate, best_copy  # which copy a session comes back from
from app.core.engine import MOVE, WRITE, Item
from app.core.longpaths import extended
from app.core.plans import Action, FileChange, Plan, named_sessions, snapshot
from app.core.records import HEALTHY, FileState, ScanResult, Session
from app.core.runcheck import Snapshot

PROMOTE, REPLACE, NORMALIZE = "promote", "replace", "normalize"
LEAVE, SKIP_DELETED, SKIP_LINK, NOTHING = "leave", "skip-deleted", "skip-link", "none"


# ---------------------------------------------------------------- planning


def link_problem(session: Session, folders: dict[str, str | None] | None = None) -> str | None:
    """Why the session's files may not be touched: one of them, or its
    folder, is a link.  ``folders``: what one plan found of each folder so
    far (a thousand sessions share one: looked at once)."""
    for f in (session.json, session.tmp):
        if f is not None and f.is_link:
            return f"{os.path.basename(f.path)} is a link"
    org = session.folder
    if folders is None:
        return _folder_link(org)
    if org not in folders:
        folders[org] = _folder_link(org)
    return folders[org]


def _folder_link(org: str) -> str | None:
    for folder in (org, os.path.dirname(org)):
        if os.path.islink(extended(folder)) or (hasattr(os.path, "isjunction") and os.path.isjunction(folder)):
            return f"its folder {folder} is reached through a link"
    return None


def _problems(session: Session) -> str:
    codes = [c for c in session.reasons if c not in reasons.INFORMATIONAL and c not in reasons.OPENS
             and c != reasons.TOMBSTONED]  # what is wrong with the record itself
    return ", ".join(codes) or "no loadable copy"


def plan_session(session: Session, folders: dict[str, str | None] | None = None) -> Action:
    """What to do with one session's record (``folders``: see link_problem)."""
    if session.tombstoned:
        return Action(session, SKIP_DELETED, "deleted in Claude Desktop (a tombstone exists); never brought back")
    if session.record_status == HEALTHY:
        return Action(session, NOTHING, "its record is healthy: nothing to repair")
    link = link_problem(session, folders)
    if link:
        return Action(session, SKIP_LINK, f"{link}; links are never followed or changed")
    best = best_copy(session)
    if best is None:
        return Action(session, LEAVE, f"no copy of this session loads ({_problems(session)}), and none can be "
                                      "fixed")
    json_file, tmp_file = session.json, session.tmp
    json_path = json_file.path if json_file else os.path.join(session.folder, session.id + ".json")
    try:
        json_before = snapshot(json_path) if json_file else None
        if best.fixed is None:
            assert best.file is tmp_file and tmp_file is not None  # the .json as it is would be healthy
            return _move_tmp(session, tmp_file, json_path, json_before)
        return _normalize(session, best, json_path, json_before)
    except OSError as exc:
        return Action(session, LEAVE, f"its files could not be read ({fsops.describe_error(exc)})")


def _move_tmp(session: Session, tmp: FileState, json_path: str, json_before: Snapshot | None) -> Action:
    tmp_before = snapshot(tmp.path)
    changes = (FileChange(tmp.path, tmp_before, None),
               FileChange(json_path, json_before, Snapshot(tmp_before.sha256, tmp_before.size)))
    item = Item(MOVE, json_path, source=tmp.path, source_sha256=tmp_before.sha256,
                  target_sha256=json_before.sha256 if json_before else None)
    if json_before is None:
        return Action(session, PROMOTE, "only the unsaved .tmp copy exists, and it loads: it will become the record",
                      changes, (item,), done="the unsaved .tmp copy became the record")
    if session.json is not None and session.json.loadable:
        why = "the .tmp copy is newer than the record"
    else:
        why = f"the record will not load ({_problems(session)}), but the .tmp copy does"
    return Action(session, REPLACE, f"{why}: it will replace the record (the old one is backed up first)",
                  changes, (item,), done=f"{why}: it replaced the record (the old one is in the backup)")


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
    item = Item(WRITE, json_path, data=fixed.data, source=source, source_sha256=source_sha,
                  target_sha256=json_before.sha256 if json_before else None)
    where = "the .tmp copy" if from_tmp else "the record"
    return Action(session, NORMALIZE, f"{where} is rejected only for a small fault: {'; '.join(fixed.notes)}",
                  tuple(changes), (item,), done=f"{where} was fixed: {'; '.join(fixed.done)}")


def needs_repair(session: Session) -> bool:
    """Is there anything a repair does for this session?  Its record (if the
    files alone say it is not healthy), or its conversation left in a sandbox."""
    return session.record_status != HEALTHY or reasons.TRANSCRIPT_IN_SANDBOX in session.reasons


def plan(scan: ScanResult, ids: Iterable[str] | None = None) -> Plan:
    """The plan for every session a repair can do something for, or for the ones named."""
    named = named_sessions(scan, ids)
    chosen = [s for s in scan.sessions if needs_repair(s)] if named is None else named
    actions = []
    folders: dict[str, str | None] = {}
    for session in chosen:
        if session.record_status != HEALTHY or session.tombstoned or named is not None:
            actions.append(plan_session(session, folders))
        if reasons.TRANSCRIPT_IN_SANDBOX in session.reasons and not session.tombstoned:
            actions.append(conversation.copy_from_sandbox(session, scan.projects_dir))
    copies = any(a.action == conversation.COPY_CONVERSATION and a.items for a in actions)
    return Plan(actions, [f.data_dir for f in scan.folders], projects_root=scan.projects_dir if copies else None)
