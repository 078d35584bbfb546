"""What a Claude Code transcript's head and tail say about its session
(which transcripts exist, and where, is transcript_index.py's business).

Transcripts run from a few KB to hundreds of MB, and a user may have
thousands (storage reference §7).  :func:`read_info` therefore reads a
transcript's first and last 64 KB only, never the whole file: the head holds
the cwd, the first time and the first user text; the tail holds the last time,
the model and the latest title.  What lies between is counted only when the
two ends cover the whole file, and the result says whether its turn count is
exact or a lower bound.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core import loader
from app.core.display import iso_time
from app.core.longpaths import extended

if TYPE_CHECKING:
    from app.core.records import Session

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOFOLLOW", 0))

HEAD = 64 * 1024
TAIL = 64 * 1024
# A first line longer than HEAD (a pasted file) is read on to its end, up to this.
LONGEST_LINE = 1024 * 1024
_TITLE_LIMIT = 200

# User text that is not something the user typed: slash-command wrappers and
# the caveat the CLI puts before local command output.
_NOT_TYPED = ("<command-name>", "<command-message>", "<local-command-stdout>", "<local-command-stderr>",
              "Caveat: The messages below", "<system-reminder>")


@dataclass
class TranscriptInfo:
    """What a transcript's head and tail say about its session."""

    id: str
    path: str
    size: int
    mtime: float
    cwd: str | None = None
    first_ms: float | None = None
    last_ms: float | None = None
    title: str | None = None
    title_source: str | None = None  # custom-title, ai-title, summary, first message
    turns: int = 0
    turns_exact: bool = True  # False: only the head and tail were read; turns is a lower bound
    messages: int = 0  # user and assistant lines seen
    model: str | None = None
    bytes_read: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def has_conversation(self) -> bool:
        return self.messages > 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "size": self.size, "cwd": self.cwd,
                "first_time": iso_time(self.first_ms), "last_time": iso_time(self.last_ms), "title": self.title,
                "title_source": self.title_source, "turns": self.turns, "turns_exact": self.turns_exact,
                "model": self.model, "problems": self.problems}


def conversation_of(session: Session) -> str | None:
    """The transcript that holds the session's conversation: where it really
    is (an old per-session folder, say), else where Claude Desktop looks.
    (Here, not in app.core.conversation, which reads it: the window asks this
    of each session it shows, before any conversation is read.)"""
    return session.conversation or session.transcript_path


def parse_time(value: Any) -> float | None:
    """Epoch ms for a transcript's ISO 8601 ``timestamp`` (a string; read as
    the records' ISO timestamps are)."""
    return loader.timestamp_ms(value) if isinstance(value, str) else None


def user_text(message: Any) -> str | None:
    """The text a person typed in a user line, or None for a tool result, a
    command wrapper or an image alone."""
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = [str(b["text"]) for b in content if isinstance(b, dict) and b.get("type") == "text"
                 and isinstance(b.get("text"), str)]
        text = "\n".join(parts)
    else:
        return None
    text = text.strip()
    if not text or text.startswith(_NOT_TYPED):
        return None
    return text


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TITLE_LIMIT else text[: _TITLE_LIMIT - 1] + "…"


