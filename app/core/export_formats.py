"""How an exported conversation is written: Markdown, or a self-contained
HTML page laid out as the window's Conversation tab lays it out (who said
what, when, with which model; tool calls, their results and the model's
thinking folded away, one line each until opened).

Everything a transcript holds is untrusted: a title, a message, a tool's
name and its output may hold markup, control characters and bidi overrides.
The rules, one per place a string can land:

* Every string first loses the code points :func:`display.neutralise` names
  (controls, bidi and invisible format characters, lone surrogates become
  U+FFFD).  Text keeps its newlines and tabs (``\\r\\n`` and a lone ``\\r``
  become ``\\n``); a one-line value (a title, a folder, a model) has its
  whitespace collapsed to single spaces.
* HTML: every string is escaped (``& < > " '``) and lands only in element
  text, never in an attribute, a URL or the style sheet.  The page holds no
  script, no event attribute, no link or URL of any kind, and its
  Content-Security-Policy forbids everything but its own inline style.
* Markdown: a message's text goes into a fenced code block whose fence is
  longer than any run of backticks in it, so nothing in it is read as
  Markdown or HTML (it is shown as the Conversation tab shows it: as
  written).  The title and the other one-line values are backslash-escaped,
  or put in a code span longer than any run of backticks in them.  Folded
  blocks are ``<details>`` (which GitHub, VS Code and most viewers fold), with
  the label HTML-escaped.

Pure: no Qt, no file system.  Each renderer returns strings; app.core.export
writes them as it reads the transcript, a page at a time.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from app.core.choices import FORMATS, HTML, MARKDOWN
from app.core.conversation import IMAGE, THINKING, TOOL_RESULT, TOOL_USE, Block, Message
from app.core.display import human_size, iso_time, neutralise

UNTITLED = "Untitled session"

# What Markdown (CommonMark, GitHub's, and common extensions: math, tables,
# strikethrough, attributes) could read as markup in the middle of a line; a
# value never starts a line of its own.  With [ and < escaped, ( ) and ! make
# no link or image.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&$])")
_BACKTICKS = re.compile(r"`+")


@dataclass(frozen=True)
class About:
    """What the document says about the session before its conversation."""

    title: str
    session_id: str
    transcript_id: str | None  # the Claude Code session, when it differs from session_id
    cwd: str | None
    first_ms: float | None
    last_ms: float | None
    model: str | None
    transcript_name: str  # the transcript's file name (never its folder: the document may be shared)


@dataclass
class Tally:
    """What was written, for the document's last lines and the caller."""

    messages: int = 0
    unreadable_lines: int = 0
    bytes_read: int = 0
    size: int = 0
    error: str | None = None  # the transcript stopped being readable part-way: the document says so


# ------------------------------------------------------------ strings made safe


def text_of(text: str) -> str:
    """Untrusted text, with its lines kept."""
    return neutralise(text.replace("\r\n", "\n").replace("\r", "\n"), keep_layout=True)


def line_of(text: str | None, default: str = "") -> str:
    """An untrusted one-line value: whitespace collapsed, dangerous code points replaced."""
    line = neutralise(" ".join((text or "").split()))
    return line or default


def first_line(text: str, width: int = 90) -> str:
    line = line_of(text)
    return line if len(line) <= width else line[: width - 1] + "…"


def when(ms: float | None, tz: tzinfo | None = None, *, zone: bool = False) -> str:
    """A time as the Conversation tab shows it (local, to the minute), or in
    ``tz``; with ``zone``, its offset from UTC too.  "" when unknown."""
    if ms is None:
        return ""
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=tz) if tz is not None else \
            datetime.fromtimestamp(ms / 1000).astimezone()
    except (OverflowError, OSError, ValueError):
        return ""
    shown = moment.strftime("%Y-%m-%d %H:%M")
    if zone:
        offset = moment.strftime("%z")  # +0100
        shown += f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
    return shown


def md_escaped(text: str | None, default: str = "") -> str:
    """A one-line value as Markdown text that shows exactly that value."""
    return _MD_SPECIAL.sub(r"\\\1", line_of(text, default))


