"""The command that continues a session with Claude Code in a terminal:
``claude --resume <id>``, run in the session's folder.  This is the way
users found to reach a session Claude Desktop will not open.

Claude Code looks for ``<id>.jsonl`` in the projects folder named for the
folder it runs in (app.core.slug), and refuses a conversation from another
folder, so the command first goes to the folder the conversation was held in.

One line, for the shell of the platform it is for (a parameter, so that
both can be tested anywhere):

* POSIX sh (macOS, Linux): ``cd -- '<folder>' && claude --resume <id>``.
  Inside single quotes sh gives no character a meaning but ``'`` itself,
  which is written ``'\\''``.
* PowerShell (Windows): ``Set-Location -LiteralPath '<folder>' -ErrorAction
  Stop; claude --resume '<id>'``.  Inside single quotes PowerShell gives no
  character a meaning but its single quotes, and it takes five of them
  (``'``, and the typographic U+2018, U+2019, U+201A, U+201B: a folder named
  ``O’Brien`` ends a string there); each is written twice, which PowerShell
  reads as that one character.  ``-LiteralPath`` reads no wildcards
  (``[``, ``*``), and ``-ErrorAction Stop`` ends the line if the folder is
  not there, so claude never starts in the wrong one.

The id is checked to be a UUID (hex digits and dashes) before it is put in a
command.  A folder is refused, with the reason, when it is not a full path,
or when its name holds a control character (NUL, a newline, ESC, ...), a
bidi control or another invisible format character (display.DANGEROUS): a
command meant to be pasted into a terminal must not hold characters that the
terminal would act on, or that make it read differently from what it does.
Pure: no Qt; :func:`resume_command` reads the transcript's first 64 KB.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

from app.core import reasons, slug
from app.core.choices import POSIX, POWERSHELL, SHELLS
from app.core.display import DANGEROUS, neutralise
from app.core.export import DAMAGED, ELSEWHERE, NONE_YET, absence, conversation_of
from app.core.records import Session
from app.core.transcripts import read_info

__all__ = ["POSIX", "POWERSHELL", "SHELLS", "Resume", "UnsafeCommand", "command_line", "is_full_path",
           "quote_posix", "quote_powershell", "resume_command", "shell_for"]


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UNSAFE = re.compile(f"[{DANGEROUS}]")
_PS_QUOTES = re.compile("(['\u2018\u2019\u201a\u201b])")
_WINDOWS_ABSOLUTE = re.compile(r"(?:[A-Za-z]:[\\/]|\\\\|//)")


class UnsafeCommand(ValueError):
    """No command can be made safely; the message says why, in one sentence."""


@dataclass(frozen=True)
class Resume:
    """The command for one session, or why there is none."""

    shell: str  # POSIX or POWERSHELL
    command: str | None  # one line to paste into that shell
    reason: str | None = None  # why there is no command
    note: str | None = None  # something to know before running it (one or more sentences)
    cwd: str | None = None  # the folder it runs in
    transcript_id: str | None = None


def shell_for(platform: str) -> str:
    """The shell a user of ``platform`` (``sys.platform``) pastes into."""
    return POWERSHELL if platform == "win32" else POSIX


def quote_posix(text: str) -> str:
    """``text`` as one word for POSIX sh, standing for exactly ``text``."""
    return "'" + text.replace("'", "'\\''") + "'"


def quote_powershell(text: str) -> str:
    """``text`` as one PowerShell string literal standing for exactly ``text``."""
    return "'" + _PS_QUOTES.sub(r"\1\1", text) + "'"


def is_full_path(path: str) -> bool:
    """A path that says where it is from the root, on either kind of system."""
    return path.startswith("/") or bool(_WINDOWS_ABSOLUTE.match(path))


def command_line(transcript_id: str, cwd: str, shell: str) -> str:
    """The line that runs ``claude --resume transcript_id`` in ``cwd``, for
    ``shell``.  UnsafeCommand when the id is not a UUID, or the folder is not
    a full path or holds a character no command should carry."""
    if not _UUID.fullmatch(transcript_id):
        raise UnsafeCommand("its transcript is not named by a session id Claude Code takes")
    if not cwd:
        raise UnsafeCommand("the folder it ran in is not known")
    if _UNSAFE.search(cwd):
        raise UnsafeCommand("the name of its folder holds a control or invisible character, which a command "
                            "pasted into a terminal cannot carry safely")
    if not is_full_path(cwd):
        raise UnsafeCommand("the folder it ran in is not a full path")
    if shell == POWERSHELL:
        return (f"Set-Location -LiteralPath {quote_powershell(cwd)} -ErrorAction Stop; "
                f"claude --resume {quote_powershell(transcript_id)}")
    if shell == POSIX:
        return f"cd -- {quote_posix(cwd)} && claude --resume {transcript_id}"
    raise ValueError(f"no shell {shell!r} (there are {', '.join(SHELLS)})")


def _folder(session: Session, path: str) -> tuple[str | None, bool]:
    """The folder to resume in, and whether Claude Code finds the
    conversation from there: of the session's own folder and the one its
    transcript's lines name, the first whose projects folder holds the
    conversation, else the first known."""
    candidates = [session.cwd]
    if session.transcript is not None:
        candidates.append(session.transcript.cwd)
    else:
        candidates.append(read_info(session.id, path).cwd)
    known = [c for c in candidates if c]
    where = os.path.basename(os.path.dirname(path))
    found = next((c for c in known if slug.folder_matches(where, c)), None)
    return (found, True) if found else (known[0] if known else None, False)


def _notes(session: Session, cwd: str, shell: str, found: bool) -> str | None:
    said = []
    if reasons.TRANSCRIPT_IN_SANDBOX in session.reasons:
        said.append("Its conversation is in Claude Desktop's old per-session folder, where Claude Code does not "
                    "look: repair it first, which copies it to where it looks.")
    elif not found:
        said.append("Its transcript is not in the projects folder named for this folder, where Claude Code looks "
                    "for it, so Claude Code may not find it.")
    if session.ssh_host:
        said.append(f"It ran on {neutralise(session.ssh_host)} over SSH: run the command there.")
    elif (shell == POWERSHELL) == cwd.startswith("/"):
        said.append("Its folder is a path of another kind of system: run the command on the computer it ran on.")
    return " ".join(said) or None


def resume_command(session: Session, platform: str = sys.platform, shell: str | None = None) -> Resume:
    """The command that continues ``session`` with Claude Code on
    ``platform`` (``sys.platform``: "win32" gives PowerShell, anything else
    POSIX sh; ``shell`` names one outright), or the reason there is none (no
    transcript on this computer, no folder known, a folder that cannot be
    put in a command safely)."""
    shell = shell or shell_for(platform)
    if shell not in SHELLS:
        raise ValueError(f"no shell {shell!r} (there are {', '.join(SHELLS)})")
    path = conversation_of(session)
    if path is None:
        why = {NONE_YET: "It has no conversation yet",
               DAMAGED: "Its record is too damaged to say which transcript holds its conversation",
               ELSEWHERE: "Its conversation is not on this computer"}[absence(session)]
        return Resume(shell, None, f"{why}, so there is nothing to resume.")
    if set(session.reasons) & {reasons.STUB, reasons.STUB_ONLY, reasons.CONVERSATION_MISSING}:
        return Resume(shell, None, "Its transcript holds no conversation, so there is nothing to resume.")
    transcript_id = os.path.basename(path).removesuffix(".jsonl")
    cwd, found = _folder(session, path)
    try:
        command = command_line(transcript_id, cwd or "", shell)
    except UnsafeCommand as exc:
        return Resume(shell, None, f"No command can be given: {exc}.", cwd=cwd, transcript_id=transcript_id)
    assert cwd is not None  # command_line refuses an unknown folder
    return Resume(shell, command, None, _notes(session, cwd, shell, found), cwd, transcript_id)
