"""``session-rescue``: the terminal front end.  It parses, calls app.core, prints.

Exit codes: 0 success; 1 some item failed (the rest were still done), or an
unexpected failure, one line (set SESSION_RESCUE_DEBUG=1 for the traceback);
2 a usage error, always one line and never a traceback; 3 Claude Desktop is
running, so nothing was changed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, UsageError
from app.cli.output import sanitised_console
from app.cli.version import ShowVersion
from app.core import choices

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print the whole usage block
        raise UsageError(f"{message} (see '{PROG} --help')")


def _data_dir_option(p: argparse.ArgumentParser, what: str, one_each: bool = False) -> None:
    """--data-dir DIR...; or, for a command that also takes a positional
    argument (which "DIR..." would swallow), --data-dir DIR, repeated."""
    if one_each:
        p.add_argument("--data-dir", action="append", metavar="DIR",
                       help=f"a Claude data folder to {what} instead of the ones found (may be repeated)")
    else:
        p.add_argument("--data-dir", action="extend", nargs="+", metavar="DIR",
                       help=f"Claude data folders to {what} instead of the ones found")


class _DefaultBackupRoot:
    """The default backup folder, worked out only when a help text shows it:
    that takes platformdirs, which no command needs before it runs."""

    def __str__(self) -> str:
        return str(choices.default_backup_root())


def _backup_dir_option(p: argparse.ArgumentParser) -> None:
    option = p.add_argument("--backup-dir", metavar="DIR", help="where backups are kept (default: %(default_root)s)")
    vars(option)["default_root"] = _DefaultBackupRoot()  # argparse fills %(...)s from the option's attributes


def _projects_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--projects-dir", metavar="DIR",
                   help="where the Claude Code transcripts are (default: ~/.claude/projects)")


def _number(kind: type, low: float, what: str) -> Callable[[str], float]:
    """An argparse type: a number of at least ``low``, or one sentence saying so."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"takes {what}, not {text!r}") from None
        if not value >= low:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"takes {what} of at least {low:g}, not {text!r}")
        return value
    return parse


def _keep_options(p: argparse.ArgumentParser) -> None:
    # At least one day and one run: the watcher prunes right after it repairs,
    # and must never remove the run it has just made.
    p.add_argument("--keep-days", type=_number(float, 1, "a number of days"), default=choices.DEFAULT_DAYS,
                   metavar="DAYS", help=f"keep backup runs this many days (default: {choices.DEFAULT_DAYS})")
    p.add_argument("--keep-runs", type=_number(int, 1, "a whole number of runs"), default=choices.DEFAULT_KEEP,
                   metavar="N", help=f"keep at most the newest N runs (default: {choices.DEFAULT_KEEP})")


def _change_options(p: argparse.ArgumentParser, verb: str, ids: str, ids_help: str) -> None:
    """The options every command that changes sessions shares with repair."""
    _data_dir_option(p, verb)
    p.add_argument(f"--{ids}", action="extend", nargs="+", metavar="ID", help=ids_help)
    _projects_dir_option(p)
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    _backup_dir_option(p)
    p.add_argument("--ignore-running", action="store_true",
                   help=f"{verb} even while Claude Desktop runs (it may overwrite the change)")
    p.add_argument("--json", action="store_true", help="print one JSON document (see README)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Find Claude Desktop's lost Code sessions, say why each is lost, and "
                     "bring them back. With no command, opens the window (or, with no display, lists the "
                     "sessions here).")
    parser.add_argument("--version", action=ShowVersion)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _looking_commands(sub)
    _conversation_commands(sub)
    _changing_commands(sub)
    _backup_commands(sub)
    _watching_commands(sub)
    return parser


