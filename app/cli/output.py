"""Everything the CLI prints goes through here, so that no untrusted string
(a session title, a file or folder name, a transcript's text, a backup
manifest) can drive or spoof the terminal.

One set of dangerous code points, :data:`DANGEROUS`, and one function that
neutralises them, :func:`neutralise`:

* C0 controls (ESC, BEL, BS, CR, ...), DEL and the C1 controls (U+0080 to
  U+009F, among them CSI U+009B and NEL U+0085): they move the cursor, clear
  the screen, set the window title, overwrite a line.
* The bidi controls U+061C, U+200E, U+200F, U+202A to U+202E and U+2066 to
  U+2069: they reorder what is shown ("Trojan Source"), so that a file name
  reads as something it is not.
* Other invisible format characters that hide or reorder text without a
  legitimate use in a title or a path: U+200B (zero-width space), U+2060 to
  U+2064 (word joiner, invisible operators), U+206A to U+206F (deprecated
  format controls, some of them bidi), U+FEFF (zero-width no-break space),
  U+FFF9 to U+FFFB (interlinear annotation, which can hide text), and U+2028
  and U+2029 (line and paragraph separators, which some terminals and tools
  take as a line break).  Not included: U+200C and U+200D (ZWNJ and ZWJ),
  which Persian, Indic scripts and emoji sequences need and which cannot
  spoof anything; U+00AD (soft hyphen); tag characters (flag emoji).
* Lone surrogates (U+D800 to U+DFFF, which a record's JSON can hold): not
  dangerous to a terminal, but no encoding can write them.

Text output: each of these becomes U+FFFD.  :func:`neutralise` does it for one
field (a table cell: there a newline or a tab is replaced too), and
:class:`SafeStream`, which :func:`sanitised_console` puts in place of
``sys.stdout`` and ``sys.stderr`` for the whole of ``main()``, does it for
every write, keeping newlines and tabs.  So a command that forgets to call
``safe()`` still cannot print a raw escape sequence.

``\\r``: untrusted text loses it like any other control.  The progress line
(``print("\\r[3/10] name", end="")`` to stderr) needs it, so a write that starts
with ``\\r`` keeps that one leading ``\\r`` when it can only overwrite a line
written the same way: when the stream is at the start of a line, or when the
line so far is a single write that itself started with a kept ``\\r``.  A
``\\r`` can therefore never overwrite text another write put on the line (as in
``print("Run", run_id)``).  Code that must write other raw controls writes to
the stream's ``raw`` attribute.

JSON output (``--json``): :func:`emit_json` serialises with
``ensure_ascii=False`` and then writes every dangerous code point as a
``\\uXXXX`` escape.  Outside its strings a JSON document holds only ASCII
punctuation, digits, letters, spaces and newlines, so a raw dangerous code
point can only be inside a string, where its escape stands for exactly that
code point: the document parses to the very same strings, and the terminal
never sees a raw control.  The result holds nothing :class:`SafeStream` would
change.  (JSON written some other way through ``SafeStream`` also stays valid
JSON: with ``ensure_ascii=True`` it is plain ASCII and passes unchanged; with
``ensure_ascii=False`` its dangerous code points become U+FFFD inside their
strings.)

``input()`` at a terminal does not write its prompt through ``sys.stdout``
(CPython hands it to readline, on the C-level stdout), so while
:func:`sanitised_console` is in effect ``builtins.input`` neutralises the
prompt first.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TextIO

from app.core import collector
from app.core.display import BUT_LAYOUT, DANGEROUS, REPLACEMENT, neutralise
from app.core.records import Session, sessions_json

__all__ = ["DANGEROUS", "REPLACEMENT", "SafeStream", "emit_json", "emit_json_document", "json_text", "neutralise",
           "sanitised_console"]


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"  # every dangerous code point is in the BMP


def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON (as ``json.dumps(value, indent=indent,
    ensure_ascii=False)``) with every dangerous code point written as a
    ``\\uXXXX`` escape: it parses back to exactly ``value``."""
    return _escaped(json.dumps(value, indent=indent, ensure_ascii=False), indent is not None)


def _escaped(text: str, indented: bool = False) -> str:
    """JSON text with every dangerous code point written as an escape."""
    # Every dangerous code point is one str.isprintable() refuses (Cc, Cf, Cs,
    # Zl, Zp): one pass in C clears a clean document, which is nearly always.
    # (A document without indent holds no newline: JSON escapes them in strings.)
    if (text.replace("\n", "") if indented else text).isprintable():
        return text
    return BUT_LAYOUT.sub(_escape, text)


def emit_json(value: Any, out: IO[str] | None = None) -> None:
    """Print ``value`` as one JSON document (and a newline), in one write:
    made by the C encoder in one call, so indented only for a person at a
    terminal (Python's indenting encoder is several times slower)."""
    stream = sys.stdout if out is None else out
    indent = 2 if _isatty(stream) else None
    stream.write(json_text(value, indent) + "\n")


