"""What is inside a session's files, made readable.  Read-only.

For each file the window shows: its JSON, pretty-printed when it parses; for a
file that will not load, the reason, the line and column, and the bytes around
the fault; for binary or zero-filled data, a hex dump.  A large file is cut at
``limit`` characters (the caller asks again without a limit to see it all).
A link out of the data folder is never followed, here as in the scan.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from typing import Any

from app.core import jsjson, loader, reasons
from app.core.longpaths import extended
from app.core.records import FileState

PREVIEW_LIMIT = 256 * 1024  # characters shown before "Show all"
LINE_LIMIT = 2_000  # characters of one line shown before "Show all" (laying out a huge line is slow)
_AROUND = 48  # bytes shown either side of a fault
_HEX_LIMIT = 4096
_NOT_TEXT = {reasons.BINARY, reasons.ZERO_FILLED, reasons.EMPTY, reasons.TOO_LARGE}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass
class FileView:
    path: str
    kind: str  # "json" or "tmp"
    size: int | None
    text: str  # what to show
    pretty: bool  # text is pretty-printed JSON
    complete: bool  # False when cut at the limit
    full_length: int  # characters in the whole text
    problems: tuple[str, ...] = ()
    detail: str = ""
    error_line: int | None = None
    error_column: int | None = None
    around: str | None = None  # hex dump of the bytes around the fault


def hexdump(data: bytes, start: int = 0, mark: int | None = None) -> str:
    """Classic 16-bytes-a-row hex dump; ``mark`` (an absolute offset) gets a ▶."""
    rows = []
    for offset in range(0, len(data), 16):
        chunk = data[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        at = start + offset
        pointer = "▶" if mark is not None and at <= mark < at + 16 else " "
        rows.append(f"{pointer}{at:08x}  {hexes:<47}  {text}")
    if mark is not None and mark >= start + len(data):  # the fault is the end itself: a cut file
        rows.append(f"▶{mark:08x}  (the file ends here)")
    return "\n".join(rows)


BIG = 4 << 20  # bytes: past this, the preview shows the file's head as it is


def _read(path: str, is_link: bool, head: int | None = None,
          at: int | None = None) -> tuple[bytes, int, bytes]:
    """(the file's bytes, or its first ``head`` bytes; its size; the bytes
    around offset ``at``)."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    target = os.path.realpath(path) if is_link else path
    fd = os.open(extended(target), flags | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        near = b""
        if at is not None:
            os.lseek(fd, max(0, at - _AROUND), os.SEEK_SET)
            near = os.read(fd, 2 * _AROUND)
            os.lseek(fd, 0, os.SEEK_SET)
        chunks, wanted = [], st.st_size + 1 if head is None else head
        while wanted > 0 and (chunk := os.read(fd, min(1 << 20, wanted))):
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks), st.st_size, near
    finally:
        os.close(fd)


def view_file(state: FileState, limit: int | None = PREVIEW_LIMIT) -> FileView:
    """The file as a person should see it."""
    base: dict[str, Any] = dict(path=state.path, kind=state.kind, size=state.size, problems=state.problems,
                                detail=state.detail, error_line=state.error_line, error_column=state.error_column)
    if {reasons.LINK_OUTSIDE, reasons.BROKEN_LINK, reasons.TOO_LARGE} & set(state.problems):
        note = f"(not shown: {reasons.describe(state.problems[0])}; {state.detail})"
        return FileView(text=note, pretty=False, complete=True, full_length=len(note), **base)
    fault = state.error_offset if state.error_offset is not None and not state.loadable else None
    # A big file is previewed by its head alone: parsing and formatting it
    # whole holds Python's interpreter lock for a long moment, and the window
    # would freeze.  "Show all" (limit=None) does the whole work on request.
    head = limit if limit is not None and (state.size or 0) > BIG else None
    try:
        data, size, near = _read(state.path, state.is_link, head, fault)
    except OSError as exc:
        note = f"(cannot be read: {exc.strerror or exc})"
        return FileView(text=note, pretty=False, complete=True, full_length=len(note), **base)
    around = None if fault is None else hexdump(near, max(0, fault - _AROUND), fault)
    if head is not None and not _NOT_TEXT & set(state.problems):
        shown = _cut_long_lines(data.decode("utf-8", errors="replace"))
        return FileView(text=shown, pretty=False, complete=False, full_length=size, around=around, **base)
    if _NOT_TEXT & set(state.problems):
        text = hexdump(data[:_HEX_LIMIT]) if data else "(the file is empty)"
        if len(data) > _HEX_LIMIT:
            text += f"\n… {len(data) - _HEX_LIMIT:,} more bytes" + (
                ", all zero" if not data[_HEX_LIMIT:].strip(b"\0") else "")
        return FileView(text=text, pretty=False, complete=True, full_length=len(text), around=around, **base)
    text, pretty = _pretty(data)
    full = len(text)
    if limit is None:
        return FileView(text=text, pretty=pretty, complete=True, full_length=full, around=around, **base)
    shown = _cut_long_lines(text[:limit])
    return FileView(text=shown, pretty=pretty, complete=full <= limit and shown == text, full_length=full,
                    around=around, **base)


def _cut_long_lines(text: str) -> str:
    if len(text) <= LINE_LIMIT:
        return text
    lines = text.split("\n")
    if all(len(line) <= LINE_LIMIT for line in lines):
        return text
    return "\n".join(line if len(line) <= LINE_LIMIT else
                     f"{line[:LINE_LIMIT]} … ({len(line) - LINE_LIMIT:,} more characters on this line)"
                     for line in lines)


def _pretty(data: bytes) -> tuple[str, bool]:
    """Pretty JSON when it parses (after a BOM too), else the text as it is."""
    text, _ = jsjson.decode_like_node(data)
    body = text[1:] if data.startswith(loader.BOM) else text
    try:
        value = jsjson.parse(body)
    except jsjson.JsonError:
        return text, False
    try:
        return json.dumps(value, indent=2, ensure_ascii=False), True
    except (ValueError, RecursionError):
        return text, False


def side_by_side(left: str, right: str) -> list[tuple[str | None, str | None, str]]:
    """Lines of two texts aligned for a side-by-side view: (left line, right
    line, tag), the tag one of equal, replace, delete (only left), insert
    (only right)."""
    import difflib  # here: only a session with two copies is compared, and the window opens without it

    a, b = left.splitlines(), right.splitlines()
    rows: list[tuple[str | None, str | None, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend((x, y, tag) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            rows.append((old, new, "replace" if old is not None and new is not None else
                         "delete" if new is None else "insert"))
    return rows
