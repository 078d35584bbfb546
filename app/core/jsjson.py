"""Parse JSON exactly as JavaScript's ``JSON.parse`` does.

Claude Desktop reads a record with Node (``readFile(path, "utf8")``, then
``JSON.parse``), so that pair decides whether a session survives.  Python's
``json`` module disagrees with it in three places that matter to us:

* it accepts ``NaN``, ``Infinity`` and ``-Infinity``, which ``JSON.parse`` rejects;
* it gives up on nesting deeper than the recursion limit (about 1,000 levels),
  where V8's parser is iterative and reads millions of levels;
* it refuses integers of more than 4,300 digits, which JavaScript reads as a
  (possibly infinite) number.

The fast path is the C ``json`` module.  Only when it fails do we run the small
iterative parser below, which follows the JSON grammar of ECMA-404 with none of
the three differences, and which tells precisely where and why a text is bad.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # C's, exported, not in the stubs
from typing import Any

__all__ = ["JsonError", "parse", "decode_like_node", "stringify"]

# JSON whitespace is exactly these four characters, in JavaScript and in Python.
_WS = re.compile(r"[ \t\n\r]*")
# The JSON number grammar (the same one json.scanner uses).
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
# What is left of a number when the file stops in the middle of it ("12.", "-", "1e+").
_PARTIAL_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)?(?:\.\d*)?(?:[eE][-+]?\d*)?")
_LITERALS = ("true", "false", "null")


class JsonError(ValueError):
    """A text that ``JSON.parse`` rejects.

    ``pos`` is the index of the offending character; ``at_end`` is true when the
    text simply stopped early (the parser needed more input), which is how a
    truncated record looks.
    """

    def __init__(self, message: str, text: str, pos: int, at_end: bool = False):
        self.message = message
        self.pos = pos
        self.at_end = at_end
        self.line = text.count("\n", 0, pos) + 1
        self.column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{message} at line {self.line}, column {self.column}")


def decode_like_node(data: bytes) -> tuple[str, bool]:
    """Decode bytes the way Node's ``buffer.toString("utf8")`` does.

    Node never fails on bad UTF-8: it puts U+FFFD in place of each bad
    sequence, so a record with a stray byte inside a string still loads.
    Python's ``errors="replace"`` follows the same WHATWG rule.  A BOM is *not*
    removed, as Node does not remove it either.  Returns (text, had_bad_bytes).
    """
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


# One decoder for every call: json.loads(..., parse_constant=...) would build a
# new one (and a new scanner) per file.
_FAST = json.JSONDecoder(parse_constant=_reject_constant)
# Its C scanner, called directly: a record as the app writes it has no
# whitespace around its value, and then the scanner alone is the whole of
# decode() (which adds two regex matches and two calls, a fifth of a record's parse).
_SCAN_ONCE = _FAST.scan_once  # type: ignore[attr-defined]  # set by its __init__, not in the stubs


def parse(text: str) -> Any:
    """Return the value ``JSON.parse(text)`` returns, or raise :class:`JsonError`."""
    try:
        value, end = _SCAN_ONCE(text, 0)
    except StopIteration:
        pass  # whitespace first (or nothing): decode() below skips it
    except (ValueError, RecursionError):
        return _parse_iterative(text)  # decode() would fail the same way, from the same first character
    else:
        if end == len(text) or ((rest := _WS.match(text, end)) is not None and rest.end() == len(text)):
            return value
        del value  # more than whitespace follows: not JSON, and a big record is not held twice meanwhile
        return _parse_iterative(text)
    try:
        return _FAST.decode(text)
    except (ValueError, RecursionError):
        # The C parser said no, or could not say: ask the faithful one, which is
        # also the one that knows exactly where the text went wrong.
        return _parse_iterative(text)


def _number(token: str) -> int | float:
    if "." in token or "e" in token or "E" in token:
        return float(token)  # 1e400 is Infinity in JavaScript too
    if len(token) > 4000:  # past Python's int-from-string limit
        return float(token)
    return int(token)


def _parse_iterative(s: str) -> Any:  # noqa: C901 - one loop is the point: no recursion
    n = len(s)

    def skip(pos: int) -> int:
        found = _WS.match(s, pos)  # matches anywhere: it allows no whitespace at all
        return found.end() if found else pos

    def fail(message: str, pos: int) -> JsonError:
        if pos >= n:
            return JsonError("Unexpected end of JSON input", s, n, at_end=True)
        return JsonError(message, s, pos)

    def string(pos: int) -> tuple[str, int]:
        # pos is at the opening quote
        try:
            text, end = scanstring(s, pos + 1, True)
            return str(text), int(end)
        except json.JSONDecodeError as exc:
            at_end = exc.msg.startswith("Unterminated string")
            if at_end:
                raise JsonError("Unterminated string", s, n, at_end=True) from None
            raise JsonError(exc.msg, s, exc.pos) from None

    def key(pos: int) -> tuple[str, int]:
        if pos >= n or s[pos] != '"':
            raise fail("Expected a property name in double quotes", pos)
        name, pos = string(pos)
        pos = skip(pos)
        if pos >= n or s[pos] != ":":
            raise fail("Expected ':' after property name", pos)
        return name, skip(pos + 1)

    stack: list[tuple[Any, str | None]] = []  # open containers, with the key being filled
    pos = skip(0)
    while True:
        # --- read one value starting at pos
        if pos >= n:
            raise fail("", pos)
        c = s[pos]
        if c == "{":
            pos = skip(pos + 1)
            if pos < n and s[pos] == "}":
                value: Any = {}
                pos += 1
            else:
                name, pos = key(pos)
                stack.append(({}, name))
                continue
        elif c == "[":
            pos = skip(pos + 1)
            if pos < n and s[pos] == "]":
                value = []
                pos += 1
            else:
                stack.append(([], None))
                continue
        elif c == '"':
            value, pos = string(pos)
        elif s.startswith("true", pos):
            value, pos = True, pos + 4
        elif s.startswith("false", pos):
            value, pos = False, pos + 5
        elif s.startswith("null", pos):
            value, pos = None, pos + 4
        else:
            m = _NUMBER.match(s, pos)
            if (m is None or m.end() < n) and (
                _PARTIAL_NUMBER.fullmatch(s, pos) or any(w.startswith(s[pos:]) for w in _LITERALS)
            ):
                raise fail("", n)  # a number or literal cut off by the end of the file
            if m is None:
                raise fail(f"Unexpected token {c!r}", pos)
            value, pos = _number(m.group()), m.end()

        # --- hand the value to its container, closing containers as they end
        while True:
            if not stack:
                pos = skip(pos)
                if pos != n:
                    raise fail("Unexpected non-whitespace character after JSON", pos)
                return value
            container, open_key = stack[-1]
            if open_key is None:
                container.append(value)
            else:
                container[open_key] = value
            pos = skip(pos)
            if pos >= n:
                raise fail("", pos)
            ch = s[pos]
            if ch == ",":
                pos = skip(pos + 1)
                if open_key is not None:
                    next_key, pos = key(pos)
                    stack[-1] = (container, next_key)
                break  # read the next element
            if ch == ("]" if open_key is None else "}"):
                pos += 1
                value = container
                stack.pop()
                continue
            raise fail(f"Expected ',' or '{']' if open_key is None else '}'}' after a value", pos)


def stringify(value: Any) -> bytes:
    """Minified UTF-8 JSON, as ``JSON.stringify`` writes it.  A lone surrogate
    cannot be UTF-8, so such a value is written with \\u escapes instead,
    which ``JSON.parse`` reads back to the same string.  Raises ValueError for
    what JSON cannot hold (NaN, a cycle)."""
    text = _MINIFIED.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _MINIFIED_ASCII.encode(value).encode("ascii")


# Made once: json.dumps with options builds a new encoder at every call, and
# a repair writes several journal lines per session.
_MINIFIED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_MINIFIED_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