def md_code_span(text: str | None) -> str:
    """A one-line value as a Markdown code span (shown literally, in full)."""
    value = line_of(text, "-")
    ticks = "`" * (max((len(run) for run in _BACKTICKS.findall(value)), default=0) + 1)
    pad = " " if value[0] in "` " or value[-1] in "` " else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def md_fenced(text: str, info: str = "text") -> str:
    """Text as a fenced code block that nothing in it can close."""
    body = text_of(text)
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(body)), default=0) + 1)
    return f"{fence}{info}\n{body}{'' if body.endswith(chr(10)) else chr(10)}{fence}\n"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


# --------------------------------------------------------------- shared words


def who(message: Message) -> str:
    return "You" if message.role == "user" else "Claude"


def label(block: Block) -> str:
    """The folded block's one line, as the Conversation tab words it (raw: escape it)."""
    if block.kind == TOOL_USE:
        return f"Tool call: {line_of(block.name, 'tool')}"
    if block.kind == TOOL_RESULT:
        lines = block.text.count("\n") + 1 if block.text else 0
        return ("Tool error" if block.is_error else "Tool result") + f" ({lines:,} line{'s' * (lines != 1)})"
    return "Thinking"


def closing_sentences(tally: Tally, about: About) -> list[str]:
    """The document's last words: how much it holds, and what it could not hold."""
    n = tally.messages
    said = [f"Exported by Session Rescue: {n:,} message{'s' * (n != 1)} from the transcript "
            f"{line_of(about.transcript_name)} ({human_size(tally.bytes_read)})."]
    if tally.unreadable_lines:
        k = tally.unreadable_lines
        said.append(f"{k:,} line{'s' * (k != 1)} of the transcript could not be read (cut short, or not JSON).")
    if tally.error:
        said.append(f"The export stops here: {line_of(tally.error)}.")
    return said


FOLDED = (TOOL_USE, TOOL_RESULT, THINKING)


# ------------------------------------------------------------------- Markdown


