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
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, UsageError
from app.cli.output import sanitised_console
from app.cli.version import ShowVersion
from app.core import choices, collector

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    command: str | None = None  # the command the words name, when this is the whole line's parser

    def error(self, message: str) -> NoReturn:  # argparse would print the whole usage block
        # An unknown option is found by the whole line's parser: its help is the command's.
        prog = f"{self.prog} {self.command}" if self.command and message.startswith("unrecognized") else self.prog
        said = self._plain(message).replace("\r", "\\r").replace("\n", "\\n")  # one line, whatever argv holds
        raise UsageError(f"{said} (see '{prog} --help')")

    def _plain(self, message: str) -> str:
        """argparse's message in plain words, with what a typo was closest to."""
        choice = re.match(r"argument (\S+): invalid choice: (.+?) \(choose from (.+)\)$", message)
        if choice:
            name, wrong, listed = choice.group(1), choice.group(2).strip("'\""), choice.group(3)
            said = (f"'{wrong}' is not a command" if name == "command" else
                    f"{name} takes {listed}, not '{wrong}'" if name.startswith("-") else
                    f"'{wrong}' is not one of {listed}")
            return said + _closest(wrong, [str(c) for a in self._actions if a.choices for c in a.choices])
        required = re.match(r"the following arguments are required: (\w+)$", message)
        options = [a for a in self._actions if required and a.dest == required.group(1) and a.choices]
        if options:
            return f"say which: {', '.join(map(str, options[0].choices or ()))}"
        unknown = re.match(r"unrecognized arguments: (-\S+)", message)
        if unknown:
            return message + _closest(unknown.group(1).split("=")[0], self._option_strings())
        return message.removeprefix("argument ")  # "--keep-runs: takes a whole number ..."

    def _option_strings(self) -> list[str]:
        """Every option of this parser and of its commands' parsers."""
        found: list[str] = []
        for action in self._actions:
            found += action.option_strings
            if isinstance(action, argparse._SubParsersAction):
                found += [o for parser in action.choices.values() for a in parser._actions for o in a.option_strings]
        return found


def _closest(wrong: str, known: list[str]) -> str:
    """"; did you mean 'repair'?", for the one of ``known`` a typo is closest to."""
    import difflib  # only ever for a mistake

    close = difflib.get_close_matches(wrong, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


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


def _a_folder(text: str) -> str:
    """An argparse type: a folder's path, never empty (an unset $DIR in a
    script must not quietly mean the default folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("takes a folder, not an empty word")
    return text


def _backup_dir_option(p: argparse.ArgumentParser) -> None:
    option = p.add_argument("--backup-dir", metavar="DIR", type=_a_folder,
                            help="where backups are kept (default: %(default_root)s)")
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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line.  With ``only``, a command's name, that command's
    parser alone: all it needs to run, without building the dozen others
    (a few milliseconds of every command's start); with "", none of them."""
    parser = _Parser(prog=PROG, description="Find Claude Desktop's lost Code sessions, say why each is lost, and "
                     "bring them back. With no command, opens the window (or, with no display, lists the "
                     "sessions here).")
    parser.command = only
    parser.add_argument("--version", action=ShowVersion)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, (texts, add_options) in _SUBCOMMANDS.items():
        if only is None or only == name:
            add_options(sub.add_parser(name, help=texts["help"], description=texts.get("description")))
    return parser


def _wanted_command(argv: Sequence[str]) -> str | None:
    """The command argv names, when it names one first: the only parser to
    build; "" when argv is empty (a double-click's): no command's parser."""
    if not argv:
        return ""
    return argv[0] if argv[0] in _SUBCOMMANDS else None


# ------------------------------------------------- the commands that only look


def _scan(p: argparse.ArgumentParser) -> None:
    _data_dir_option(p, "scan")
    _projects_dir_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON document (see README)")


def _gui(p: argparse.ArgumentParser) -> None:
    _data_dir_option(p, "show")
    _backup_dir_option(p)
    p.add_argument("--screenshot", metavar="FILE",
                   help="save a PNG of the window once the first session's preview shows, then exit")


def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="a new or empty folder")


