"""Read a transcript as a conversation, one page at a time.

A transcript can be hundreds of MB (storage reference §7), and a single line
of it can be tens of MB (a pasted file, an image, a long tool output).  So a
page is read from a byte offset, holds at most ``max_bytes`` of lines and
``max_messages`` messages, and says where the next page starts.  A line too
long to show is stepped over, chunk by chunk, never held whole, and shown as a
one-line note.  Lines that cannot be parsed (the cut last line of a crashed
session) are counted, not fatal.  Pure: no Qt.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from app.core import fsops
from app.core.transcripts import conversation_of as conversation_of  # defined there; export and resume ask it here
from app.core.transcripts import parse_time

PAGE_BYTES = 512 * 1024
PAGE_MESSAGES = 150
LONGEST_SHOWN_LINE = 4 * 1024 * 1024  # a longer line is stepped over, not parsed
TEXT_LIMIT = 20_000  # characters of one block that are kept for showing
_STEP = 1024 * 1024
_TYPE = re.compile(rb'"type"\s*:\s*"([A-Za-z_-]{1,40})"')

TEXT, THINKING, TOOL_USE, TOOL_RESULT, IMAGE = "text", "thinking", "tool_use", "tool_result", "image"


@dataclass
class Block:
    kind: str  # text, thinking, tool_use, tool_result, image
    text: str = ""
    name: str | None = None  # the tool's name, for a tool call
    length: int = 0  # characters before cutting
    is_error: bool = False

    @property
    def cut(self) -> bool:
        return self.length > len(self.text)


@dataclass
class Message:
    role: str  # user, assistant, summary, title, note
    blocks: list[Block] = field(default_factory=list)
    time_ms: float | None = None
    model: str | None = None
    offset: int = 0  # where its line starts in the file

    @property
    def only_tools(self) -> bool:
        return bool(self.blocks) and all(b.kind in (TOOL_USE, TOOL_RESULT) for b in self.blocks)


@dataclass
class Page:
    messages: list[Message]
    start: int
    end: int  # where the next page starts
    size: int  # the file's size when read
    unreadable_lines: int = 0
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.end >= self.size or self.error is not None


def _cut(text: str, limit: int | None = TEXT_LIMIT) -> Block:
    return Block(TEXT, text if limit is None else text[:limit], length=len(text))


def _result_text(content: Any, limit: int | None = TEXT_LIMIT) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "image":
                parts.append("[image]")
        return "\n".join(parts)
    return "" if content is None else json.dumps(content, ensure_ascii=False)[:limit]


def _blocks(content: Any, limit: int | None = TEXT_LIMIT) -> list[Block]:
    if isinstance(content, str):
        return [_cut(content, limit)] if content.strip() else []
    if not isinstance(content, list):
        return []
    out = []
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == TEXT and isinstance(part.get("text"), str) and part["text"].strip():
            out.append(_cut(part["text"], limit))
        elif kind == THINKING and isinstance(part.get("thinking"), str) and part["thinking"].strip():
            block = _cut(part["thinking"], limit)
            block.kind = THINKING
            out.append(block)
        elif kind == TOOL_USE:
            shown = json.dumps(part.get("input"), ensure_ascii=False, indent=1)
            name = part.get("name") if isinstance(part.get("name"), str) else "tool"
            out.append(Block(TOOL_USE, shown[:limit], name, len(shown)))
        elif kind == TOOL_RESULT:
            text = _result_text(part.get("content"), limit)
            out.append(Block(TOOL_RESULT, text[:limit], None, len(text), part.get("is_error") is True))
        elif kind == IMAGE:
            out.append(Block(IMAGE, "[image]"))
    return out


def message_of(line: Any, offset: int, text_limit: int | None = TEXT_LIMIT) -> Message | None:
    """The message one transcript line shows, or None for bookkeeping lines.
    Each block keeps at most ``text_limit`` characters (None: all of them)."""
    if not isinstance(line, dict):
        return None
    kind = line.get("type")
    if kind == "summary" and isinstance(line.get("summary"), str):
        return Message("summary", [_cut(line["summary"], text_limit)], offset=offset)
    if kind == "custom-title" and isinstance(line.get("customTitle"), str):
        return Message("title", [_cut(line["customTitle"], text_limit)], offset=offset)
    if kind not in ("user", "assistant") or line.get("isSidechain") is True or line.get("isMeta") is True:
        return None
    message = line.get("message")
    if not isinstance(message, dict):
        return None
    blocks = _blocks(message.get("content"), text_limit)
    if not blocks:
        return None
    model = message.get("model") if kind == "assistant" and isinstance(message.get("model"), str) else None
    return Message(kind, blocks, parse_time(line.get("timestamp")), model, offset)


def _step_over(f: BinaryIO, start: int) -> int:
    """Where the line that starts at ``start`` ends (after its newline),
    found chunk by chunk."""
    pos = start
    f.seek(pos)
    while True:
        chunk = f.read(_STEP)
        if not chunk:
            return pos
        newline = chunk.find(b"\n")
        if newline >= 0:
            return pos + newline + 1
        pos += len(chunk)


def read_page(path: str, start: int = 0, max_bytes: int = PAGE_BYTES,
              max_messages: int = PAGE_MESSAGES, text_limit: int | None = TEXT_LIMIT) -> Page:
    """The messages from byte ``start`` on: at most ``max_messages``, from
    about ``max_bytes`` of the file, each block cut to ``text_limit``
    characters (None keeps them whole: an export).  Never raises for a bad
    file."""
    try:
        f = fsops.open_readable(path)  # a FIFO in its place never blocks
    except OSError as exc:
        return Page([], start, start, start, error=f"the transcript cannot be read: {exc.strerror or exc}")
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
            return _read_page(f, start, size, max_bytes, max_messages, text_limit)
        except OSError as exc:
            return Page([], start, start, start, error=f"the transcript cannot be read: {exc.strerror or exc}")


def _read_page(f: BinaryIO, start: int, size: int, max_bytes: int, max_messages: int,
               text_limit: int | None) -> Page:
    page = Page([], start, start, size)
    pos = start
    while pos < size and len(page.messages) < max_messages and pos - start < max_bytes:
        f.seek(pos)
        chunk = f.read(max(max_bytes - (pos - start), 64 * 1024))
        if not chunk:
            break
        last = chunk.rfind(b"\n")
        if last < 0:
            # One line longer than the chunk: read it whole if it is not too
            # long to show, else step over it.
            end = _step_over(f, pos)
            length = end - pos
            if length <= LONGEST_SHOWN_LINE:
                f.seek(pos)
                lines = [f.read(length)]
            else:
                kind = _TYPE.search(chunk[:4096])
                what = kind.group(1).decode() if kind else "unknown"
                page.messages.append(Message("note", [Block(TEXT, f"A {length / 1e6:,.1f} MB entry ({what}) is "
                                                                 "too long to show here.")], offset=pos))
                pos = end
                continue
        else:
            lines = chunk[: last + 1].splitlines(keepends=True)
        for raw in lines:
            offset = pos
            pos += len(raw)
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except (ValueError, RecursionError):
                if raw.endswith(b"\n") or pos >= size:
                    page.unreadable_lines += 1
                continue
            message = message_of(line, offset, text_limit)
            if message is not None:
                page.messages.append(message)
                if len(page.messages) >= max_messages:
                    break
    page.end = pos
    return page
