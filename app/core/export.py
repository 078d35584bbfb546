"""Export a session's conversation as Markdown or as one self-contained HTML
page (see app.core.export_formats for how each looks, and how untrusted text
is made safe in it).

It works from the transcript, wherever the scan found the conversation
(``Session.conversation``, such as Claude Desktop's old per-session folder,
else ``Session.transcript_path``), so it works for every session whose
conversation is on this computer: one the sidebar lists, one it has lost,
one whose record is corrupt, and a transcript with no record at all.

Read-only, and streamed: the transcript is read a page at a time
(:func:`app.core.conversation.read_page`, whole blocks, never cut) and each
page is written before the next is read, so a transcript of hundreds of MB
is never held in memory (a single line longer than
``conversation.LONGEST_SHOWN_LINE`` is stepped over, and the document says
so where it was).  A file is written under a temporary name beside it and
takes its name only when complete: an export never leaves half a file, and
never replaces an existing one unless asked to.

The window calls :func:`find_session` (or has the Session already),
:func:`suggested_file_name` and :func:`export_to_file`; the CLI calls
:func:`export_session` for standard output.  Pure: no Qt.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import TextIO

from app.core import conversation, fsops, reasons
from app.core.choices import FORMATS, HTML, MARKDOWN
from app.core.conversation import conversation_of
from app.core.export_formats import About, Tally, line_of, writer_for
from app.core.records import CORRUPT, AmbiguousId, ScanResult, Session, complete_id
from app.core.transcripts import read_info

__all__ = ["DAMAGED", "ELSEWHERE", "FORMATS", "HTML", "MARKDOWN", "NONE_YET", "ExportCancelled", "ExportError",
           "Source", "TargetExists", "Tally", "absence", "conversation_of", "export_session", "export_to_file",
           "find_session", "source_of", "suggested_file_name", "write"]

# Called after each page with (bytes read, transcript size); False cancels.
Progress = Callable[[int, int], bool]


class ExportError(Exception):
    """Why the export could not be made, in one sentence."""


class TargetExists(ExportError):
    """The file to write exists already, and nothing was written."""


class ExportCancelled(ExportError):
    """The progress callback asked to stop."""


@dataclass(frozen=True)
class Source:
    """A conversation to export: its transcript, and what the document says about it."""

    path: str
    about: About


# ----------------------------------------------------------- which session


def _bare(text: str) -> str:
    text = text.strip().lower()
    for suffix in (".json.tmp", ".jsonl", ".json"):
        text = text.removesuffix(suffix)
    return text.removeprefix("local_")


NONE_YET, DAMAGED, ELSEWHERE = "none-yet", "damaged", "elsewhere"


def absence(session: Session) -> str:
    """Why a session whose conversation is not here has none: NONE_YET (no
    turns: nothing was lost), DAMAGED (its record is too damaged to say which
    transcript is its), or ELSEWHERE (not on this computer)."""
    if session.cli_session_id is None and session.completed_turns == 0:
        return NONE_YET
    if session.is_record and session.cli_session_id is None and session.record_status == CORRUPT:
        return DAMAGED
    return ELSEWHERE


def _absent(session: Session) -> str:
    name = line_of(session.id)
    return {NONE_YET: f"{name} has no conversation yet",
            DAMAGED: f"the record of {name} is too damaged to say which transcript holds its conversation",
            ELSEWHERE: f"the conversation of {name} is not on this computer"}[absence(session)]


def _stem(path: str | None) -> str:
    return os.path.basename(path or "").removesuffix(".jsonl").lower()


def find_session(result: ScanResult, wanted: str) -> Session | None:
    """The session ``wanted`` names, or None.  ``wanted`` is a session id
    (``local_<uuid>`` or the bare uuid, in any case; a record's file name
    works too) or a transcript id (a record's ``cliSessionId``, or a
    transcript with no record).  Of several records with that id (the same
    session in two accounts), one whose conversation is here comes first,
    then one in the active account, then one not deleted."""
    want = _bare(wanted)
    if not want:
        return None
    ids = [_bare(s.id) for s in (*result.sessions, *result.transcript_only)]
    ids += [(s.cli_session_id or "").lower() for s in result.sessions if s.cli_session_id]
    try:
        want = complete_id(want, ids)  # scan's table shows ids cut short: "9ecef14…"
    except AmbiguousId as exc:
        raise ExportError(str(exc)) from None
    records = [s for s in result.sessions if _bare(s.id) == want]
    if not records:
        records = [s for s in result.sessions
                   if (s.cli_session_id or "").lower() == want or _stem(conversation_of(s)) == want]
    if records:
        records.sort(key=lambda s: (conversation_of(s) is None, not s.active, s.tombstoned))
        return records[0]
    return next((s for s in result.transcript_only if s.id.lower() == want), None)


# --------------------------------------------------------- what is exported


def source_of(session: Session) -> Source:
    """What an export of ``session`` reads and says; ExportError (one
    sentence) when its conversation is not on this computer or cannot be
    read.  Reads the transcript's first and last 64 KB only."""
    path = conversation_of(session)
    if path is None:
        raise ExportError(f"{_absent(session)}, so there is nothing to export")
    if set(session.reasons) & {reasons.STUB, reasons.STUB_ONLY, reasons.CONVERSATION_MISSING}:
        raise ExportError(f"the transcript of {line_of(session.id)} holds no conversation, so there is nothing "
                          "to export")
    tid = _stem(path)
    info = read_info(tid, path)
    unreadable = [p for p in info.problems if p.startswith("cannot be read") or p == "not a regular file"]
    if unreadable:
        raise ExportError(f"the transcript {line_of(path)} {unreadable[0]}")
    about = About(title=session.title or info.title or "", session_id=session.id,
                  transcript_id=tid if tid and tid != session.id.lower() else None,
                  cwd=session.cwd or info.cwd, first_ms=info.first_ms or session.created_at_ms,
                  last_ms=info.last_ms or session.last_activity_ms, model=info.model or session.model,
                  transcript_name=os.path.basename(path))
    return Source(path, about)


