"""``session-rescue``: the terminal front end.  It parses, calls app.core, prints.

Exit codes: 0 success; 2 a usage error, always one line and never a traceback;
1 an unexpected failure, also one line (set SESSION_RESCUE_DEBUG=1 for the
traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from app import __version__
from app.core import demo as demo_data
from app.core import locations
from app.core import reasons as R
from app.core.records import ScanResult
from app.core.scan import scan

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROG = "session-rescue"


class UsageError(Exception):
    """A mistake in what the user asked for: one sentence, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the whole usage block
        raise UsageError(f"{message} (see '{PROG} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Find Claude Desktop's lost Code sessions, and say why each is lost. "
                     "With no command, scans the Claude data on this computer (or the demo data if there is none).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p_scan = sub.add_parser("scan", help="list every session and its state (read-only)")
    p_scan.add_argument("--data-dir", action="extend", nargs="+", metavar="DIR",
                        help="Claude data folders to scan instead of the ones found")
    p_scan.add_argument("--projects-dir", metavar="DIR",
                        help="where the Claude Code transcripts are (default: ~/.claude/projects)")
    p_scan.add_argument("--json", action="store_true", help="print one JSON document (see README)")

    p_demo = sub.add_parser("demo", help="write a sample data folder that shows every status and reason")
    p_demo.add_argument("dir", metavar="DIR", help="a new or empty folder")

    sub.add_parser("locations", help="show where Claude Desktop keeps its data on this computer")
    return parser


# ------------------------------------------------------------------ printing


def _when(ms: float | None) -> str:
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "?"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


# Control characters in a title or a file name (an escape sequence, say) must
# not reach the terminal, where they could move the cursor or clear the screen.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe(text: object) -> str:
    return _CONTROLS.sub("\ufffd", str(text))


def _cut(text: str | None, width: int) -> str:
    text = _safe(text or "-")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(result: ScanResult, out=sys.stdout) -> None:
    for folder in result.folders:
        active = folder.active_account or "unknown"
        print(f"Data folder: {_safe(folder.data_dir.path)}  [{folder.data_dir.label}]", file=out)
        print(f"  active account: {active}" + (f" (from {folder.active_source})" if folder.active_source else ""),
              file=out)
        for warning in folder.warnings:
            print(f"  note: {_safe(warning)}", file=out)
    print(file=out)
    rows = [("STATUS", "ID", "TITLE", "LAST ACTIVITY", "SIZE", "ACCOUNT", "REASONS")]
    for s in result.sessions:
        rows.append((s.status, _cut(s.id, 14), _cut(s.title, 36), _when(s.last_activity_ms), _size(s.size),
                     _cut(s.account, 8) + ("*" if s.active else ""), ", ".join(s.reasons) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1], file=out)
    print(file=out)
    print(summary_line(result), file=out)


def summary_line(result: ScanResult) -> str:
    counts = result.summary()
    n = len(result.sessions)
    folders = len(result.folders)
    line = (f"{n} session{'s' * (n != 1)} in {folders} data folder{'s' * (folders != 1)}: "
            f"{counts['healthy']} healthy, {counts['orphaned']} orphaned, {counts['corrupt']} corrupt.")
    if counts["orphaned"]:
        line += " Orphaned sessions can be brought back: their .tmp copy loads."
    inactive = sum(1 for s in result.sessions if not s.active)
    if inactive:
        line += f" {inactive} belong to an account that is not the active one (* marks the active one)."
    return line


def _explain_reasons(result: ScanResult, out=sys.stdout) -> None:
    used = sorted({code for s in result.sessions for code in s.reasons})
    if used:
        print("\nReasons:", file=out)
        for code in used:
            print(f"  {code:16} {R.describe(code)}", file=out)


# ------------------------------------------------------------------ commands


def _data_dirs(args: argparse.Namespace) -> tuple[list[locations.DataDir], list[str]]:
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


def _looked_in(searched: Sequence[str]) -> str:
    return "Looked in:\n  " + "\n  ".join(_safe(place) for place in searched)


def _transcripts_dir(args: argparse.Namespace, data_dirs: Sequence[locations.DataDir]) -> Path:
    if args.projects_dir:
        if not Path(args.projects_dir).is_dir():
            raise UsageError(f"--projects-dir {args.projects_dir}: no such folder")
        return Path(args.projects_dir)
    return locations.transcripts_dir(data_dirs=data_dirs)


def _report(result: ScanResult, as_json: bool) -> None:
    if as_json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_table(result)
        _explain_reasons(result)


def cmd_scan(args: argparse.Namespace) -> int:
    data_dirs, searched = _data_dirs(args)
    projects = _transcripts_dir(args, data_dirs)
    if not data_dirs:
        print("No Claude Desktop data folder was found. " + _looked_in(searched), file=sys.stderr)
    result = scan(data_dirs, projects)
    _report(result, args.json)
    return EXIT_OK


@contextlib.contextmanager
def _demo_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="session-rescue-demo-") as tmp:
        info = demo_data.write_demo(Path(tmp) / "Claude")
        yield info.path


def cmd_default(args: argparse.Namespace) -> int:
    """No command: what a double-click does.  Scan this computer's Claude data,
    or show the demo data when there is none."""
    discovery = locations.discover()
    found = [d for d in discovery.found if d.has_sessions]
    if found:
        _report(scan(found, locations.transcripts_dir(data_dirs=found)), False)
        return EXIT_OK
    print("No Claude Desktop sessions were found on this computer. " + _looked_in(discovery.searched))
    print("Showing the bundled demo data instead.\n")
    with _demo_folder() as folder:
        shown = locations.DataDir(folder, "demo", "demo data", True)
        _report(scan([shown], locations.transcripts_dir(data_dirs=[shown])), False)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        info = demo_data.write_demo(args.dir)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write the demo data to {args.dir}: {exc.strerror or exc}") from None
    print(f"Wrote {info.sessions} demo sessions to {info.path}")
    for note in info.skipped:
        print(f"  not created on this system: {note}")
    print(f"Try: {PROG} scan --data-dir {info.path}")
    return EXIT_OK


def cmd_locations(args: argparse.Namespace) -> int:
    found = locations.discover()
    print(_looked_in(found.searched))
    print("Found:" if found.found else "Found no Claude Desktop data folder.")
    for d in found.found:
        has = "has sessions" if d.has_sessions else f"no {locations.SESSIONS_FOLDER} folder"
        print(f"  {_safe(d.path)}  [{d.label}; {has}]")
    print(f"Transcripts: {_safe(locations.transcripts_dir())}")
    return EXIT_OK


COMMANDS = {"scan": cmd_scan, "demo": cmd_demo, "locations": cmd_locations, None: cmd_default}


def main(argv: Sequence[str] | None = None) -> int:
    # A session title can hold anything; never die printing it to a console
    # whose encoding cannot show it.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
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
            raise
        print(f"{PROG}: unexpected error: {exc.__class__.__name__}: {exc} "
              "(set SESSION_RESCUE_DEBUG=1 to see the details)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
