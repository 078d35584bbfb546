"""Does it show, and does it open?  Claude Desktop's way from disk to an open
conversation, walked once per scan, and each session's verdict from it.

A user judges a session by what the app shows, not by its record.  So each
record is followed along the path the app takes (failures reference §0.1):

1. the data folder: when two hold sessions (an MSIX and a classic install),
   only one is live (class X);
2. the account and org folder it lists: the active one (class E);
3. the records that load: its loader's rules (classes A to D);
4. the deleted ones: a tombstone hides a session for good;
5. where it looks for the conversation: by ``cliSessionId``, in the global
   projects folder only, first match wins; an SSH session's in its local
   mirror ``ssh-<cliSessionId>/`` (classes O, Q, R, T);
6. whether what it finds there holds a conversation (class V).

The verdict, in the words users see:

* healthy: it is listed and its conversation opens (a session with no turns
  yet needs none).  A session of another account is healthy too: it shows
  when the user signs in there (``fix``: adopt);
* orphaned: it is not listed, or does not open, and Session Rescue can bring
  it back (``fix`` says with which command); also when the record can come
  back but its conversation is gone (it says so);
* corrupt: nothing is left that could bring it back;
* deleted: the user deleted it in the app; never brought back.

``opens`` is whether the app would list and open it as it stands; None when
that cannot be known here (no projects folder on this computer): then the
status is the record's own, as the files alone say.  Each session is judged
on its own; what concerns a folder as a whole (one record that blanks the
whole list) is said once, on the folder.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.core import copies, fsops, reasons, slug
from app.core.kinds import Kind
from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED, FolderReport, ScanResult, Session, Step
from app.core.transcript_index import CONVERSATION, STUB, UNREADABLE, TranscriptIndex

Trust = object  # trust.TrustFile: its verdict(cwd, windows) -> (state, sentence)
TrustStep = Callable[[str], tuple[Step, bool]]  # a folder -> its "trusted" step, and whether trusted elsewhere


@dataclass
class _Conversation:
    """Step 5 and 6 for one record: where its conversation is, and what that means."""

    ok: bool | None  # Claude Desktop finds a conversation (or needs none); None: cannot be known here
    text: str
    path: str | None = None
    codes: list[str] = field(default_factory=list)
    fix: Kind | None = None  # what brings it back, when something can
    gone: bool = False  # exists nowhere: not even as a transcript elsewhere


def judge(result: ScanResult, index: TranscriptIndex, trust: Trust | None = None, windows: bool = False) -> None:
    """Give every record of ``result`` its verdict (status, opens, fix,
    checklist and reasons), and say once what concerns a folder or the scan."""
    knowable = index.exists
    if not knowable and result.sessions:
        where = index.projects_dir or "~/.claude/projects"
        result.notes.append(f"There is no transcripts folder ({where}) on this computer, so whether each session "
                            "opens in Claude Desktop cannot be known here; sessions are judged by their records.")
    _choose_live(result.folders)
    linked = {id(link.session): link for link in result.links}
    folder_of = result.folders_of(result.sessions)
    # Records the app lists: a session of another account with a copy among
    # them has been moved (adopted) already; it shows, and needs nothing.
    listed = {s.id for s, f in zip(result.sessions, folder_of, strict=True)
              if f is not None and f.live is not False and s.active and s.folder == f.active_folder
              and s.json is not None and s.json.loadable and not s.tombstoned}
    trusted = _trust_steps(trust, windows) if trust is not None else None
    for session, folder in zip(result.sessions, folder_of, strict=True):
        _judge_one(session, folder, index if knowable else None, linked.get(id(session)), trusted,
                   session.id in listed)
    for folder in result.folders:
        _folder_notes(folder, [s for s, f in zip(result.sessions, folder_of, strict=True) if f is folder])


# ------------------------------------------------------------------ folders


def _choose_live(folders: Sequence[FolderReport]) -> None:
    """Class X: of several data folders holding sessions, the one Claude
    Desktop reads is the one its log last loaded from, else the newest."""
    holding = [f for f in folders if f.active_folder]
    if len(holding) < 2:
        return
    by_log = [f for f in holding if f.diagnosis.loaded_from and f.active_org
              and tuple(f.diagnosis.loaded_from) == (f.active_account, f.active_org)]
    live = by_log[0] if len(by_log) == 1 else max(holding, key=_newest_record)
    for f in holding:
        f.live = f is live
    live.notes.append(f"Two Claude Desktop installs keep sessions on this computer; this one is the one the app "
                      f"reads ({'its log says so' if len(by_log) == 1 else 'it was written to last'}).")


def _newest_record(folder: FolderReport) -> float:
    path = folder.active_folder or ""
    try:
        return max((e.stat().st_mtime for e in os.scandir(path) if e.name.endswith(".json")), default=0.0)
    except OSError:
        return 0.0


def _folder_notes(folder: FolderReport, sessions: list[Session]) -> None:
    listed = [s for s in sessions if s.folder == folder.active_folder]
    hiding = [s for s in listed if s.json is not None and reasons.NULL_TIMESTAMP in s.json.problems]
    for session in hiding:
        session.reasons = (*session.reasons, reasons.HIDES_LIST)
        session.checklist = (Step("loads", False, "Claude Desktop rejects this record for its missing time, and "
                                  "because of it shows no session of this account at all: fixing this one record "
                                  "brings the whole list back."), *session.checklist[1:])
    if hiding:
        shown = [s for s in listed if s.json is not None and s.json.loadable and not s.tombstoned]
        others = len(shown)
        folder.notes.append(f"{len(hiding)} session{'s' * (len(hiding) != 1)} with a missing timestamp "
                            f"hide{'s' * (len(hiding) == 1)} all {others} other{'s' * (others != 1)} in this "
                            "account: Claude Desktop shows an empty list. Repair fixes it.")
    count = getattr(folder.diagnosis, "last_loaded_count", None)
    if count == 0 and any(s.status == HEALTHY and s.opens is not False for s in listed):
        folder.notes.append("Claude Desktop's log says it loaded 0 sessions, yet this account's records are "
                            "healthy: the data is intact, and the fault is in the app (or its server). Quit "
                            "Claude Desktop fully and start it again; nothing here needs repair.")


# ----------------------------------------------------------------- sessions


_LOADS = "The record loads in Claude Desktop."
_LISTED = "It is in the account and folder Claude Desktop lists."
_STEPS: dict[tuple[str, bool | None, str], Step] = {}  # a scan of thousands shares a few dozen steps


def _step(name: str, ok: bool | None, text: str) -> Step:
    key = (name, ok, text)
    found = _STEPS.get(key)
    if found is None:
        found = Step(name, ok, text)
        if len(_STEPS) < 4096:  # texts that name a path differ per session: not worth keeping many
            _STEPS[key] = found
    return found


def _judge_one(session: Session, folder: FolderReport | None, index: TranscriptIndex | None,
               link: object | None, trusted: TrustStep | None, copy_listed: bool = False) -> None:
    if session.tombstoned:
        _verdict(session, [_step("deleted", False, "You deleted it in Claude Desktop (its tombstone says so).")],
                 list(session.reasons), DELETED, False, None, "Deleted: it is never brought back.")
        return
    record_ok, record_fix, record_text = _record(session)
    listed, place_fix, place_text, place_codes = _place(session, folder)
    if not listed and copy_listed:  # moved (adopted) already: the copy is what the app shows and opens
        _verdict(session, [_step("loads", record_ok, record_text),
                           _step("listed", True, "A copy of it is in the account Claude Desktop shows (it was moved "
                                                 "there); this one is kept as it was.")],
                 [*session.reasons, *place_codes], HEALTHY, None, None,
                 "Shows in Claude Desktop through its copy in the active account: nothing to do.")
        return
    if not listed and place_fix is not None and record_fix is not None:
        record_fix = place_fix  # moving it to the active account brings its good copy, fixed, along
    if index is None:  # whether it opens cannot be known here: its record decides, as it always did
        _by_record_alone(session, (record_ok, record_fix, record_text, listed, place_fix, place_text, place_codes))
        return
    steps = [_step("loads", record_ok, record_text), _step("listed", listed, place_text)]
    codes = [*session.reasons, *place_codes]
    if not record_ok and record_fix is None and session.completed_turns is None and not session.cli_session_id:
        talk = _Conversation(None, "Not known: no copy of its record can be read, so which conversation was its "
                                   "cannot be told.")
    else:
        talk = _conversation(session, index, link)
    steps.append(_step("conversation", talk.ok, talk.text))
    codes += talk.codes
    if session.ssh_host and folder is not None:
        steps += _ssh_host(session.ssh_host, folder, codes)
    session.conversation = talk.path
    if trusted is not None and session.cwd:
        step, other_spelling = trusted(session.cwd)
        steps.append(step)
        if other_spelling:
            codes.append(reasons.TRUST_OTHER_SPELLING)
    # Unknown (None) when the conversation cannot be judged here: then the
    # record decides, as it does without a projects folder.
    opens = (None if talk.ok is None else talk.ok) if record_ok and listed else False
    fix = record_fix or (place_fix if not listed else None) or talk.fix
    status = _status(record_ok, record_fix, place_codes, talk, opens)
    _verdict(session, steps, codes, status, opens, fix, _sentence(status, fix, talk))


_Walk = tuple[bool, "Kind | None", str, "bool | None", "Kind | None", str, tuple[str, ...]]
_ALONE: dict[_Walk, tuple[str, Kind | None, tuple[Step, ...]]] = {}


def _by_record_alone(session: Session, walk: _Walk) -> None:
    """The verdict when only the record can be judged.  The same few steps
    recur across a whole scan, so each outcome is worked out once (a scan of
    10,000 records stays as fast as it was before it judged conversations)."""
    outcome = _ALONE.get(walk)
    if outcome is None:
        record_ok, record_fix, record_text, listed, place_fix, place_text, _ = walk
        status = HEALTHY if record_ok else ORPHANED if record_fix else CORRUPT
        fix = record_fix or (place_fix if record_ok else None)
        text = _sentence(status, record_fix or place_fix)
        outcome = _ALONE[walk] = (status, fix, (Step("loads", record_ok, record_text),
                                                Step("listed", listed, place_text),
                                                Step("verdict", status == HEALTHY, text)))
    status, fix, steps = outcome
    session.status, session.opens, session.fix, session.checklist = status, None, fix.value if fix else None, steps
    if walk[6]:
        session.reasons = tuple(dict.fromkeys((*session.reasons, *walk[6])))


def _status(record_ok: bool, record_fix: Kind | None, place_codes: tuple[str, ...], talk: _Conversation,
            opens: bool | None) -> str:
    """The verdict from the walk's steps (see the module's doc)."""
    if opens or (opens is None and record_ok):
        return HEALTHY
    if not record_ok and record_fix is None:
        return CORRUPT  # no copy of the record loads, and none can be fixed
    if talk.gone:
        # The record can come back but its conversation cannot: still worth
        # bringing back (orphaned, and it says so); a record that loads
        # already, with its conversation nowhere, is beyond help.
        return ORPHANED if record_fix else CORRUPT
    if record_ok and talk.ok and place_codes == (reasons.OTHER_ACCOUNT,):
        return HEALTHY  # another account's session: it shows when the user signs in there
    return ORPHANED


def _verdict(session: Session, steps: list[Step], codes: list[str], status: str, opens: bool | None,
             fix: Kind | None, text: str) -> None:
    steps.append(_step("verdict", status == HEALTHY, text))
    session.status, session.opens, session.fix = status, opens, fix.value if fix else None
    if len(codes) != len(session.reasons):
        session.reasons = tuple(dict.fromkeys(codes))
    session.checklist = tuple(steps)


def _record(session: Session) -> tuple[bool, Kind | None, str]:
    """Step 3: does the record load?  If not, can a repair make it?"""
    js = session.json
    if js is not None and js.loadable and session.record_status == HEALTHY:
        return True, None, _LOADS
    if session.record_status == ORPHANED:
        return False, Kind.REPAIR, "Claude Desktop could not save this session, but a good copy of it exists."
    if copies.best_copy(session) is not None:
        return False, Kind.REPAIR, ("Claude Desktop rejects the record for a small fault (a byte-order mark, or a "
                                    "missing time) that can be fixed.")
    return False, None, "No copy of the record loads, and none can be fixed."


def _place(session: Session, folder: FolderReport | None) -> tuple[bool | None, Kind | None, str, tuple[str, ...]]:
    """Steps 1 and 2: is it where Claude Desktop lists sessions?"""
    if folder is not None and folder.live is False:
        return False, Kind.ADOPT, ("It is in the data folder of another Claude Desktop install, which the app "
                                   "does not read: moving it to the active account brings it back."), \
            (reasons.OTHER_INSTALL,)
    if not session.active:
        return False, Kind.ADOPT, ("Another account: it shows when you sign in to that account, or move it to the "
                                   "active one."), (reasons.OTHER_ACCOUNT,)
    if folder is not None and folder.active_folder and session.folder != folder.active_folder:
        return False, Kind.ADOPT, ("It is in an organisation folder of this account that Claude Desktop does not "
                                   "read now."), (reasons.OTHER_ACCOUNT,)
    return True, None, _LISTED, ()


def _conversation(session: Session, index: TranscriptIndex, link: object | None) -> _Conversation:
    """Steps 5 and 6: where Claude Desktop looks for the conversation, and what it finds."""
    turns = session.completed_turns or 0
    cli = session.cli_session_id
    if session.ssh_host and cli:
        return _ssh(session, index, cli)
    if cli is None or session.transcript_unavailable:
        if link is not None:
            path = getattr(getattr(link, "transcript", None), "path", None)
            return _Conversation(False, "It lost its link to its conversation; the transcript that matches it was "
                                 "found: a rebuild links it back.", path, [], Kind.REBUILD)
        if turns == 0 and cli is None:
            return _Conversation(True, "No turns yet: there is no conversation to open.")
        return _Conversation(False, "It lost its link to its conversation, and no transcript matches it.",
                             codes=[reasons.CONVERSATION_MISSING], gone=True)
    copies = index.all_copies(cli)
    real = [p for p in copies if index.content(p).kind == CONVERSATION]
    if copies and real:
        return _copies(session, index, copies, turns)
    sandbox = [p for p in index.sandbox.get(cli, []) if index.content(p).has_conversation]
    if sandbox:
        # Where the app looks holds nothing, or only a file without turns (it
        # shows "No messages yet"); the conversation is in the old folder.
        chosen = _one_sandbox_copy(session, index, sandbox)
        if chosen is None:
            return _Conversation(False, f"Its conversation is in Claude Desktop's old per-session folders, in "
                                 f"{len(sandbox)} copies that differ: only you can tell which is right, so none is "
                                 "copied. They can still be read, and exported.", sandbox[0],
                                 [reasons.SANDBOX_COPIES_DIFFER])
        return _Conversation(False, "Its conversation is in Claude Desktop's old per-session folder, where the app "
                             "no longer looks: a repair copies it to where the app looks.", chosen,
                             [reasons.TRANSCRIPT_IN_SANDBOX], Kind.REPAIR)
    if copies:
        return _copies(session, index, copies, turns)
    if turns == 0:
        return _Conversation(True, "No turns yet: there is no conversation to open.")
    if link is not None:
        path = getattr(getattr(link, "transcript", None), "path", None)
        return _Conversation(False, "It points at a conversation that does not exist, and one transcript matches "
                             "it: a rebuild links it.", path, [reasons.LINK_DANGLING], Kind.REBUILD)
    if not index.complete:
        return _Conversation(None, f"Its conversation ({cli}) was not found, but some project folders could not "
                             f"be read ({', '.join(index.unlisted[:2])}): it may be there.")
    return _Conversation(False, f"It points at a conversation ({cli}) that is nowhere on this computer.",
                         codes=[reasons.LINK_DANGLING, reasons.CONVERSATION_MISSING], gone=True)


def _one_sandbox_copy(session: Session, index: TranscriptIndex, found: list[str]) -> str | None:
    """Which of the old folders' copies to bring back: the one in this
    session's own sandbox (``local_<its id>/``), else the only one, else the
    longest when every other is where it began (an earlier save of it);
    None when they differ, which only a person can judge."""
    own = [p for p in found if f"{os.sep}{session.id}{os.sep}" in p]
    candidates = own or found
    if len(candidates) == 1:
        return candidates[0]
    longest = max(candidates, key=lambda p: index.content(p).size)
    try:
        if all(fsops.starts_with(longest, p, index.content(p).size) for p in candidates if p != longest):
            return longest
    except OSError:
        pass
    return None


def _copies(session: Session, index: TranscriptIndex, copies: list[str], turns: int) -> _Conversation:
    kinds = {p: index.content(p).kind for p in copies}
    real = [p for p, kind in kinds.items() if kind == CONVERSATION]
    stubs = [p for p, kind in kinds.items() if kind != CONVERSATION]
    codes = []
    if any(index.content(p).session_id not in (None, session.cli_session_id) for p in copies):
        codes.append(reasons.TRANSCRIPT_ID_MISMATCH)
    if real and not stubs and codes:
        # Class T2, a diagnosis ([R] evidence): reported to show "Session not
        # found on disk"; whether it opens cannot be known here.
        named = index.content(real[0]).session_id
        return _Conversation(None, f"Its conversation file's lines name another session ({named}), after a sync "
                             "or a merge: Claude Desktop may say “Session not found on disk”. Session Rescue never "
                             "rewrites a transcript; look for the file whose lines name this session.", real[0],
                             codes)
    if real and not stubs:
        return _Conversation(True, "Its conversation is where Claude Desktop looks for it.", real[0], codes)
    if real:
        return _Conversation(False, f"An empty stub with its id ({stubs[0]}) may be opened instead of its "
                             "conversation: a rebuild sets the stub aside.", real[0],
                             [*codes, reasons.STUB_SHADOWS], Kind.REBUILD)
    if turns == 0:
        return _Conversation(True, "No turns yet: its transcript holds no messages, and needs none.", copies[0],
                             codes)
    stub = stubs[0] if any(kinds[p] == STUB for p in stubs) else None
    return _Conversation(False, "Its transcript holds no conversation, only a title or settings: Claude Desktop "
                         "shows \u201cNo messages yet\u201d.", stub or copies[0],
                         [*codes, reasons.STUB_ONLY, reasons.CONVERSATION_MISSING], gone=True)


def _ssh(session: Session, index: TranscriptIndex, cli: str) -> _Conversation:
    """Class R: an SSH session opens from its local mirror only."""
    mirror = index.ssh_mirror(cli)
    if mirror and index.content(mirror).has_conversation:
        return _Conversation(True, f"An SSH session on {session.ssh_host}: its local copy is here.", mirror)
    remote = f"~/.claude/projects/{slug.slug(session.cwd)}/{cli}.jsonl" if session.cwd else f"{cli}.jsonl"
    there = mirror if mirror and index.content(mirror).kind != UNREADABLE else None
    return _Conversation(False, f"An SSH session on {session.ssh_host}: its copy of the conversation on this "
                         f"computer is missing or empty, so it shows \u201cNo messages yet\u201d. Copy {remote} "
                         f"from {session.ssh_host} to this computer (for example: scp {session.ssh_host}:{remote} .), "
                         "then give it to Session Rescue: Install copied file\u2026 in the window, or "
                         "rebuild --mirror in a terminal.", there, [reasons.SSH_MIRROR_MISSING])


def _ssh_host(host: str, folder: FolderReport, codes: list[str]) -> list[Step]:
    """Class S, a diagnosis only: Claude Desktop's log shows the host failing."""
    failures = getattr(folder.diagnosis, "ssh_failures", {})
    last = getattr(folder.diagnosis, "ssh_last_reason", {})
    seen = [(who, n) for who, n in failures.items() if who == host or who.endswith("@" + host)
            or host.endswith("@" + who)]
    if not seen:
        return []
    who, count = seen[0]
    codes.append(reasons.SSH_HOST_FAILING)
    why = f" (last: {last[who]})" if last.get(who) else ""
    return [Step("host", False, f"Claude Desktop's log shows {count} failed connection{'s' * (count != 1)} to "
                 f"{who}{why}: if that host is gone for good, the app cannot go on with this session there.")]


