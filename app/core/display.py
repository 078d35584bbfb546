"""How values are written for people: times, sizes, the summary of a scan,
sentences, and text made safe to show.  Both front ends say things the same
way because they say them through here.

Made safe to show: a session title, a file name, a transcript's text and a
backup manifest are all read from disk, so before any of it reaches a
terminal, a log file or a window, :func:`neutralise` replaces the code points
that could drive or spoof what is shown (see app/cli/output.py for the list
and why each is there).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.records import ScanResult, Session

# The code points listed in the module's doc, as a regular-expression class.
DANGEROUS = ("\x00-\x1f\x7f-\x9f"  # C0, DEL, C1
             "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi controls
             "\u200b\u2028\u2029\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb"  # other invisible format
             "\ud800-\udfff")  # lone surrogates
REPLACEMENT = "\ufffd"

_ANY = re.compile(f"[{DANGEROUS}]")
# The same, but newline and tab are layout, not danger, in a stream of lines.
BUT_LAYOUT = re.compile(f"(?![\\n\\t])[{DANGEROUS}]")


def neutralise(text: str, *, keep_layout: bool = False) -> str:
    """``text`` with each dangerous code point replaced by U+FFFD; newlines
    and tabs too unless ``keep_layout``."""
    # Every dangerous code point is one str.isprintable() refuses: a clean
    # text (nearly all of them) is cleared in one pass in C, not by the regex.
    if text.isprintable():
        return text
    if keep_layout and ("\n" in text or "\t" in text) and text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return (BUT_LAYOUT if keep_layout else _ANY).sub(REPLACEMENT, text)


def sentence(text: str) -> str:
    """``text`` as a sentence: its first letter capitalised (and nothing
    else: ``str.capitalize()`` would lower-case a path), a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


_MS_PER_DAY = 86_400_000
_YEAR_1_MS, _YEAR_10000_MS = -62_135_596_800_000, 253_402_300_800_000  # what a date can be written for
_EPOCH = date(1970, 1, 1)
_DAYS: dict[int, str] = {}  # days since 1970 -> "2026-11-20T": a scan's sessions share a few hundred days


def iso_time(ms: float | None) -> str | None:
    """Epoch ms as UTC ISO 8601, to the millisecond, as JavaScript's
    ``new Date(ms).toISOString()`` writes it: 2026-11-20T08:00:00.000Z.
    None when no date is (NaN, infinite, or outside the years 1 to 9999)."""
    if ms is None:
        return None
    # A JavaScript Date keeps whole milliseconds, cut toward zero.  The date
    # is worked out once per day and the rest in integers: twice as fast as
    # datetime (two per session, in a scan --json of 100,000), and exact
    # where datetime's float seconds would lose the last millisecond.
    try:
        whole = int(ms)
    except (OverflowError, ValueError):  # infinite, NaN
        return None
    if not _YEAR_1_MS <= whole < _YEAR_10000_MS:
        return None
    day, rest = divmod(whole, _MS_PER_DAY)
    text = _DAYS.get(day)
    if text is None:
        if len(_DAYS) > 100_000:  # hostile records could name a new day each
            _DAYS.clear()
        text = _DAYS[day] = (_EPOCH + timedelta(days=day)).isoformat() + "T"
    # %-formatting: here half the cost of an f-string with format specs.
    return "%s%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        text, rest // 3_600_000, rest // 60_000 % 60, rest // 1000 % 60, rest % 1000)


def local_time(ms: float | None, unknown: str = "-") -> str:
    """Epoch ms as local time, to the minute: 2026-11-20 08:00."""
    if ms is None:
        return unknown
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "?"