def emit_json_document(parts: Iterable[tuple[str, Any]], out: IO[str] | None = None, chunk: int = 2000) -> None:
    """Print one JSON object, key by key, as emit_json would print it: a
    key whose value is a list (of dicts, or of anything that has
    ``to_json()``) is encoded ``chunk`` items at a time, so that a scan of
    100,000 sessions never holds all of them as dicts, nor the whole
    document as one string, and writes a few hundred times, not millions.
    Garbage collection waits until the end: these dicts hold no cycles, and
    collecting while making a million of them is most of the time."""
    stream = sys.stdout if out is None else out
    if _isatty(stream):  # a person reads it: indented, at the cost of the slow encoder
        emit_json({key: [_plain(v) for v in value] if isinstance(value, list) else value for key, value in parts},
                  stream)
        return
    with collector.paused():
        stream.write("{")
        for number, (key, value) in enumerate(parts):
            stream.write((", " if number else "") + json_text(key) + ": ")  # json.dumps' own separators
            if not isinstance(value, list):
                stream.write(json_text(value))
                continue
            stream.write("[")
            for start in range(0, len(value), chunk):
                stream.write((", " if start else "") + _items_text(value[start:start + chunk]))
            stream.write("]")
        stream.write("}\n")


def _items_text(items: list[Any]) -> str:
    """A list's items as json_text writes the list, without its brackets.
    A scan's sessions are written by records.sessions_json, which spares
    building a dict per session only to encode it."""
    if all(type(v) is Session for v in items):
        return _escaped(sessions_json(items))
    return json_text([_plain(v) for v in items])[1:-1]


def _plain(value: Any) -> Any:
    return value.to_json() if hasattr(value, "to_json") else value


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class SafeStream:
    """A text stream in front of ``raw`` that neutralises what is written
    (see the module's doc); everything else is ``raw``'s own."""

    def __init__(self, raw: TextIO) -> None:
        self.raw: TextIO = raw
        self._lock = threading.Lock()
        self._at_line_start = True  # nothing, or a newline, was written last
        self._line_is_progress = False  # the line so far is one write that began with a kept "\r"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        with self._lock:
            if text[0] == "\r" and (self._at_line_start or self._line_is_progress):
                lead, body = "\r", text[1:]
            else:
                lead, body = "", text
            clean = lead + neutralise(body, keep_layout=True)
            self._at_line_start = clean.endswith("\n")
            self._line_is_progress = bool(lead) and "\n" not in clean
            self._write_raw(clean)
        return len(text)

    def _write_raw(self, text: str) -> None:
        try:
            self.raw.write(text)
        except UnicodeEncodeError:
            # A stream main() could not reconfigure (errors="strict"): behave as
            # errors="replace" would.  (TextIOWrapper encodes before it writes
            # anything, so nothing was written yet.)
            encoding = getattr(self.raw, "encoding", None) or "utf-8"
            self.raw.write(text.encode(encoding, "replace").decode(encoding, "replace"))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    # What print(), input(), argparse, logging and our own code use, said
    # explicitly; the rest falls through to __getattr__.
    def flush(self) -> None:
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def writable(self) -> bool:
        return self.raw.writable()

    def reconfigure(self, **kwargs: Any) -> None:
        self.raw.reconfigure(**kwargs)  # type: ignore[attr-defined]

    @property
    def encoding(self) -> str:
        return self.raw.encoding

    @property
    def errors(self) -> str | None:
        return self.raw.errors

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def __getattr__(self, name: str) -> Any:
        if name == "raw":  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self.raw, name)

    def __repr__(self) -> str:
        return f"SafeStream({self.raw!r})"


def _safe_input(original: Callable[..., str]) -> Callable[..., str]:
    def safe_input(prompt: object = "") -> str:
        return original(neutralise(str(prompt), keep_layout=True))
    safe_input.__doc__ = original.__doc__
    return safe_input


@contextlib.contextmanager
def sanitised_console() -> Iterator[None]:
    """While in effect, ``sys.stdout`` and ``sys.stderr`` are SafeStreams and
    ``input()`` neutralises its prompt; all three are put back afterwards
    (only if nobody replaced them in the meantime).  A missing stream (None,
    as in a windowed executable) stays missing."""
    before = (sys.stdout, sys.stderr, builtins.input)
    wrapped_out = SafeStream(sys.stdout) if sys.stdout is not None and not isinstance(sys.stdout, SafeStream) \
        else None
    wrapped_err = SafeStream(sys.stderr) if sys.stderr is not None and not isinstance(sys.stderr, SafeStream) \
        else None
    our_input = _safe_input(builtins.input)
    if wrapped_out is not None:
        sys.stdout = wrapped_out
    if wrapped_err is not None:
        sys.stderr = wrapped_err
    builtins.input = our_input
    try:
        yield
    finally:
        if wrapped_out is not None and sys.stdout is wrapped_out:
            sys.stdout = before[0]
        if wrapped_err is not None and sys.stderr is wrapped_err:
            sys.stderr = before[1]
        if builtins.input is our_input:
            builtins.input = before[2]
