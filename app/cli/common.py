"""What every command shares: the usage error, exit codes, safe printing,
and the choice of data folders."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

from app.core import locations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CLAUDE_RUNNING = 0, 1, 2, 3
PROG = "session-rescue"


class UsageError(Exception):
    """A mistake in what the user asked for: one sentence, exit code 2."""


# Control characters in a title or a file name (an escape sequence, say) must
# not reach the terminal, where they could move the cursor or clear the screen.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(text: object) -> str:
    return _CONTROLS.sub("\ufffd", str(text))


def cut(text: str | None, width: int) -> str:
    text = safe(text or "-")
    return text if len(text) <= width else text[: width - 1] + "…"


def chosen_data_dirs(args: argparse.Namespace) -> tuple[list[locations.DataDir], list[str]]:
    """The folders to scan, and where discovery looked (empty when the user chose)."""
    if args.data_dir:
        dirs = []
        for raw in args.data_dir:
            try:
                if not Path(raw).exists():
                    raise UsageError(f"--data-dir {raw}: no such folder")
                if not Path(raw).is_dir():
                    raise UsageError(f"--data-dir {raw}: not a folder")
            except OSError as exc:
                raise UsageError(f"--data-dir {raw}: cannot be opened ({exc.strerror or exc})") from None
            dirs.append(locations.chosen(raw))
        return dirs, []
    found = locations.discover()
    return found.found, found.searched


def looked_in(searched: Sequence[str]) -> str:
    return "Looked in:\n  " + "\n  ".join(safe(place) for place in searched)


def chosen_transcripts_dir(args: argparse.Namespace, data_dirs: Sequence[locations.DataDir]) -> Path:
    if getattr(args, "projects_dir", None):
        if not Path(args.projects_dir).is_dir():
            raise UsageError(f"--projects-dir {args.projects_dir}: no such folder")
        return Path(args.projects_dir)
    return locations.transcripts_dir(data_dirs=data_dirs)
