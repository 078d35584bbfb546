"""What a scan finds: plain records that both front ends render.

A :class:`Session` is one sidebar row's worth of files and what the app's
loader makes of them; :class:`ScanResult` is a whole scan.  ``to_json`` spells
each the way the ``scan --json`` contract in the README does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # the C function json.dumps(ensure_ascii=False) uses
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from app.core.display import iso_time
from app.core.locations import DataDir
from app.core.mainlog import Diagnosis

if TYPE_CHECKING:
    from app.core.transcripts import TranscriptInfo

HEALTHY, ORPHANED, CORRUPT, DELETED = "healthy", "orphaned", "corrupt", "deleted"
STATUSES = (HEALTHY, ORPHANED, CORRUPT, DELETED)
# The fourth kind: a Claude Code transcript that no record points to (classes
# F and G).  Not a record, so never among ScanResult.sessions.
TRANSCRIPT_ONLY = "transcript-only"


class Step(NamedTuple):
    """One line of a session's checklist: a step of Claude Desktop's way from
    its data folder to an open conversation, and whether it holds."""

    name: str  # loads, listed, conversation, trusted, verdict
    ok: bool | None  # None: not known here, or a diagnosis that changes nothing
    text: str  # one plain sentence


class FileState(NamedTuple):
    """One of a session's files, as the app's loader sees it.  (A NamedTuple:
    immutable, and several times cheaper to build than a frozen dataclass.)"""

    path: str
    kind: str  # "json" or "tmp"
    size: int | None
    mtime: float | None
    loadable: bool
    problems: tuple[str, ...]
    detail: str = ""
    last_activity_ms: float | None = None
    error_line: int | None = None
    error_column: int | None = None
    error_offset: int | None = None
    is_link: bool = False


@dataclass(slots=True)
class Session:
    """Everything a user needs to recognise one session, and its state."""

    id: str
    status: str
    reasons: tuple[str, ...]
    account: str
    org: str
    active: bool
    folder: str
    json: FileState | None
    tmp: FileState | None
    tombstoned: bool
    title: str | None = None
    cwd: str | None = None
    model: str | None = None
    created_at_ms: float | None = None
    last_activity_ms: float | None = None
    completed_turns: int | None = None
    cli_session_id: str | None = None
    transcript_path: str | None = None
    size: int | None = None
    transcript_unavailable: bool = False
    transcript: TranscriptInfo | None = None  # a transcript-only session: what its head and tail say
    ssh_host: str | None = None  # sshConfig.sshHost: a session on a remote machine
    # Whether Claude Desktop lists it and opens its conversation (opens.py):
    # None when that cannot be known here (no transcripts folder).
    opens: bool | None = None
    fix: str | None = None  # the command that brings it back: repair, adopt, rebuild; or None
    checklist: tuple[Step, ...] = ()
    conversation: str | None = None  # where its conversation is: the file Claude opens, or where it is instead
    # What its files alone say (healthy, orphaned, corrupt), before the walk:
    # what a repair of the record itself goes by.
    record_status: str = ""

    @property
    def is_record(self) -> bool:
        return self.status != TRANSCRIPT_ONLY

    @property
    def transcript_found(self) -> bool:
        return self.transcript_path is not None

    def to_json(self) -> dict[str, Any]:
        """The session as the ``scan --json`` contract spells it."""
        return {key: value(self) for key, value, _ in _JSON_FIELDS}


def sessions_json(sessions: Sequence[Session]) -> str:
    """``json.dumps([s.to_json() for s in sessions], ensure_ascii=False)``
    without its brackets, written column by column: each key of the
    contract once, and each field's values encoded in one pass (by C
    functions, mostly), not a dict built per session only to be taken apart
    again.  A scan --json of 100,000 sessions spends most of its output here."""
    if not sessions:
        return ""
    encoded = [encode(list(map(value, sessions))) for _, value, encode in _JSON_FIELDS]
    return ", ".join(map(_JSON_TEMPLATE.__mod__, zip(*encoded, strict=True)))


Column = list[Any]
_LITERALS = {None: "null", True: "true", False: "false"}
_string = encode_basestring


def _strings(column: Column) -> Iterable[str]:
    return map(_string, column)


def _strings_or_null(column: Column) -> Iterable[str]:
    return [_string(value) if value is not None else "null" for value in column]


def _ints_or_null(column: Column) -> Iterable[str]:
    return [int.__repr__(value) if value is not None else "null" for value in column]


def _literals(column: Column) -> Iterable[str]:
    return map(_LITERALS.__getitem__, column)


def _lists_of_strings(column: Column) -> Iterable[str]:
    return ["[" + ", ".join(map(_string, codes)) + "]" if codes else "[]" for codes in column]


def _lists_of_objects(column: Column) -> Iterable[str]:
    return [json.dumps(value, ensure_ascii=False) if value else "[]" for value in column]


def _file_details(s: Session) -> list[dict[str, Any]]:
    return [_file_detail(f) for f in (s.json, s.tmp) if f and (f.problems or f.detail)]


# Each key of the scan --json contract, how to get its value from a session
# (attrgetter: in C), and how json.dumps(ensure_ascii=False) writes a column
# of such values (a test holds sessions_json equal to json.dumps).
_JSON_FIELDS: tuple[tuple[str, Callable[[Session], Any], Callable[[Column], Iterable[str]]], ...] = (
    ("id", attrgetter("id"), _strings),
    ("status", attrgetter("status"), _strings),
    ("reasons", lambda s: list(s.reasons), _lists_of_strings),
    ("account", attrgetter("account"), _strings),
    ("org", attrgetter("org"), _strings),
    ("active", attrgetter("active"), _literals),
    ("json_path", lambda s: s.json.path if s.json else None, _strings_or_null),
    ("tmp_path", lambda s: s.tmp.path if s.tmp else None, _strings_or_null),
    ("title", attrgetter("title"), _strings_or_null),
    ("cwd", attrgetter("cwd"), _strings_or_null),
    ("model", attrgetter("model"), _strings_or_null),
    ("created_at", lambda s: iso_time(s.created_at_ms), _strings_or_null),
    ("last_activity", lambda s: iso_time(s.last_activity_ms), _strings_or_null),
    ("completed_turns", attrgetter("completed_turns"), _ints_or_null),
    ("size", attrgetter("size"), _ints_or_null),
    ("cli_session_id", attrgetter("cli_session_id"), _strings_or_null),
    ("transcript_found", attrgetter("transcript_found"), _literals),
    ("transcript_unavailable", attrgetter("transcript_unavailable"), _literals),
    ("tombstoned", attrgetter("tombstoned"), _literals),
    ("details", _file_details, _lists_of_objects),
    ("opens", attrgetter("opens"), _literals),
    ("fix", attrgetter("fix"), _strings_or_null),
)
_JSON_TEMPLATE = "{" + ", ".join(f"{_string(key)}: %s" for key, _, _ in _JSON_FIELDS) + "}"


@dataclass
class FolderReport:
    """One data folder: what it is, which account is active, what we skipped."""

    data_dir: DataDir
    active_account: str | None = None
    active_source: str | None = None  # "config.json" or "newest"
    accounts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The <account>/<org> folder the app shows: where adopted and rebuilt
    # records go.  None when the active account has no folder yet.
    active_org: str | None = None
    active_folder: str | None = None
    tombstones: set[str] = field(default_factory=set)  # every id a deleted_<id> file names, in any folder
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    # When two data folders hold sessions (an MSIX and a classic install):
    # whether this is the one Claude Desktop reads.  None: the only one.
    live: bool | None = None
    notes: list[str] = field(default_factory=list)  # what the walk says of the folder as a whole

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.data_dir.path),
            "install_type": self.data_dir.install_type,
            "label": self.data_dir.label,
            "has_sessions": self.data_dir.has_sessions,
            "active_account": self.active_account,
            "active_source": self.active_source,
            "accounts": self.accounts,
            "active_org": self.active_org,
            "active_folder": self.active_folder,
            "warnings": self.warnings,
            "main_log": self.diagnosis.to_json(),
            "live": self.live,
            "notes": self.notes,
        }


@dataclass
class ScanResult:
    folders: list[FolderReport]
    sessions: list[Session]
    transcript_only: list[Session] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)  # backfill.Link: a record and the transcript it lost
    notes: list[str] = field(default_factory=list)  # what the walk says of the scan as a whole
    projects_dir: str | None = None  # the transcripts folder the scan looked in

    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for session in self.sessions:
            counts[session.status] += 1
        counts[TRANSCRIPT_ONLY] = len(self.transcript_only)
        return counts

    def all_rows(self) -> list[Session]:
        """Records and transcript-only sessions: what a front end lists."""
        return self.sessions + self.transcript_only

    def folder_of(self, session: Session) -> FolderReport | None:
        return self.folders_of([session])[0]

    def folders_of(self, sessions: list[Session]) -> list[FolderReport | None]:
        """The data folder of each session: looked up once per org folder,
        since a scan of thousands of sessions has a handful of those."""
        prefixes = [(os.path.join(str(f.data_dir.sessions_path), ""), f) for f in self.folders]
        known: dict[str, FolderReport | None] = {}
        found = []
        for session in sessions:
            if session.folder not in known:
                known[session.folder] = next((f for p, f in prefixes if session.folder.startswith(p)), None)
            found.append(known[session.folder])
        return found

    def json_parts(self) -> list[tuple[str, Any]]:
        """The ``scan --json`` document's keys in order, each list still of
        the objects (each has ``to_json()``): a front end may encode a
        long list a part at a time."""
        return [("data_dirs", list(self.folders)), ("sessions", self.sessions),
                ("transcript_only", [s.transcript for s in self.transcript_only if s.transcript]),
                ("links", list(self.links)), ("summary", self.summary()), ("notes", self.notes)]

    def to_json(self) -> dict[str, Any]:
        return {key: [v.to_json() if hasattr(v, "to_json") else v for v in value] if isinstance(value, list)
                else value for key, value in self.json_parts()}


def newest_first(s: Session) -> tuple[bool, float, str]:
    """The order of every list of sessions: newest first, unknown times last."""
    return (s.last_activity_ms is None, -(s.last_activity_ms or 0), s.id)


def sort_newest_first(sessions: list[Session]) -> None:
    """``sessions.sort(key=newest_first)``, in the same order, but sorted on
    one number each, then the few ties by id: a sort holds the interpreter
    for as long as it runs, and comparing 100,000 tuples stalls the window
    (its scan runs on a worker thread) for over 100 ms."""
    sessions.sort(key=_when)
    keys = list(map(_when, sessions))
    if len(set(keys)) == len(keys):
        return  # no two at one time, as nearly always: no ties to order
    start = 0
    for end in range(1, len(sessions) + 1):  # runs of one time, in Python: the window's thread gets its turns
        if end == len(sessions) or keys[end] != keys[start]:
            if end - start > 1:
                sessions[start:end] = sorted(sessions[start:end], key=lambda s: s.id)
            start = end


def _when(s: Session) -> float:
    return float("inf") if s.last_activity_ms is None else -s.last_activity_ms


def _file_detail(f: FileState) -> dict[str, Any]:
    out: dict[str, Any] = {"file": f.kind, "problems": list(f.problems), "detail": f.detail}
    if f.error_line is not None:
        out.update(line=f.error_line, column=f.error_column, offset=f.error_offset)
    return out


class AmbiguousId(ValueError):
    """A short id that begins more than one session's; the message says so."""


SHORTEST_PREFIX = 7  # what scan's table showed of an id before it showed 8: never fewer


def complete_id(wanted: str, known: list[str]) -> str:
    """``wanted`` as one of ``known`` (bare, lower-case ids): itself when it
    is one; else the one id it begins, as scan's table shows ids cut short
    ("9ecef14…", at least SHORTEST_PREFIX characters); else itself, unknown.
    AmbiguousId when it begins several."""
    prefix = wanted.removesuffix("…").removesuffix("...")
    if wanted in known:
        return wanted
    if len(prefix) < SHORTEST_PREFIX:
        if prefix and any(k.startswith(prefix) for k in known):  # meant as a short id: say how short it may be
            raise AmbiguousId(f"{wanted} is too short to name one session: give at least {SHORTEST_PREFIX} "
                              "characters of its id")
        return wanted
    found = sorted({k for k in known if k.startswith(prefix)})
    if len(found) > 1:
        raise AmbiguousId(f"{wanted} begins {len(found)} session ids ({', '.join(found[:3])}"
                          f"{', …' if len(found) > 3 else ''}); give more of it")
    return found[0] if found else wanted
