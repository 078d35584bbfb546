"""Would Claude Desktop load this record?  The app's own rules, applied to bytes.

Claude Desktop reads ``local_<id>.json`` as UTF-8 text, parses it with
``JSON.parse`` and uses it only if it is an object whose ``sessionId`` equals
the file's stem and whose two timestamps are set (storage reference §2, §4).
This module answers that question for a byte string and says why not.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, NamedTuple

from app.core import jsjson, reasons

# V8's longest string (buffer.constants.MAX_STRING_LENGTH on 64-bit Node).
# readFile(..., "utf8") of a longer text throws, so such a record never loads.
MAX_JS_STRING = 536_870_888

BOM = b"\xef\xbb\xbf"
_CONTINUATION = bytes(range(0x80, 0xC0))
_FOUR_BYTE_LEADS = bytes(range(0xF0, 0xF5))
TIMESTAMP_FIELDS = ("createdAt", "lastActivityAt")


class Verdict(NamedTuple):  # a NamedTuple: immutable, and cheap to make once per file
    """What the loader makes of one file's bytes.

    ``problems`` holds reason codes; the record loads when none of them is
    fatal.  ``fields`` holds the record's top-level values when the bytes parse
    as an object, even if the app would still reject it (a BOM, a null
    timestamp): that is how a user recognises a broken session.
    """

    loadable: bool
    problems: tuple[str, ...] = ()
    detail: str = ""
    fields: dict[str, Any] | None = None
    error_line: int | None = None
    error_column: int | None = None
    error_offset: int | None = None  # byte offset of the fault, for showing the bytes around it


def utf16_units(data: bytes) -> int:
    """How long JavaScript's string of these UTF-8 bytes is, in UTF-16 units:
    continuation bytes add nothing, a 4-byte sequence adds two.  Works on any
    slice of a file, so a caller can count a huge file chunk by chunk."""
    return len(data.translate(None, _CONTINUATION)) + sum(data.count(lead) for lead in _FOUR_BYTE_LEADS)


def timestamp_ms(value: Any) -> float | None:
    """Epoch milliseconds for a timestamp the app accepts, else None."""
    if type(value) is int:  # the usual case, first
        try:
            return float(value)
        except OverflowError:  # past 1.8e308: JavaScript reads Infinity, which is no time
            return None
    if isinstance(value, bool):  # bool is an int in Python, never in JSON's eyes
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:  # JavaScript reads a date-time without zone as local time
            moment = moment.astimezone()
        return moment.astimezone(UTC).timestamp() * 1000
    return None


_FINITE = 1e308  # an integer this large or larger may be Infinity to JavaScript: the general checks decide


def check_record(value: Any, stem: str) -> tuple[tuple[str, ...], str]:
    """The app's rules for a parsed record: (problems, detail)."""
    if (type(value) is dict and value.get("sessionId") == stem
            and type(created := value.get("createdAt")) is int and type(last := value.get("lastActivityAt")) is int
            and -_FINITE < created < _FINITE and -_FINITE < last < _FINITE):
        return (), ""  # what the app itself writes: decided without the general checks
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        kind = {"list": "an array", "str": "a string", "int": "a number", "float": "a number",
                "bool": "a boolean"}.get(kind, kind)
        return (reasons.NOT_OBJECT,), f"the file holds {kind}, not an object"
    problems: list[str] = []
    details: list[str] = []
    session_id = value.get("sessionId")
    if session_id != stem:
        problems.append(reasons.ID_MISMATCH)
        shown = "missing" if session_id is None else repr(session_id)[:80]
        details.append(f"sessionId is {shown}, the file name says {stem}")
    for name in TIMESTAMP_FIELDS:
        stamp = value.get(name)
        if stamp is None:
            if reasons.NULL_TIMESTAMP not in problems:
                problems.append(reasons.NULL_TIMESTAMP)
            details.append(f"{name} is {'null' if name in value else 'missing'}")
        elif timestamp_ms(stamp) is None:
            if reasons.BAD_TIMESTAMP not in problems:
                problems.append(reasons.BAD_TIMESTAMP)
            details.append(f"{name} is {repr(stamp)[:60]}")
    return tuple(problems), "; ".join(details)


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", errors="surrogatepass"))