def _trust_steps(trust: Trust, windows: bool) -> TrustStep:
    """Class P, a diagnosis only: is a folder trusted under the spelling
    Claude Desktop reads?  Shown, never changed.  Worked out once per
    folder: thousands of sessions share a few dozen, and each verdict reads
    every entry of ~/.claude.json."""

    @functools.cache
    def step(cwd: str) -> tuple[Step, bool]:
        state, sentence = trust.verdict(cwd, windows)  # type: ignore[attr-defined]
        return Step("trusted", None if state == "unknown" else state == "trusted", sentence), \
            state == "other-spelling"

    return step


def _sentence(status: str, fix: Kind | None, talk: _Conversation | None = None) -> str:
    missing = talk is not None and talk.gone
    if status == HEALTHY and talk is not None and talk.ok is None:
        return "Healthy as far as its record goes; whether its conversation opens cannot be known here (see above)."
    if status == HEALTHY:
        return ("Healthy: it shows in another account's list." if fix == Kind.ADOPT
                else "Healthy: Claude Desktop lists it and opens it.")
    if status == ORPHANED:
        how = {Kind.REPAIR: "Repair", Kind.ADOPT: "Move to active account", Kind.REBUILD: "Rebuild"}
        tail = " Its conversation, though, is gone." if missing else ""
        if fix is None:
            return "Lost, and it can come back once you have the file it needs (see above)." + tail
        return f"Lost: {how[fix]} brings it back.{tail}"
    if missing:
        return "Its conversation is lost: the record is fine, but the conversation is nowhere on this computer."
    if talk is not None and talk.path:
        return ("Corrupt: its record cannot be brought back, but its conversation survives as a transcript: it "
                "can still be read, and exported.")
    return "Corrupt: nothing is left that could bring it back."