# ------------------------------------------------------------------ writing


def write(source: Source, out: TextIO, fmt: str = MARKDOWN, *, tz: tzinfo | None = None,
          progress: Progress | None = None, page_bytes: int = conversation.PAGE_BYTES) -> Tally:
    """Write the conversation in ``source`` to ``out`` as ``fmt`` ("md" or
    "html"), a page at a time; times are local (or in ``tz``).  A transcript
    that stops being readable part-way ends the document with a sentence
    saying so (``Tally.error``); ExportCancelled when ``progress`` returns
    False (what was written stays written)."""
    writer = writer_for(fmt, tz)
    tally = Tally()
    out.write(writer.start(source.about))
    offset = 0
    while True:
        page = conversation.read_page(source.path, offset, max_bytes=page_bytes, text_limit=None)
        tally.size = page.size
        tally.unreadable_lines += page.unreadable_lines
        for message in page.messages:
            out.write(writer.message(message))
        tally.messages += sum(1 for m in page.messages if m.role in ("user", "assistant"))
        tally.bytes_read = max(tally.bytes_read, page.end)
        if page.error is not None:
            tally.error = page.error
        elif not page.done and page.end <= offset:  # never expected: a page always moves on
            tally.error = f"the transcript could not be read past byte {offset:,}"
        if progress is not None and progress(page.end, page.size) is False:
            raise ExportCancelled("the export was cancelled")
        if page.done or tally.error is not None:
            break
        offset = page.end
    out.write(writer.end(tally, source.about))
    return tally


def export_session(session: Session, out: TextIO, fmt: str = MARKDOWN, *, tz: tzinfo | None = None,
                   progress: Progress | None = None) -> Tally:
    """:func:`write` the conversation of ``session`` to ``out`` (ExportError
    before anything is written when it has none here)."""
    return write(source_of(session), out, fmt, tz=tz, progress=progress)


def export_to_file(session: Session, target: str | os.PathLike[str], fmt: str = MARKDOWN, *,
                   overwrite: bool = False, tz: tzinfo | None = None, progress: Progress | None = None) -> Tally:
    """Export the conversation of ``session`` to the file ``target``.

    It is written beside ``target`` under a temporary name and takes its name
    only once complete: on any failure (the transcript could not be read to
    its end, the disk is full, cancelled) nothing is left, and ExportError
    says why.  An existing ``target`` is never replaced (TargetExists) unless
    ``overwrite`` (a save dialog that asked first)."""
    path = os.path.abspath(os.fspath(target))
    folder = os.path.dirname(path)
    if not overwrite and fsops.lexists(path):
        raise TargetExists(f"{line_of(path)} already exists; nothing was written")
    if not os.path.isdir(folder):
        raise ExportError(f"there is no folder {line_of(folder)} to write the export in")
    source = source_of(session)
    temp = os.path.join(folder, f".{os.path.basename(path)[:80]}.~export-{uuid.uuid4().hex[:8]}.tmp")
    done = False
    try:
        tally = _write_new(temp, source, fmt, tz, progress)
        if tally.error is not None:
            raise ExportError(f"{tally.error}; nothing was written")
        if overwrite:
            os.replace(temp, path)
        else:
            fsops.rename_noreplace(temp, path)
        done = True
        return tally
    except FileExistsError:
        raise TargetExists(f"{line_of(path)} already exists; nothing was written") from None
    except OSError as exc:
        raise ExportError(f"cannot write {line_of(path)}: {exc.strerror or exc}") from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _write_new(temp: str, source: Source, fmt: str, tz: tzinfo | None, progress: Progress | None) -> Tally:
    fd = fsops.create_exclusive(temp, 0o666)  # as any new document: the user's umask decides
    with open(fd, "w", encoding="utf-8", newline="\n") as out:
        tally = write(source, out, fmt, tz=tz, progress=progress)
        out.flush()
        fsops.full_fsync(out.fileno())
    return tally


_NOT_IN_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')


def suggested_file_name(session: Session, fmt: str = MARKDOWN) -> str:
    """A file name for the export, from the session's title: safe on
    Windows, macOS and Linux alike (no separators, reserved characters or
    names, at most 80 characters before the extension)."""
    title = _NOT_IN_NAMES.sub("-", line_of(session.title)).strip(" .-")[:80].strip(" .-")
    name = title or f"conversation-{_bare(session.id)[:8]}"
    if fsops.windows_name_problem(f"{name}.{fmt}") is not None:
        name = f"conversation-{_bare(session.id)[:8]}"
    return f"{name}.{fmt}"
