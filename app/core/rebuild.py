"""Give a transcript without a record a new record, or a record its lost link.

Two things bring a conversation back into the sidebar (storage reference §6):

* **rebuild** (classes F and G): a transcript that no record references gets
  a new ``local_<uuid>.json`` (its uuid derived from the transcript's) in the active folder, made from what the
  transcript's head and tail say;
* **link** (class H): a record that lost its ``cliSessionId`` gets it back,
  when one transcript matches it (see :mod:`app.core.backfill`).  A transcript
  that matches such a record is linked, never rebuilt: a second record would
  list the conversation twice.

Both are opt-in: nothing here runs unless a person asks for it, and the plan,
with its evidence, is shown first.  Both go through :func:`plans.execute`, so
they are backed up, journaled and undone like every repair.

A rebuilt record holds the fields the issue names, taken from the transcript.
The others are taken *by shape* from the newest healthy record in the same
folder (the app's version decides which fields exist): a list becomes ``[]``,
an object ``{}``, a flag ``false``, a null stays null; strings and numbers are
never copied, because they are another session's values (a permission mode,
a branch).  Without such a record, sensible defaults are used.  Each new
record is checked against Claude Desktop's loader rules before it is planned.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from app.core import backfill, copies, fsops, jsjson, loader, reasons
from app.core import conversation_files as conversation
from app.core.engine import WRITE, Item
from app.core.kinds import Kind
from app.core.plans import Action, FileChange, Plan, PlanError, bare_id, named_sessions, snapshot
from app.core.records import HEALTHY, AmbiguousId, FolderReport, ScanResult, Session, complete_id
from app.core.repair import LEAVE
from app.core.runcheck import Snapshot
from app.core.transcript_index import TranscriptIndex
from app.core.transcripts import TranscriptInfo

# The actions' names: a new record is a "rebuild" (the kind's own word), a
# record given its transcript back a "link".
REBUILD, LINK = Kind.REBUILD.value, "link"

# Fields that belong to one session: never taken from another record.
PER_SESSION = frozenset({
    "sessionId", "cliSessionId", "cwd", "originCwd", "createdAt", "lastActivityAt", "lastFocusedAt", "title",
    "titleSource", "isArchived", "completedTurns", "model", "transcriptUnavailable", "branch", "worktreePath",
    "worktreeName", "sourceBranch", "prNumber", "forkedFrom", "userSelectedFolders", "enabledMcpTools",
    "starred", "isStarred", "leasedBy",
})
DEFAULTS: dict[str, Any] = {"isArchived": False, "effort": "default", "permissionMode": "default",
                            "remoteMcpServersConfig": []}
UNTITLED = "Recovered session"


def _shape(value: Any) -> tuple[bool, Any]:
    """(keep?, value) for a field taken by shape from another record."""
    if isinstance(value, bool):
        return True, False
    if isinstance(value, list):
        return True, []
    if isinstance(value, dict):
        return True, {}
    if value is None:
        return True, None
    return False, None


def record_for(info: TranscriptInfo, session_id: str, template: dict[str, Any] | None) -> dict[str, Any]:
    """A new record for the transcript ``info`` (see module doc)."""
    created = int(info.first_ms if info.first_ms is not None else info.mtime * 1000)
    last = max(created, int(info.last_ms if info.last_ms is not None else created))
    record: dict[str, Any] = {
        "sessionId": session_id, "cliSessionId": info.id, "cwd": info.cwd, "originCwd": info.cwd,
        "createdAt": created, "lastActivityAt": last,
        "title": info.title or UNTITLED, "titleSource": "user" if info.title_source == "custom-title" else "auto",
        "isArchived": False, "completedTurns": info.turns,
    }
    if info.model:
        record["model"] = info.model
    record.update({k: v for k, v in DEFAULTS.items() if k not in record})
    for name, value in (template or {}).items():
        if name in record or name in PER_SESSION:
            if name == "lastFocusedAt":
                record[name] = last  # a timestamp of this session, not the template's
            continue
        keep, shaped = _shape(value)
        if keep:
            record[name] = shaped
    return record


def encode(record: dict[str, Any]) -> bytes:
    """The bytes the app itself writes: minified UTF-8 JSON, no BOM."""
    return jsjson.stringify(record)


def template_in(scan: ScanResult, folder: str) -> dict[str, Any] | None:
    """The fields of the newest healthy record in ``folder``, for its shape."""
    healthy = [s.json for s in scan.sessions if s.folder == folder and s.status == HEALTHY and s.json is not None
               and s.json.loadable and not s.json.is_link]
    for record in healthy:  # scan order is newest first
        data = copies.read_small(record.path, 16 << 20)
        if data is None:
            continue
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def target_folder(scan: ScanResult) -> FolderReport:
    """The one data folder whose active ``<account>/<org>`` gets new records."""
    folders = [f for f in scan.folders if f.active_folder]
    if not folders:
        raise PlanError("no session folder of the signed-in account was found; open Claude Desktop once, "
                        "signed in, so that it makes one, then try again")
    if len({f.active_folder for f in folders}) > 1:
        raise PlanError("several Claude data folders were found; choose the one Claude Desktop uses with "
                        "--data-dir")
    return folders[0]


# Rebuilt records are named from their transcript, so that the dry run, the
# plan the window shows and the run itself all name the same new record.
_REBUILT = uuid.UUID("6f1c2a53-5e27-4b8e-9a43-1d0b7c9e2f61")


def rebuilt_id(transcript_id: str) -> str:
    """The id a record rebuilt from ``transcript_id`` gets: always the same."""
    return f"local_{uuid.uuid5(_REBUILT, transcript_id.lower())}"


def _rebuild_action(session: Session, folder: FolderReport, template: dict[str, Any] | None) -> Action:
    info = session.transcript
    assert info is not None and folder.active_folder is not None
    if not info.cwd:
        return Action(session, LEAVE, "its transcript does not say which folder the session ran in, so a record "
                                      "cannot be made for it")
    session_id = rebuilt_id(info.id)
    data = encode(record_for(info, session_id, template))
    verdict = loader.check_bytes(data, session_id)
    if not verdict.loadable or set(verdict.problems):
        return Action(session, LEAVE, f"the record made for it would not load ({verdict.detail or verdict.problems})"
                                      ", so none is made")
    target = os.path.join(folder.active_folder, session_id + ".json")
    after = Snapshot(fsops.sha256_bytes(data), len(data))
    turns = f"{info.turns}" if info.turns_exact else f"at least {info.turns}"
    source = (f"{turns} turn{'s' * (info.turns != 1)}; title from its {info.title_source or 'default'}"
              + ("" if template else "; no healthy record to take the shape from, so defaults are used"))
    return Action(session, REBUILD, f"a new record {session_id} will be made from the transcript ({source})",
                  (FileChange(target, None, after),), (Item(WRITE, target, data=data),),
                  done=f"a new record {session_id} was made from the transcript ({source})")


def linked_bytes(data: bytes, transcript_id: str) -> bytes | None:
    """A record's bytes with ``cliSessionId`` set and ``transcriptUnavailable``
    dropped; None if that cannot be done without changing anything else."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    value["cliSessionId"] = transcript_id
    value.pop("transcriptUnavailable", None)
    try:
        return encode(value)
    except (ValueError, RecursionError):  # a NaN the lenient parser let through
        return None