class _Reader:
    """Folds transcript lines, in file order, into a TranscriptInfo."""

    def __init__(self, info: TranscriptInfo):
        self.info = info
        self.custom: str | None = None
        self.ai: str | None = None
        self.summary: str | None = None
        self.first_text: str | None = None

    def feed(self, lines: list[bytes]) -> None:
        for raw in lines:
            line = _parsed(raw)
            if line is None:
                continue  # a line cut by a crash, or garbage: the others still count
            kind = line.get("type")
            self._title(kind, line)
            if kind in ("user", "assistant") and line.get("isSidechain") is not True:
                self._message(kind, line)

    def _title(self, kind: object, line: dict[str, Any]) -> None:
        """The titles a transcript gives itself; the latest of each kind wins."""
        for name, field_name, attr in (("custom-title", "customTitle", "custom"), ("ai-title", "aiTitle", "ai"),
                                       ("summary", "summary", "summary")):
            if kind == name and isinstance(line.get(field_name), str):
                setattr(self, attr, line[field_name])

    def _message(self, kind: object, line: dict[str, Any]) -> None:
        """A user or assistant line of the conversation itself."""
        info = self.info
        info.messages += 1
        moment = parse_time(line.get("timestamp"))
        if moment is not None:
            info.first_ms = moment if info.first_ms is None else min(info.first_ms, moment)
            info.last_ms = moment if info.last_ms is None else max(info.last_ms, moment)
        if info.cwd is None and isinstance(line.get("cwd"), str) and line["cwd"]:
            info.cwd = line["cwd"]
        message = line.get("message")
        if kind == "assistant":
            model = message.get("model") if isinstance(message, dict) else None
            if isinstance(model, str) and model and not model.startswith("<"):
                info.model = model  # "<synthetic>" marks an error the CLI made up
        elif line.get("isMeta") is not True:
            text = user_text(message)
            if text is not None:
                info.turns += 1
                if self.first_text is None:
                    self.first_text = text

    def finish(self) -> TranscriptInfo:
        info = self.info
        for source, title in (("custom-title", self.custom), ("ai-title", self.ai), ("summary", self.summary),
                              ("first message", self.first_text)):
            if title and title.strip():
                info.title, info.title_source = _one_line(title), source
                break
        return info


def _parsed(raw: bytes) -> dict[str, Any] | None:
    """One transcript line as an object; None for a blank, cut or foreign line."""
    if not raw.strip():
        return None
    try:
        line = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return line if isinstance(line, dict) else None


def _pread(fd: int, size: int, offset: int) -> bytes:
    """os.pread where there is one; Windows has none."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _complete_lines(data: bytes, from_start: bool) -> list[bytes]:
    """The whole lines in a slice of a file: a head loses its cut last line, a
    tail its cut first line."""
    if from_start:
        end = data.rfind(b"\n")
        return data[:end].split(b"\n") if end >= 0 else []
    start = data.find(b"\n")
    return data[start + 1:].split(b"\n") if start >= 0 else []


def read_info(transcript_id: str, path: str) -> TranscriptInfo:
    """What the head and tail of one transcript say.  Never raises for a bad
    file: what went wrong is in ``problems``."""
    info = TranscriptInfo(transcript_id, path, 0, 0.0)
    reader = _Reader(info)
    try:
        fd = os.open(extended(path), _OPEN_FLAGS)
    except OSError as exc:
        info.problems.append(f"cannot be read: {exc.strerror or exc}")
        return info
    try:
        st = os.fstat(fd)
        info.size, info.mtime = st.st_size, st.st_mtime
        if not stat.S_ISREG(st.st_mode):
            info.problems.append("not a regular file")
            return info
        if st.st_size <= HEAD + TAIL:
            data = _pread(fd, st.st_size + 1, 0)
            info.bytes_read = len(data)
            reader.feed(data.split(b"\n"))
            if data and not data.endswith(b"\n"):
                info.problems.append("its last line is cut short")
            return reader.finish()
        head = _pread(fd, HEAD, 0)
        # A first line longer than HEAD holds the first message: read on to its end.
        limit = min(LONGEST_LINE, st.st_size - TAIL)  # never into the tail: no line is counted twice
        while b"\n" not in head and len(head) < limit:
            more = _pread(fd, min(HEAD, limit - len(head)), len(head))
            if not more:
                break
            head += more
        tail = _pread(fd, TAIL, st.st_size - TAIL)
        info.bytes_read = len(head) + len(tail)
        reader.feed(_complete_lines(head, True))
        reader.feed(_complete_lines(tail, False))
        if not tail.endswith(b"\n"):
            info.problems.append("its last line is cut short")
        info.turns_exact = False
        return reader.finish()
    except OSError as exc:
        info.problems.append(f"cannot be read: {exc.strerror or exc}")
        return info
    finally:
        os.close(fd)
