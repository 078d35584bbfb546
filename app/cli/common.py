"""What every command shares: the usage error, exit codes, safe printing,
and the choice of data folders."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli.output import emit_json, emit_json_document, neutralise
from app.core import locations

__all__ = ["EXIT_CLAUDE_RUNNING", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "PROG", "UsageError",
           "chosen_data_dirs", "chosen_transcripts_dir", "cut", "emit_json", "emit_json_document", "looked_in", "safe"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CLAUDE_RUNNING = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl+C, as shells report it
# The name our hints and errors call us by: what the user runs.  The
# executable's own file name (SessionRescue.exe), not the command pip installs,
# which an executable's user does not have.
PROG = os.path.basename(sys.executable) if getattr(sys, "frozen", False) else "session-rescue"


class UsageError(Exception):
    """A mistake in what the user asked for: one sentence, exit code 2."""


def safe(text: object) -> str:
    """``text`` as one field of a line: every control (newline and tab too),
    bidi control and invisible format character becomes U+FFFD (see
    app.cli.output, which does the same to everything the CLI prints, but
    keeps newlines and tabs)."""
    return neutralise(str(text))


def cut(text: str | None, width: int) -> str:
    """``safe(text)`` ("-" when empty), cut to ``width`` characters."""
    text = text or "-"
    if not (type(text) is str and text.isprintable()):  # the clean case without two calls: 3 per table row
        text = safe(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def chosen_data_dirs(args: argparse.Namespace) -> tuple[list[locations.DataDir], list[str]]:
    """The folders to scan, and where it looked (the folders chosen, when the user chose)."""
    if args.data_dir:
        dirs: list[locations.DataDir] = []
        seen: set[object] = set()
        for raw in args.data_dir:
            try:
                if not Path(raw).exists():
                    raise UsageError(f"--data-dir {raw}: no such folder")
                if not Path(raw).is_dir():
                    raise UsageError(f"--data-dir {raw}: not a folder")
            except OSError as exc:
                raise UsageError(f"--data-dir {raw}: cannot be opened ({exc.strerror or exc})") from None
            chosen = locations.chosen(raw)
            # The same folder named twice, by two names or through a bind
            # mount, is scanned and changed once: known by what it is.
            if (same := _identity(chosen.path)) not in seen:
                seen.add(same)
                dirs.append(chosen)
        return dirs, [str(d.path) for d in dirs]
    found = locations.discover()
    return found.found, found.searched


def _identity(path: Path) -> object:
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(path)  # some Windows shares give no inode


def shell_word(text: object) -> str:
    """``safe(text)`` as one word of a command line the user can paste: in
    quotes when it holds a space or a quote (PowerShell's and cmd's double
    quotes on Windows, POSIX sh's single quotes elsewhere)."""
    word = safe(text)
    if word and not any(c in word for c in " \t'\"&|;<>()$`*?[]{}!#~%^"):
        return word
    if os.name == "nt":
        return '"' + word.replace('"', '""') + '"'
    return "'" + word.replace("'", "'\\''") + "'"


def data_dir_words(args: argparse.Namespace) -> str:
    """`` --data-dir DIR...`` as the user gave it, for a next command to repeat; else ""."""
    dirs = getattr(args, "data_dir", None) or []
    return "".join(f" --data-dir {shell_word(d)}" for d in dirs)


def looked_in(searched: Sequence[str]) -> str:
    return "Looked in:\n  " + "\n  ".join(safe(place) for place in searched)


def no_claude_data(data_dirs: Sequence[locations.DataDir]) -> str:
    """What to say of folders given with --data-dir that hold no sessions folder."""
    return (f"There is no Claude Desktop data in {', '.join(safe(str(d.path)) for d in data_dirs)}: it holds no "
            f"{locations.SESSIONS_FOLDER} folder. Claude Desktop's data folder is the one that holds it "
            f"('{PROG} locations' shows where it usually is).")


def chosen_transcripts_dir(args: argparse.Namespace, data_dirs: Sequence[locations.DataDir]) -> Path:
    if getattr(args, "projects_dir", None):
        if not Path(args.projects_dir).is_dir():
            raise UsageError(f"--projects-dir {args.projects_dir}: no such folder")
        return Path(os.path.abspath(args.projects_dir))  # plans name files absolutely
    return locations.transcripts_dir(data_dirs=data_dirs)