def _unparsable(data: bytes, text: str, error: jsjson.JsonError) -> Verdict:
    """Name the way a text failed to parse: a crash's zeros, a cut, garbage."""
    where: dict[str, Any] = dict(error_line=error.line, error_column=error.column,
                 error_offset=_byte_offset(text, error.pos))
    stripped = data.rstrip(b"\0")
    if len(stripped) < len(data):
        # Zeros at the end: the file's length was written, its contents were not.
        problems: tuple[str, ...] = (reasons.ZERO_FILLED,)
        try:
            jsjson.parse(jsjson.decode_like_node(stripped)[0])
        except jsjson.JsonError as inner:
            if inner.at_end:
                problems = (reasons.TRUNCATED, reasons.ZERO_FILLED)
            elif b"\0" in stripped:
                problems = (reasons.BINARY, reasons.ZERO_FILLED)
            else:
                problems = (reasons.INVALID_JSON, reasons.ZERO_FILLED)
        zeros = len(data) - len(stripped)
        return Verdict(False, problems, f"{zeros:,} zero bytes from byte {len(stripped):,}", **where)
    if error.at_end:
        return Verdict(False, (reasons.TRUNCATED,), f"the record stops at byte {len(data):,}", **where)
    if b"\0" in data[:65536] or (error.message.startswith("Unexpected token") and _looks_binary(data)):
        return Verdict(False, (reasons.BINARY,), f"binary data ({error})", **where)
    if any(text.startswith(word, error.pos) for word in ("NaN", "Infinity", "-Infinity")):
        # Python's lenient parser still reads it, which is enough to show the
        # user which session this is.
        try:
            salvaged = json.loads(text)
        except (ValueError, RecursionError):
            salvaged = None
        return Verdict(False, (reasons.NAN_OR_INFINITY,), str(error),
                       fields=salvaged if isinstance(salvaged, dict) else None, **where)
    return Verdict(False, (reasons.INVALID_JSON,), str(error), **where)


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return controls * 10 > len(head)


def check_bytes(data: bytes, stem: str) -> Verdict:
    """Apply Claude Desktop's loader to a record file's bytes."""
    if data[:1] != b"{":  # a record as the app writes it is neither blank nor zeros: spared two copies
        if not data.strip(b" \t\r\n"):
            return Verdict(False, (reasons.EMPTY,), f"{len(data):,} bytes, all of them blank" if data else "0 bytes")
        if data[0] == 0 and not data.strip(b"\0"):
            return Verdict(False, (reasons.ZERO_FILLED,), f"all {len(data):,} bytes are zero")
    if len(data) > MAX_JS_STRING and (units := utf16_units(data)) > MAX_JS_STRING:
        return Verdict(False, (reasons.TOO_LARGE,), f"{units:,} characters; JavaScript's limit is {MAX_JS_STRING:,}")
    text, bad_utf8 = jsjson.decode_like_node(data)
    notes = (reasons.INVALID_UTF8,) if bad_utf8 else ()
    if data.startswith(BOM):
        # Rejected by the app, but readable to us: keep the fields so the user
        # can recognise it, and so a repair can strip the mark.
        try:
            value = jsjson.parse(text[1:])
        except jsjson.JsonError as error:
            after = _unparsable(data[len(BOM):], text[1:], error)
            return after._replace(problems=(reasons.BOM, *after.problems),
                                  error_offset=(after.error_offset or 0) + len(BOM))
        problems, detail = check_record(value, stem)
        detail = "; ".join(filter(None, ("starts with EF BB BF", detail)))
        return Verdict(False, (reasons.BOM, *problems, *notes), detail,
                       fields=value if isinstance(value, dict) else None,
                       error_line=1, error_column=1, error_offset=0)
    try:
        value = jsjson.parse(text)
    except jsjson.JsonError as error:
        return _unparsable(data, text, error)
    problems, detail = check_record(value, stem)
    fields = value if isinstance(value, dict) else None
    if problems:
        return Verdict(False, problems + notes, detail, fields)
    return Verdict(True, notes, "", fields)