def _looking_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The commands that only look: scan, gui, demo, locations."""
    p_scan = sub.add_parser("scan", help="list every session and its state (read-only)")
    _data_dir_option(p_scan, "scan")
    _projects_dir_option(p_scan)
    p_scan.add_argument("--json", action="store_true", help="print one JSON document (see README)")

    p_gui = sub.add_parser("gui", help="open the window (what running with no command does)")
    _data_dir_option(p_gui, "show")
    _backup_dir_option(p_gui)
    p_gui.add_argument("--screenshot", metavar="FILE",
                       help="save a PNG of the window once the first session's preview shows, then exit")

    p_demo = sub.add_parser("demo", help="write a sample data folder that shows every status and reason")
    p_demo.add_argument("dir", metavar="DIR", help="a new or empty folder")

    sub.add_parser("locations", help="show where Claude Desktop keeps its data on this computer")


def _one_session_options(p: argparse.ArgumentParser) -> None:
    """ID, and where to look for it: what export and resume-command share."""
    p.add_argument("id", metavar="ID", help="a session id (local_<uuid>, or just the uuid) or a transcript id")
    _data_dir_option(p, "look in", one_each=True)
    _projects_dir_option(p)


def _conversation_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """What a user does next with a session (read-only): export, resume-command."""
    p_export = sub.add_parser(
        "export", help="write a session's conversation as Markdown or HTML (read-only)",
        description="Write the conversation of a session (a record, even one that cannot be brought back, or a "
        "transcript without one) as Markdown, or as an HTML page that needs nothing else. It goes to standard "
        "output unless -o names a new file; an existing file is never replaced.")
    _one_session_options(p_export)
    p_export.add_argument("--format", choices=choices.FORMATS,
                          help="md (the default) or html (the default for an -o name ending in .html)")
    p_export.add_argument("-o", "--output", metavar="FILE", help="write to this new file instead of standard output")

    p_resume = sub.add_parser(
        "resume-command", help="print the command that continues a session with Claude Code in a terminal",
        description="Print the one line that continues a session with Claude Code (claude --resume) in the folder "
        "it ran in, quoted for PowerShell on Windows and for POSIX sh elsewhere. It only prints it.")
    _one_session_options(p_resume)
    p_resume.add_argument("--shell", choices=choices.SHELLS,
                          help="the shell to write it for (default: powershell on Windows, sh elsewhere)")


def _changing_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The commands that plan and change sessions: repair, adopt, rebuild."""
    p_repair = sub.add_parser("repair", help="bring back orphaned and fixable sessions (backed up; can be undone)",
                              description="Repair every session that can be repaired, or the ones named with "
                              "--session. Each changed file is backed up first. Claude Desktop must be closed.")
    _change_options(p_repair, "repair", "session", "repair only these sessions (local_<uuid>, or just the uuid)")

    p_adopt = sub.add_parser("adopt", help="copy sessions left under another account into the active one",
                             description="Copy the records of sessions that sit under an account or organisation "
                             "Claude Desktop is not signed in to into the active one, so that its sidebar lists "
                             "them. The originals stay where they are. Deleted sessions and ids the active "
                             "account already has are skipped. Asks first (or --yes); can be undone.")
    _change_options(p_adopt, "adopt", "session", "adopt only these sessions (local_<uuid>, or just the uuid)")

    p_rebuild = sub.add_parser("rebuild", help="make records for transcripts that have none, and relink records "
                               "that lost their transcript",
                               description="For each Claude Code transcript that no record points to, write a "
                               "new record into the active account, made from the transcript. A record that lost "
                               "its link to a transcript that matches it is linked instead, with the evidence "
                               "shown. Asks first (or --yes); backed up; can be undone.")
    _change_options(p_rebuild, "rebuild", "transcript",
                    "only these transcripts (their uuid), or a record's id (a link, a stub to set aside)")
    p_rebuild.add_argument("--mirror", nargs=2, metavar=("SESSION", "FILE"),
                           help="install FILE, a copy of an SSH session's remote transcript, as that session's "
                           "local mirror (its lines must name the session; a longer mirror is never replaced)")


