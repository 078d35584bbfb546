"""Make a record that Claude Desktop rejects for a fixable reason load again.

Two rejections are fixable without guessing at the user's data (storage
reference §6, class D):

* a byte-order mark before the JSON: the three bytes are removed, and nothing
  else changes;
* a null (or missing) ``createdAt`` or ``lastActivityAt``: it takes the other
  timestamp's value, or the file's modification time when both are missing.
  The record is then written back the way the app writes it (minified JSON).

Anything else (a wrong ``sessionId``, a garbled timestamp, broken JSON) is not
ours to invent, and :func:`normalized` returns None.  Every result is checked
with the app's own rules before it is offered.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from app.core import jsjson, loader, reasons

FIXABLE = frozenset({reasons.BOM, reasons.NULL_TIMESTAMP})


class Fixed(NamedTuple):
    data: bytes
    notes: tuple[str, ...]  # what will be changed, in words (a plan speaks of the future)
    last_activity_ms: float | None
    done: tuple[str, ...] = ()  # the same, once done (a summary speaks of the past)


def can_fix(problems: tuple[str, ...]) -> bool:
    fatal = set(problems) - reasons.INFORMATIONAL
    return bool(fatal) and fatal <= FIXABLE


def normalized(data: bytes, stem: str, mtime_ms: float) -> Fixed | None:
    """The fixed bytes of a record, or None if it cannot be fixed safely."""
    notes: list[tuple[str, str]] = []  # (will, did)
    if data.startswith(loader.BOM):
        data = data[len(loader.BOM):]
        notes.append(("its byte-order mark will be removed", "its byte-order mark was removed"))
    verdict = loader.check_bytes(data, stem)
    if verdict.loadable:
        return _fixed(data, notes, _last(verdict.fields)) if notes else None
    if set(verdict.problems) - reasons.INFORMATIONAL != {reasons.NULL_TIMESTAMP}:
        return None
    try:
        value = jsjson.parse(jsjson.decode_like_node(data)[0])
    except jsjson.JsonError:
        return None
    if not isinstance(value, dict):
        return None
    notes.extend(_fill_timestamps(value, mtime_ms))
    fixed = _serialize(value)
    if fixed is None:
        return None
    # Only what the app would accept, and nothing but the filled fields changed.
    check = loader.check_bytes(fixed, stem)
    try:
        same = check.loadable and jsjson.parse(jsjson.decode_like_node(fixed)[0]) == value
    except (jsjson.JsonError, RecursionError):
        same = False
    if not same:
        return None
    return _fixed(fixed, notes, _last(check.fields))


def _fixed(data: bytes, notes: list[tuple[str, str]], last_ms: float | None) -> Fixed:
    return Fixed(data, tuple(will for will, _ in notes), last_ms, tuple(did for _, did in notes))


def _fill_timestamps(value: dict[str, Any], mtime_ms: float) -> list[tuple[str, str]]:
    notes = []
    created, last = "createdAt", "lastActivityAt"
    for name, other in ((created, last), (last, created)):
        if value.get(name) is not None:
            continue
        was = "null" if name in value else "missing"
        other_ms = loader.timestamp_ms(value.get(other))
        if other_ms is not None:
            value[name] = int(other_ms)
            notes.append((f"{name} is {was}: it will be set to {other}", f"{name} was {was}: it was set to {other}"))
        else:
            value[name] = int(mtime_ms)
            notes.append((f"{name} is {was}: it will be set to the file's modification time",
                          f"{name} was {was}: it was set to the file's modification time"))
    return notes


def _serialize(value: dict[str, Any]) -> bytes | None:
    try:
        return jsjson.stringify(value)
    except (ValueError, TypeError, RecursionError):
        return None


def _last(fields: dict[str, Any] | None) -> float | None:
    return loader.timestamp_ms(fields.get("lastActivityAt")) if fields else None