def counted(n: int, noun: str) -> str:
    """"1 session", "2,890 sessions": a number and its noun, as a person writes them."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def human_size(n: int | None, unknown: str = "-") -> str:
    """A size as a person reads it: 714 B, 140.9 KB, 3.2 MB."""
    if n is None:
        return unknown
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def summary_line(result: ScanResult) -> str:
    """The one sentence both front ends say after a scan."""
    counts = result.summary()
    n = len(result.sessions)
    folders = len(result.folders)
    line = (f"{n} session{'s' * (n != 1)} in {folders} data folder{'s' * (folders != 1)}: "
            f"{counts['healthy']} healthy, {counts['orphaned']} orphaned, {counts['corrupt']} corrupt"
            + (f", {counts['deleted']} deleted" if counts.get("deleted") else "") + ".")
    orphaned = [s for s in result.sessions if s.status == "orphaned"]
    fixes = [s.fix for s in orphaned if s.fix]
    # An SSH session waits for its conversation to be copied from its host: no command alone brings it back.
    need_file = sum(1 for s in orphaned if not s.fix and "ssh-mirror-missing" in s.reasons)
    if fixes or need_file:
        by = [f"{fixes.count(k)} by {k}" for k in ("repair", "adopt", "rebuild") if fixes.count(k)]
        by += [f"{need_file} once its conversation is copied from its SSH host"] if need_file else []
        line += f" Orphaned sessions can be brought back ({', '.join(by)})."
    inactive = sum(1 for s in result.sessions if not s.active)
    if inactive:
        line += f" {inactive} belong to an account that is not the active one."
    # Stubs hold nothing to rebuild, and a transcript proposed for a record's
    # link is counted once, as that link, below.
    only = sum(1 for s in result.transcript_only if not {"stub", "link-proposed"} & set(s.reasons))
    if only:
        line += (f" {only} transcript{'s' * (only != 1)} ha{'ve' if only != 1 else 's'} no record "
                 "and can be rebuilt.")
    if result.links:
        n = len(result.links)
        line += f" {n} record{'s' * (n != 1)} lost the link to a transcript that was found."
    return line


# What happened to a session, in a few plain words, for the list: the first
# of its codes below (most telling first), else its status's own words.
_HEADLINES: tuple[tuple[str, str], ...] = (
    ("hides-list", "Makes Claude Desktop's whole list empty"),
    ("other-install", "In the other Claude Desktop install"),
    ("tmp-only", "Claude could not save it; a good copy exists"),
    ("json-unloadable", "Damaged; a good copy exists"),
    ("tmp-newer", "Its latest changes were not saved; they exist"),
    ("bom", "Claude rejects it for a small fault"),
    ("null-timestamp", "Claude rejects it for a small fault"),
    ("transcript-in-sandbox", "Its conversation is in an old folder"),
    ("sandbox-copies-differ", "Its conversation is in old folders, in copies that differ"),
    ("stub-shadows", "An empty copy hides its conversation"),
    ("unlinked", "Lost the link to its conversation"),
    ("link-dangling", "Lost the link to its conversation"),
    ("ssh-mirror-missing", "SSH session: its conversation must be copied here"),
    ("stub-only", "Its conversation holds no messages"),
    ("conversation-missing", "Its conversation is gone"),
    ("zero-filled", "Wiped by a crash"),
    ("empty", "Empty file"),
    ("truncated", "Cut off in the middle"),
    ("binary", "Not a session record"),
    ("not-object", "Not a session record"),
    ("invalid-json", "Damaged"),
    ("nan-or-infinity", "Holds a value Claude cannot read"),
    ("bad-timestamp", "Its dates cannot be read"),
    ("id-mismatch", "Names another session"),
    ("too-large", "Too large for Claude to read"),
    ("unreadable", "Cannot be read"),
    ("link-outside", "A link, not a file"),
    ("broken-link", "A link, not a file"),
)

_FIRST_DAMAGE = next(i for i, (code, _) in enumerate(_HEADLINES) if code == "zero-filled")


def headline(session: Session) -> str:
    """What happened to ``session``, in a few words a person understands at
    once; the codes and files behind it are the technical view."""
    codes = set(session.reasons)
    if session.status == "deleted":
        return "You deleted it in Claude Desktop"
    if not session.is_record:
        if "stub" in codes:
            return "Holds no conversation"
        return "A session's lost conversation" if "link-proposed" in codes else "No record: Rebuild makes one"
    if session.status == "healthy":
        return "Shows when you sign in to its account" if session.fix == "adopt" else "Opens in Claude Desktop"
    if "other-account" in codes and session.fix == "adopt" and session.status == "orphaned":
        return "In another account"
    # A corrupt record is first of all a damaged record; the rest follows from that.
    order = _HEADLINES[_FIRST_DAMAGE:] + _HEADLINES[:_FIRST_DAMAGE] if session.status == "corrupt" else _HEADLINES
    return next((words for code, words in order if code in codes),
                "Can be brought back" if session.status == "orphaned" else "Nothing left to bring it back")


def account_words(session: Session) -> str:
    """"This account", or "Another account (…1a2b)": never a bare uuid."""
    if not session.is_record:
        return "No record"
    if session.active:
        return "This account"
    return f"Another account (…{session.account[-4:]})" if session.account else "Another account"
