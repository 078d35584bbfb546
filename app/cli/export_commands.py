"""What a user does next with a session: export its conversation, or get
the command that continues it in a terminal.  Both only read.

Exit codes: 0 done; 1 the session was found but its conversation cannot be
exported or resumed here (not on this computer, holds none, cannot be read,
or the file cannot be written), said in one sentence; 2 a usage error (an id
that names nothing, an -o file that exists or whose folder does not).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from app.cli.common import EXIT_FAILED, EXIT_OK, PROG, UsageError, chosen_data_dirs, chosen_transcripts_dir, safe
from app.core import export, fsops, resume
from app.core.records import Session
from app.core.scan import scan


def _err(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)


def _session(args: argparse.Namespace) -> Session:
    """The session or transcript ARG names, from a scan of the chosen folders."""
    data_dirs, _ = chosen_data_dirs(args)
    result = scan(data_dirs, chosen_transcripts_dir(args, data_dirs))
    try:
        session = export.find_session(result, args.id)
    except export.ExportError as exc:  # a short id that begins several
        raise UsageError(safe(str(exc))) from None
    if session is None:
        raise UsageError(f"no session or transcript “{safe(args.id)}” was found (see '{PROG} scan' for the ids; "
                         "the first 8 characters of one are enough)")
    return session


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    extension = os.path.splitext(args.output or "")[1].lower()
    return export.HTML if extension in (".html", ".htm") else export.MARKDOWN


def _utf8_stdout() -> None:
    """A document sent to a pipe or a file is UTF-8 with \\n line ends on
    every system (a terminal keeps its own encoding)."""
    if not sys.stdout.isatty():
        with contextlib.suppress(AttributeError, ValueError, OSError):
            sys.stdout.reconfigure(encoding="utf-8", errors="replace", newline="\n")  # type: ignore[union-attr]


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format(args)
    if args.output:
        target = os.path.abspath(args.output)
        if fsops.lexists(target):
            raise UsageError(f"{safe(args.output)} already exists; export never replaces a file, so choose "
                             "another name")
        if not os.path.isdir(os.path.dirname(target)):
            raise UsageError(f"-o {safe(args.output)}: there is no folder {safe(os.path.dirname(target))}")
    session = _session(args)
    try:
        if args.output:
            tally = export.export_to_file(session, target, fmt)
        else:
            source = export.source_of(session)
            _utf8_stdout()
            tally = export.write(source, sys.stdout, fmt)
    except export.TargetExists as exc:
        raise UsageError(str(exc)) from None
    except export.ExportError as exc:
        _err(str(exc))
        return EXIT_FAILED
    if tally.error is not None:
        _err(f"the export is incomplete: {tally.error}")
        return EXIT_FAILED
    if args.output:
        n = tally.messages
        print(f"Wrote the conversation of {safe(session.id)} ({n:,} message{'s' * (n != 1)}) to {safe(target)}")
    return EXIT_OK


def cmd_resume_command(args: argparse.Namespace) -> int:
    session = _session(args)
    found = resume.resume_command(session, shell=args.shell)
    if found.command is None:
        _err(found.reason or "no command can be given")
        return EXIT_FAILED
    print(found.command)
    if found.note:
        print(f"note: {found.note}", file=sys.stderr)
    return EXIT_OK