def _link_action(link: backfill.Link) -> Action:
    record = link.session
    if record.json is None or record.json.is_link:
        return Action(record, LEAVE, "its record is not a plain file")
    data = copies.read_small(record.json.path)
    new = linked_bytes(data, link.transcript.id) if data is not None else None
    if data is None or new is None or not loader.check_bytes(new, record.id).loadable:
        return Action(record, LEAVE, "its record could not be rewritten safely")
    before = snapshot(record.json.path)
    if before.sha256 != fsops.sha256_bytes(data):
        return Action(record, LEAVE, "its record changed while it was read; scan again")
    after = Snapshot(fsops.sha256_bytes(new), len(new))
    was = (f"cliSessionId was {'null' if record.cli_session_id is None else record.cli_session_id}"
           f"{', and transcriptUnavailable is dropped' if record.transcript_unavailable else ''}")
    evidence = "; ".join(link.evidence)
    item = Item(WRITE, record.json.path, data=new, target_sha256=before.sha256)
    return Action(record, LINK, f"it will be linked to transcript {link.transcript.id} ({was}): {evidence}",
                  (FileChange(record.json.path, before, after),), (item,),
                  done=f"it was linked to transcript {link.transcript.id} ({was}): {evidence}")


def plan(scan: ScanResult, ids: Iterable[str] | None = None, mirror: str | None = None) -> Plan:
    """Rebuild every transcript-only session, link every record that lost
    its transcript (or points at none), and set aside the stubs that shadow a
    conversation; or only the ones named (a transcript id, or a record's id).
    With ``mirror``, install that file as the named SSH session's mirror."""
    if mirror is not None:
        return _mirror_plan(scan, ids, mirror)
    links_by_transcript = {link.transcript.id: link for link in scan.links}
    links_by_record = {bare_id(link.session.id): link for link in scan.links}
    shadowed = [s for s in scan.sessions if reasons.STUB_SHADOWS in s.reasons and not s.tombstoned]
    chosen = list(scan.transcript_only)
    if ids is not None:
        known = {bare_id(s.id) for s in scan.transcript_only} | set(links_by_record) | \
            {bare_id(s.id) for s in shadowed}
        records = {bare_id(s.id) for s in scan.sessions}
        try:  # scan's table shows ids cut short: "0640ca29-1da2-…" names its transcript too
            wanted = {complete_id(bare_id(i), sorted(known | records)) for i in ids}
        except AmbiguousId as exc:
            raise PlanError(str(exc)) from None
        unknown = sorted(wanted - known)
        if unknown:
            hint = (" (it is a record, and nothing a rebuild does applies to it)" if unknown[0] in records
                    else "")
            raise PlanError(f"no transcript without a record, and no record missing its transcript, is "
                            f"{unknown[0]}{hint}")
        chosen = [s for s in scan.transcript_only
                  if bare_id(s.id) in wanted or (s.id in links_by_transcript
                                                 and bare_id(links_by_transcript[s.id].session.id) in wanted)]
        shadowed = [s for s in shadowed if bare_id(s.id) in wanted]
    rebuilt = [s for s in chosen if s.id not in links_by_transcript and reasons.STUB not in s.reasons]
    folder = target_folder(scan) if rebuilt else None
    template = template_in(scan, folder.active_folder) if folder and folder.active_folder else None
    actions = []
    for session in chosen:
        link = links_by_transcript.get(session.id)
        if link is not None:
            actions.append(_link_action(link))
        elif reasons.STUB in session.reasons:
            actions.append(Action(session, LEAVE, "it holds no conversation (a stub): no record is made from it"))
        else:
            assert folder is not None
            actions.append(_rebuild_action(session, folder, template))
    index = TranscriptIndex(scan.projects_dir)
    for session in shadowed:
        stubs = [p for p in index.all_copies(session.cli_session_id) if not index.content(p).has_conversation]
        actions.append(conversation.set_aside_stubs(session, stubs, projects_root=scan.projects_dir))
    changes_transcripts = any(a.action == conversation.SET_ASIDE_STUB for a in actions)
    return Plan(actions, [f.data_dir for f in scan.folders], kind=Kind.REBUILD,
                projects_root=scan.projects_dir if changes_transcripts else None)


def _mirror_plan(scan: ScanResult, ids: Iterable[str] | None, mirror: str) -> Plan:
    """``rebuild --mirror FILE --transcript SESSION``: one SSH session, one file."""
    named = list(ids or [])
    if len(named) != 1:
        raise PlanError("--mirror installs one file for one SSH session: name that session (its id) once")
    found = named_sessions(scan, named)  # PlanError, in one sentence, for an id that names no record
    assert found  # one id was named, and it was found
    session = found[0]
    index = TranscriptIndex(scan.projects_dir)
    target = index.ssh_mirror(session.cli_session_id) if session.cli_session_id else None
    action = conversation.install_mirror(session, target, os.path.abspath(mirror))
    return Plan([action], [f.data_dir for f in scan.folders], kind=Kind.REBUILD,
                projects_root=scan.projects_dir if action.items else None)