def _backup_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """undo, and the list of backups (and pruning it)."""
    p_undo = sub.add_parser("undo", help="put back every file a change made, byte for byte")
    p_undo.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to undo (see 'backups'), or its folder")
    p_undo.add_argument("--last", action="store_true", help="undo the most recent change still to undo")
    _backup_dir_option(p_undo)
    _data_dir_option(p_undo, "undo the changes of (their backups, when --backup-dir is not given)", one_each=True)
    p_undo.add_argument("--ignore-running", action="store_true", help="undo even while Claude Desktop runs")
    p_undo.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation on a terminal")

    p_backups = sub.add_parser("backups", help="list the backups of past changes, or prune old ones",
                               description="List every backup run (what it was, when, and whether it can be "
                               "undone). 'backups prune' removes finished runs older than --keep-days or beyond "
                               "the newest --keep-runs; interrupted, partly undone and damaged runs are never "
                               "removed.")
    p_backups.add_argument("action", nargs="?", choices=("list", "prune"), default="list",
                           help="list (the default) or prune")
    _backup_dir_option(p_backups)
    _data_dir_option(p_backups, "list the backups of (when --backup-dir is not given)", one_each=True)
    p_backups.add_argument("--json", action="store_true", help="print one JSON document (list)")
    _keep_options(p_backups)
    p_backups.add_argument("--dry-run", action="store_true", help="say what prune would remove; remove nothing")
    p_backups.add_argument("-y", "--yes", action="store_true", help="prune without asking")


def _watching_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The watcher, and starting it at logon."""
    p_watch = sub.add_parser("watch", help="keep sessions repaired: repair each time Claude Desktop quits",
                             description="Repair at start if Claude Desktop is not running, and again each time it "
                             "quits, until stopped (Ctrl+C). Each repair is backed up and can be undone.")
    _data_dir_option(p_watch, "repair")
    _backup_dir_option(p_watch)
    p_watch.add_argument("--interval", type=_number(float, 0.05, "a number of seconds"), default=5.0,
                         metavar="SECONDS", help="how often to look whether Claude Desktop runs (default: 5)")
    _keep_options(p_watch)

    p_auto = sub.add_parser("autostart", help="start the watcher at logon, for you only (no admin rights)")
    p_auto.add_argument("action", choices=("enable", "disable", "status"))


# Each command's module and function, imported when it runs: a read-only
# scan need not load the repair, backup and export machinery first.
COMMANDS = {"scan": "scan_commands:cmd_scan", "demo": "scan_commands:cmd_demo",
            "locations": "scan_commands:cmd_locations", "repair": "repair_commands:cmd_repair",
            "undo": "repair_commands:cmd_undo", "adopt": "repair_commands:cmd_adopt",
            "rebuild": "repair_commands:cmd_rebuild", "backups": "repair_commands:cmd_backups",
            "gui": "scan_commands:cmd_gui", "watch": "watch_commands:cmd_watch",
            "autostart": "watch_commands:cmd_autostart", "export": "export_commands:cmd_export",
            "resume-command": "export_commands:cmd_resume_command", None: "scan_commands:cmd_default"}


def command(name: str | None) -> Callable[[argparse.Namespace], int]:
    module, function = COMMANDS[name].split(":")
    run: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(f"app.cli.{module}"), function)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    # A session title can hold anything; never die printing it to a console
    # whose encoding cannot show it.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    # ... nor let it drive the terminal: everything printed from here on, by
    # any command, argparse or input(), is sanitised in one place.
    with sanitised_console():
        try:
            args = build_parser().parse_args(argv)
            return command(args.command)(args)
        except UsageError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader (head, less) went away: that is not our failure.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except Exception as exc:  # noqa: BLE001 - the last line of defence for a user-facing tool
            if os.environ.get("SESSION_RESCUE_DEBUG"):
                # Printed here, through the sanitised stderr (a traceback quotes
                # paths and titles), rather than by the interpreter after main().
                import traceback  # only ever needed here

                traceback.print_exc()
                return EXIT_FAILED
            print(f"{PROG}: unexpected error: {exc.__class__.__name__}: {exc} "
                  "(set SESSION_RESCUE_DEBUG=1 to see the details)", file=sys.stderr)
            return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