def _nothing(p: argparse.ArgumentParser) -> None:
    """A command without options of its own."""


# ------------------------------ what a user does next with a session (read-only)


def _one_session_options(p: argparse.ArgumentParser) -> None:
    """ID, and where to look for it: what export and resume-command share."""
    p.add_argument("id", metavar="ID", help="a session id (local_<uuid>, or just the uuid) or a transcript id")
    _data_dir_option(p, "look in", one_each=True)
    _projects_dir_option(p)


def _export(p: argparse.ArgumentParser) -> None:
    _one_session_options(p)
    p.add_argument("--format", choices=choices.FORMATS,
                   help="md (the default) or html (the default for an -o name ending in .html)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to this new file instead of standard output")


def _resume_command(p: argparse.ArgumentParser) -> None:
    _one_session_options(p)
    p.add_argument("--shell", choices=choices.SHELLS,
                   help="the shell to write it for (default: powershell on Windows, sh elsewhere)")


# ------------------------------- the commands that plan and change sessions


def _repair(p: argparse.ArgumentParser) -> None:
    _change_options(p, "repair", "session", "repair only these sessions (local_<uuid>, or just the uuid)")


def _adopt(p: argparse.ArgumentParser) -> None:
    _change_options(p, "adopt", "session", "adopt only these sessions (local_<uuid>, or just the uuid)")


def _rebuild(p: argparse.ArgumentParser) -> None:
    _change_options(p, "rebuild", "transcript",
                    "only these transcripts (their uuid), or a record's id (a link, a stub to set aside)")
    p.add_argument("--mirror", nargs=2, metavar=("SESSION", "FILE"),
                   help="install FILE, a copy of an SSH session's remote transcript, as that session's "
                   "local mirror (its lines must name the session; a longer mirror is never replaced)")


# ------------------------------------------ undo, and the list of backups


