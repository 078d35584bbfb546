"""Find the transcript a record lost (storage reference §6, class H).

A record's ``cliSessionId`` is the only link to its conversation.  The app
sets it to null, and marks the record ``transcriptUnavailable``, when its
startup scan misses the transcript; the conversation is then gone from the
session although the ``.jsonl`` is still on disk.  A transcript that no record
references, whose cwd is the record's and whose time span matches the
record's, is very likely the one.  We only *propose* the link, with the
evidence, and a person confirms it: a wrong link would show one session's
conversation in another.

A proposal pairs each record with at most one transcript and each transcript
with at most one record, best matches first.
"""

from __future__ import annotations

import ntpath
from dataclasses import dataclass
from typing import Any

from app.core.records import HEALTHY, Session
from app.core.transcript_index import TranscriptIndex
from app.core.transcripts import TranscriptInfo

# How far apart the record's and the transcript's times may be.  The record
# is created a moment before the first message; its last activity is the last
# message, give or take a save.
SLACK_MS = 10 * 60 * 1000


@dataclass
class Link:
    """A proposal: this record's conversation is probably this transcript."""

    session: Session
    transcript: TranscriptInfo
    evidence: list[str]
    distance_ms: float  # how far the times are apart, in all: smaller is surer

    def to_json(self) -> dict[str, Any]:
        return {"id": self.session.id, "title": self.session.title, "transcript_id": self.transcript.id,
                "transcript_path": self.transcript.path, "evidence": self.evidence}


def needs_link(session: Session, index: TranscriptIndex | None = None) -> bool:
    """A healthy record whose link to its transcript is gone (class H), or,
    with ``index``, points at a conversation that exists nowhere (class Q)."""
    if session.record_status not in (HEALTHY, "") or session.tombstoned:
        return False
    if session.cli_session_id is None or session.transcript_unavailable:
        return True
    return index is not None and dangling(session, index)


def dangling(session: Session, index: TranscriptIndex) -> bool:
    """Class Q: its cliSessionId names no file in the projects folder, in an
    SSH mirror, or in a sandbox, and it has turns to show."""
    cli = session.cli_session_id
    if not cli or session.ssh_host or not (session.completed_turns or 0):
        return False
    # A project folder that could not be listed may hold it: never relink on a guess.
    return index.complete and not index.all_copies(cli) and not index.sandbox.get(cli)


def same_folder(a: str | None, b: str | None) -> bool:
    """Do two cwds name the same folder?  Windows paths compare without
    regard to case or the kind of slash; a trailing separator is ignored."""
    if not a or not b:
        return False
    if "\\" in a or "\\" in b or a[1:2] == ":" or b[1:2] == ":":
        return ntpath.normcase(a.rstrip("\\/")) == ntpath.normcase(b.rstrip("\\/"))
    return a.rstrip("/") == b.rstrip("/")


def _gap(ms: float) -> str:
    seconds = abs(ms) / 1000
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _match(session: Session, info: TranscriptInfo) -> Link | None:
    if not same_folder(session.cwd, info.cwd):
        return None
    created, last = session.created_at_ms, session.last_activity_ms
    if created is None or last is None or info.first_ms is None or info.last_ms is None:
        return None
    # The two spans must overlap, give or take the slack.
    if info.first_ms > last + SLACK_MS or info.last_ms < created - SLACK_MS:
        return None
    start_gap, end_gap = info.first_ms - created, info.last_ms - last
    if abs(start_gap) > SLACK_MS * 6 and abs(end_gap) > SLACK_MS:
        return None  # overlapping, but neither end lines up: another session in the same folder
    evidence = [f"same folder: {info.cwd}",
                f"the transcript starts {_gap(start_gap)} {'after' if start_gap >= 0 else 'before'} "
                "the session was created",
                f"its last message is {_gap(end_gap)} {'after' if end_gap >= 0 else 'before'} "
                "the session's last activity"]
    if session.completed_turns is not None and info.turns_exact:
        evidence.append(f"{info.turns} turn{'s' * (info.turns != 1)} in the transcript, "
                        f"{session.completed_turns} in the record")
    if session.title and info.title and session.title.strip().lower() == info.title.strip().lower():
        evidence.append(f"the same title: {info.title}")
    if session.model and info.model and session.model == info.model:
        evidence.append(f"the same model: {info.model}")
    return Link(session, info, evidence, abs(start_gap) + abs(end_gap))


def propose(sessions: list[Session], unreferenced: list[TranscriptInfo],
            index: TranscriptIndex | None = None) -> list[Link]:
    """The best one-to-one links between records that lost theirs and
    transcripts no record references.  A record that still names a
    conversation (class Q: the name is dangling) is linked only when exactly
    one transcript matches it: with two, only a person can tell."""
    if not unreferenced:
        return []
    wanting = [s for s in sessions if needs_link(s, index)]
    if not wanting:
        return []
    candidates = [link for s in wanting for info in unreferenced if (link := _match(s, info)) is not None]
    per_record: dict[int, int] = {}
    for link in candidates:
        per_record[id(link.session)] = per_record.get(id(link.session), 0) + 1
    candidates = [link for link in candidates if link.session.cli_session_id is None
                  or link.session.transcript_unavailable or per_record[id(link.session)] == 1]
    candidates.sort(key=lambda link: (link.distance_ms, link.session.id, link.transcript.id))
    taken_records: set[int] = set()
    taken_transcripts: set[str] = set()
    links = []
    for link in candidates:
        if id(link.session) in taken_records or link.transcript.id in taken_transcripts:
            continue
        taken_records.add(id(link.session))
        taken_transcripts.add(link.transcript.id)
        links.append(link)
    return links


def link_of(links: list[Link], session: Session) -> Link | None:
    """The proposal a record or a transcript is part of, if any."""
    for link in links:
        if link.session is session or link.transcript.id == session.id and not session.is_record:
            return link
    return None