class MarkdownWriter:
    """A conversation as Markdown: the ``# title`` heading, a short list of
    facts, then each message under a ``## You`` or ``## Claude`` heading."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz

    def start(self, about: About) -> str:
        facts = [("Folder", md_code_span(about.cwd) if about.cwd else "unknown"),
                 ("First message", when(about.first_ms, self.tz, zone=True) or "unknown"),
                 ("Last message", when(about.last_ms, self.tz, zone=True) or "unknown"),
                 ("Model", md_code_span(about.model) if about.model else "unknown"),
                 ("Session", md_code_span(about.session_id))]
        if about.transcript_id:
            facts.append(("Claude Code session", md_code_span(about.transcript_id)))
        lines = [f"# {md_escaped(about.title, UNTITLED)}", ""]
        lines += [f"- **{name}:** {value}" for name, value in facts]
        return "\n".join(lines) + "\n\n---\n"

    def message(self, message: Message) -> str:
        if message.role in ("summary", "title", "note"):
            lead = {"summary": "Summary: ", "title": "Renamed to: ", "note": ""}[message.role]
            return f"\n*{md_escaped(lead + message.blocks[0].text)}*\n"
        parts = []
        if not message.only_tools:
            head = " · ".join(x for x in (who(message), when(message.time_ms, self.tz),
                                          md_escaped(message.model)) if x)
            parts.append(f"\n## {head}\n")
        for block in message.blocks:
            parts.append(self._block(block))
        return "".join(parts)

    def _block(self, block: Block) -> str:
        if block.kind == IMAGE:
            return "\n*\\[an image\\]*\n"
        if block.kind not in FOLDED:
            return "\n" + md_fenced(block.text) + _md_cut(block)
        body = md_fenced(block.text, "json" if block.kind == TOOL_USE else "text") + _md_cut(block)
        return f"\n<details><summary>{esc(label(block))}</summary>\n\n{body}\n</details>\n"

    def end(self, tally: Tally, about: About) -> str:
        empty = "\n*This transcript holds no messages to show.*\n" if not tally.messages else ""
        return empty + "\n---\n\n" + "\n\n".join(f"*{md_escaped(s)}*" for s in closing_sentences(tally, about)) + "\n"


def _md_cut(block: Block) -> str:
    return f"\n*… {block.length - len(block.text):,} more characters not shown*\n" if block.cut else ""


# ----------------------------------------------------------------------- HTML

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """\
:root{color-scheme:light dark}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .4em;overflow-wrap:anywhere}
dl.about{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:0 0 1.5em;color:gray}
dl.about dt{font-weight:bold}
dl.about dd{margin:0;overflow-wrap:anywhere}
p.who{margin:1.2em 0 .2em}
b.you{color:#2b6cb0}
b.claude{color:#b4531f}
.when,.hint,.note{color:gray}
.note{font-style:italic}
div.text{white-space:pre-wrap;overflow-wrap:anywhere}
details{margin:.15em 0 .15em 1em}
summary{cursor:pointer}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0 .3em 1.5em;padding:.5em;\
background:rgba(127,127,127,.12);font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
footer{margin-top:2em;padding-top:.5em;border-top:1px solid rgba(127,127,127,.4);color:gray}
@media (prefers-color-scheme:dark){b.you{color:#63b3ed}b.claude{color:#f6ad55}}
"""


class HtmlWriter:
    """A conversation as one HTML page that needs nothing else: no script,
    no file or address outside itself."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz

    def start(self, about: About) -> str:
        title = esc(line_of(about.title, UNTITLED))
        facts = [("Folder", about.cwd and esc(line_of(about.cwd))),
                 ("First message", self._time(about.first_ms, zone=True)),
                 ("Last message", self._time(about.last_ms, zone=True)),
                 ("Model", about.model and esc(line_of(about.model))),
                 ("Session", esc(line_of(about.session_id)))]
        if about.transcript_id:
            facts.append(("Claude Code session", esc(line_of(about.transcript_id))))
        rows = "".join(f"<dt>{name}</dt><dd>{value or 'unknown'}</dd>\n" for name, value in facts)
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
                "<meta name=\"referrer\" content=\"no-referrer\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
                f"<h1>{title}</h1>\n<dl class=\"about\">\n{rows}</dl>\n<main>\n")

    def _time(self, ms: float | None, zone: bool = False) -> str:
        shown = when(ms, self.tz, zone=zone)
        stamp = iso_time(ms)
        if not shown or stamp is None:
            return ""
        return f"<time datetime=\"{esc(stamp)}\">{esc(shown)}</time>"

    def message(self, message: Message) -> str:
        if message.role in ("summary", "title", "note"):
            lead = {"summary": "Summary: ", "title": "Renamed to: ", "note": ""}[message.role]
            return f"<p class=\"note\">{esc(lead + line_of(message.blocks[0].text))}</p>\n"
        parts = []
        if not message.only_tools:
            css = "you" if message.role == "user" else "claude"
            extra = " · ".join(x for x in (self._time(message.time_ms),
                                           esc(line_of(message.model)) if message.model else "") if x)
            parts.append(f"<p class=\"who\"><b class=\"{css}\">{who(message)}</b>"
                         + (f" <span class=\"when\">{extra}</span>" if extra else "") + "</p>\n")
        parts += [self._block(block) for block in message.blocks]
        return "".join(parts)

    def _block(self, block: Block) -> str:
        if block.kind == IMAGE:
            return "<p class=\"note\">[an image]</p>\n"
        more = f"\n… {block.length - len(block.text):,} more characters not shown" if block.cut else ""
        if block.kind not in FOLDED:
            return f"<div class=\"text\">{esc(text_of(block.text + more))}</div>\n"
        hint = first_line(block.text)
        return (f"<details><summary>{esc(label(block))}"
                + (f" <span class=\"hint\">{esc(hint)}</span>" if hint else "")
                # The newline after <pre> is the one HTML drops, so the text's own first line stays.
                + f"</summary><pre>\n{esc(text_of(block.text + more))}</pre></details>\n")

    def end(self, tally: Tally, about: About) -> str:
        empty = "<p class=\"note\">This transcript holds no messages to show.</p>\n" if not tally.messages else ""
        said = "".join(f"<p>{esc(s)}</p>" for s in closing_sentences(tally, about))
        return f"{empty}</main>\n<footer>{said}</footer>\n</body>\n</html>\n"


def writer_for(fmt: str, tz: tzinfo | None = None) -> MarkdownWriter | HtmlWriter:
    if fmt == MARKDOWN:
        return MarkdownWriter(tz)
    if fmt == HTML:
        return HtmlWriter(tz)
    raise ValueError(f"no export format {fmt!r} (there are {', '.join(FORMATS)})")