def _undo(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to undo (see 'backups'), or its folder")
    p.add_argument("--last", action="store_true", help="undo the most recent change still to undo")
    _backup_dir_option(p)
    _data_dir_option(p, "undo the changes of (their backups, when --backup-dir is not given)", one_each=True)
    p.add_argument("--ignore-running", action="store_true", help="undo even while Claude Desktop runs")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation on a terminal")


def _backups(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=("list", "prune"), default="list", help="list (the default) or prune")
    _backup_dir_option(p)
    _data_dir_option(p, "list the backups of (when --backup-dir is not given)", one_each=True)
    p.add_argument("--json", action="store_true", help="print one JSON document (list)")
    _keep_options(p)
    p.add_argument("--dry-run", action="store_true", help="say what prune would remove; remove nothing")
    p.add_argument("-y", "--yes", action="store_true", help="prune without asking")


# ------------------------------------ the watcher, and starting it at logon


def _watch(p: argparse.ArgumentParser) -> None:
    _data_dir_option(p, "repair")
    _backup_dir_option(p)
    p.add_argument("--interval", type=_number(float, 0.05, "a number of seconds"), default=5.0,
                   metavar="SECONDS", help="how often to look whether Claude Desktop runs (default: 5)")
    _keep_options(p)


def _autostart(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("enable", "disable", "status"))


# Each command, in the order --help lists them: its help texts, and its options.
_SUBCOMMANDS: dict[str, tuple[dict[str, str], Callable[[argparse.ArgumentParser], None]]] = {
    "scan": ({"help": "list every session and its state (read-only)",
              "description": "List every session in Claude Desktop's data folders: healthy (it shows and opens), "
              "orphaned (lost, and it can come back), corrupt (nothing left to bring back) or deleted, each with "
              "the reasons, then the command that fixes what was found. Changes nothing."}, _scan),
    "gui": ({"help": "open the window (what running with no command does)",
             "description": "Open the window: the sessions, what is in each, and Repair with a plan shown first, "
             "backups and undo."}, _gui),
    "demo": ({"help": "write a sample data folder that shows every status and reason",
              "description": "Write made-up sessions into DIR, one for every status and reason, to try the tool "
              "on (scan --data-dir DIR, repair --data-dir DIR) without touching Claude's own data."}, _demo),
    "locations": ({"help": "show where Claude Desktop keeps its data on this computer",
                   "description": "Show every place Claude Desktop keeps its data on this computer (each kind of "
                   "install), which of them exist and hold sessions, and where the transcripts are."}, _nothing),
    "export": ({"help": "write a session's conversation as Markdown or HTML (read-only)",
                "description": "Write the conversation of a session (a record, even one that cannot be brought "
                "back, or a transcript without one) as Markdown, or as an HTML page that needs nothing else. It "
                "goes to standard output unless -o names a new file; an existing file is never replaced."},
               _export),
    "resume-command": ({"help": "print the command that continues a session with Claude Code in a terminal",
                        "description": "Print the one line that continues a session with Claude Code (claude "
                        "--resume) in the folder it ran in, quoted for PowerShell on Windows and for POSIX sh "
                        "elsewhere. It only prints it."}, _resume_command),
    "repair": ({"help": "bring back orphaned and fixable sessions (backed up; can be undone)",
                "description": "Repair every session that can be repaired, or the ones named with --session. Each "
                "changed file is backed up first. Claude Desktop must be closed."}, _repair),
    "adopt": ({"help": "copy sessions left under another account into the active one",
               "description": "Copy the records of sessions left under another account or organisation (one "
               "Claude Desktop is not signed in to now) into the active one, so that its sidebar lists them. The "
               "originals stay where they are. Deleted sessions and ids the active account already has are "
               "skipped. Asks first (or --yes); can be undone."}, _adopt),
    "rebuild": ({"help": "make records for transcripts that have none, and relink records that lost their "
                 "transcript",
                 "description": "For each Claude Code transcript that no record points to, write a new record into "
                 "the active account, made from the transcript. A record that lost its link to a transcript that "
                 "matches it is linked instead, with the evidence shown. Asks first (or --yes); backed up; can be "
                 "undone."}, _rebuild),
    "undo": ({"help": "put back every file a change made, byte for byte",
              "description": "Put back, from its backups, every file a repair, adopt or rebuild changed, byte for "
              "byte; a file changed since is kept as it is, and said. Name the run (see 'backups') or --last. "
              "Claude Desktop must be closed."}, _undo),
    "backups": ({"help": "list the backups of past changes, or prune old ones",
                 "description": "List every backup run (what it was, when, and whether it can be undone). "
                 "'backups prune' removes finished runs older than --keep-days or beyond the newest --keep-runs; "
                 "interrupted, partly undone and damaged runs are never removed."}, _backups),
    "watch": ({"help": "keep sessions repaired: repair each time Claude Desktop quits",
               "description": "Repair at start if Claude Desktop is not running, and again each time it quits, "
               "until stopped (Ctrl+C). Each repair is backed up and can be undone."}, _watch),
    "autostart": ({"help": "start the watcher at logon, for you only (no admin rights)",
                   "description": "enable: start 'watch' at each logon of yours (no admin rights); disable: stop "
                   "that; status: say whether it is on, and whether a watcher runs now."}, _autostart),
}


# Each command's module and function, imported when it runs: a read-only
# scan need not load the repair, backup and export machinery first.
COMMANDS = {"scan": "scan_commands:cmd_scan", "demo": "scan_commands:cmd_demo",
            "locations": "scan_commands:cmd_locations", "repair": "repair_commands:cmd_repair",
            "undo": "repair_commands:cmd_undo", "adopt": "repair_commands:cmd_adopt",
            "rebuild": "repair_commands:cmd_rebuild", "backups": "repair_commands:cmd_backups",
            "gui": "scan_commands:cmd_gui", "watch": "watch_commands:cmd_watch",
            "autostart": "watch_commands:cmd_autostart", "export": "export_commands:cmd_export",
            "resume-command": "export_commands:cmd_resume_command", None: "scan_commands:cmd_default"}


# What opens the window (no command: if there is a display, see scan_commands.cmd_default).
WINDOW_COMMANDS = ("gui", None)


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
            words = sys.argv[1:] if argv is None else list(argv)
            args = build_parser(_wanted_command(words)).parse_args(words)
            if args.command not in WINDOW_COMMANDS:
                collector.release_start()  # the window's start ends once it shows its sessions (app.gui.app)
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
