"""Bring sessions left under another account into the active one (class E).

Claude Desktop lists only the records in the ``<account>/<org>`` folder of the
account it is signed in to.  After an account switch, a phantom sign-in or a
plan migration, sessions sit in a folder the app no longer reads (storage
reference §6, class E).  Adopting one *copies* its record into the active
folder through the engine; the original stays where it was, so adopting can
never lose it, and undo removes the copy.

Skipped, and said so:

* a session deleted in the app (a tombstone names it, in any folder);
* an id already in the active folder: identical bytes need nothing; a
  different copy is kept as it is, both copies stay, and the plan says so;
* a record whose ``cliSessionId`` another record in the active folder already
  has (the app would show one conversation twice);
* links, and sessions with no copy that loads.

A session whose only good copy is a ``.tmp``, or whose record needs only the
normalisation that ``repair`` does, is adopted as the fixed ``.json``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from app.core import copies, fsops, repair
from app.core.engine import COPY, WRITE, Item
from app.core.kinds import Kind
from app.core.plans import Action, FileChange, Plan, bare_id, named_sessions
from app.core.records import FolderReport, ScanResult, Session
from app.core.repair import LEAVE, NOTHING, SKIP_DELETED, SKIP_LINK
from app.core.runcheck import Snapshot

ADOPT = Kind.ADOPT.value  # the action's name: the same word as its kind


def other_account_sessions(scan: ScanResult) -> list[Session]:
    """The sessions adopt is for: another account's, another org folder's, or
    (class X) the other install's."""
    return [s for s in scan.sessions if not s.active or s.fix == Kind.ADOPT.value]


def target_of(scan: ScanResult, session: Session) -> FolderReport | None:
    """The folder report whose active folder gets the session: its own data
    folder's, or, for a session in the install Claude Desktop does not read
    (class X), the live one's."""
    folder = scan.folder_of(session)
    if folder is not None and folder.live is False:
        return next((f for f in scan.folders if f.live), None)
    return folder


def _tombstoned(session: Session, folder: FolderReport) -> bool:
    names = folder.tombstones
    return session.tombstoned or session.id in names or (session.cli_session_id or "") in names


def plan_session(session: Session, folder: FolderReport | None, in_active: dict[tuple[str, str], Session],
                 cli_in_active: dict[tuple[str, str], Session], planned: dict[str, str]) -> Action:
    """What adopting one session does.  ``in_active``: the active folder's
    sessions by id; ``cli_in_active``: by cliSessionId; ``planned``: the
    target paths already claimed in this plan, with their new bytes' hash."""
    if session.active and folder is not None and session.folder == folder.active_folder:
        return Action(session, NOTHING, "already in the active account")
    if folder is None or folder.active_folder is None:
        return Action(session, LEAVE, "no folder of the active account was found to copy it into "
                                      "(open Claude Desktop once, signed in, so it makes one)")
    if _tombstoned(session, folder):
        return Action(session, SKIP_DELETED, "deleted in Claude Desktop (a tombstone exists); never brought back")
    link = repair.link_problem(session)
    if link:
        return Action(session, SKIP_LINK, f"{link}; links are never followed or copied")
    best = copies.best_copy(session)
    if best is None:
        return Action(session, LEAVE, "no copy of this session loads, and none can be fixed")
    try:
        if best.fixed is not None:
            data = best.fixed.data
            sha, size = fsops.sha256_bytes(data), len(data)
        else:
            data = None
            sha, size = fsops.sha256_file(best.file.path)
    except OSError as exc:
        return Action(session, LEAVE, f"its files could not be read ({fsops.describe_error(exc)})")
    target = os.path.join(folder.active_folder, session.id + ".json")
    there = in_active.get((folder.active_folder, bare_id(session.id)))
    if there is not None or target in planned:
        current = planned.get(target)
        if current is None and there is not None and there.json is not None:
            try:
                current = fsops.sha256_file(there.json.path)[0]
            except OSError:
                current = None
        if current == sha:
            return Action(session, NOTHING, "an identical copy is already in the active account")
        return Action(session, LEAVE, "a different copy of this session is already in the active account; "
                                      "both are kept as they are")
    same_link = cli_in_active.get((folder.active_folder, session.cli_session_id or ""))
    if same_link is not None:
        return Action(session, LEAVE, f"the active account already has {same_link.id} for the same conversation; "
                                      "a second record would show it twice, so both are kept as they are")
    planned[target] = sha
    after = Snapshot(sha, size)
    if data is None:
        item = Item(COPY, target, source=best.file.path, source_sha256=sha)
        where = done_where = "its .tmp copy" if best.file is session.tmp else "its record"
    else:
        item = Item(WRITE, target, data=data)
        where = f"its record, fixed ({'; '.join(best.fixed.notes)})" if best.fixed else "its record"
        done_where = f"its record, fixed ({'; '.join(best.fixed.done)})" if best.fixed else "its record"
    into = f"into the active account ({folder.active_account}/{folder.active_org})"
    return Action(session, ADOPT, f"{where} will be copied {into}; the original stays where it is",
                  (FileChange(target, None, after),), (item,),
                  done=f"{done_where} was copied {into}; the original is where it was")


def plan(scan: ScanResult, ids: Iterable[str] | None = None) -> Plan:
    """Adopt every session of another account, or the ones named."""
    named = named_sessions(scan, ids)
    chosen = other_account_sessions(scan) if named is None else named
    actives = {f.active_folder for f in scan.folders if f.active_folder}
    in_active = {(s.folder, bare_id(s.id)): s for s in scan.sessions if s.folder in actives}
    cli_in_active = {(s.folder, s.cli_session_id): s for s in scan.sessions
                     if s.folder in actives and s.cli_session_id}
    planned: dict[str, str] = {}
    actions = [plan_session(s, target_of(scan, s), in_active, cli_in_active, planned) for s in chosen]
    return Plan(actions, [f.data_dir for f in scan.folders], kind=Kind.ADOPT)
