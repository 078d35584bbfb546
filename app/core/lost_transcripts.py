"""Transcripts that no record points to (classes F and G), and the records
that lost their link to one of them (class H).

A Claude Code transcript is a conversation; a record is what makes Claude
Desktop's sidebar list it.  After a reinstall wipes the records, or for a
session started in the terminal, the transcript is there and nothing points
to it.  :func:`find` lists every such transcript as a *transcript-only* row,
from what its head and tail say (never reading it whole), and asks
:mod:`app.core.backfill` which of them a record that lost its link probably
had.  The scan calls it once its records are read.
"""

from __future__ import annotations

import os

from app.core import backfill, reasons
from app.core.records import TRANSCRIPT_ONLY, FolderReport, Session, newest_first
from app.core.transcript_index import TranscriptIndex
from app.core.transcripts import TranscriptInfo, read_info


def find(index: TranscriptIndex, folders: list[FolderReport],
         sessions: list[Session]) -> tuple[list[Session], list[backfill.Link]]:
    """Every main transcript that no record in any account references and no
    tombstone names (classes F and G), as transcript-only sessions; and the
    records that lost their link to one of them (class H).  Only these
    transcripts are read, and only at their head and tail."""
    referenced = {s.cli_session_id for s in sessions if s.cli_session_id}
    deleted = set().union(*(f.tombstones for f in folders)) if folders else set()
    infos: list[TranscriptInfo] = []
    stubs: list[TranscriptInfo] = []
    for tid in index.session_ids():
        if tid in referenced or tid in deleted:
            continue
        info = read_info(tid, index.copies[tid][0])
        # A file with no user or assistant line is no conversation (class V):
        # listed as a stub, never rebuilt into a record.
        (infos if info.has_conversation else stubs).append(info)
    links = backfill.propose(sessions, infos, index)
    linked = {link.transcript.id for link in links}
    for link in links:
        if link.session.cli_session_id is None or link.session.transcript_unavailable:
            link.session.reasons = (*link.session.reasons, reasons.UNLINKED)
    rows = [_transcript_session(info, info.id in linked) for info in infos]
    rows += [_transcript_session(info, False, stub=True) for info in stubs if info.size and not info.problems]
    rows.sort(key=newest_first)
    return rows, links


def _transcript_session(info: TranscriptInfo, linked: bool, stub: bool = False) -> Session:
    codes = ((reasons.NO_RECORD, reasons.STUB) if stub else (reasons.NO_RECORD, reasons.LINK_PROPOSED) if linked
             else (reasons.NO_RECORD,))
    return Session(info.id, TRANSCRIPT_ONLY, codes, "", "", False, os.path.dirname(info.path), None, None,
                   False, info.title, info.cwd, info.model, info.first_ms,
                   info.last_ms if info.last_ms is not None else info.mtime * 1000, info.turns, info.id,
                   info.path, info.size, False, info)
