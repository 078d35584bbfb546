"""The read-only commands: scan, demo, locations, and what a bare double-click does."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from app.cli.common import (
    EXIT_OK,
    PROG,
    UsageError,
    chosen_data_dirs,
    chosen_transcripts_dir,
    cut,
    data_dir_words,
    emit_json_document,
    looked_in,
    no_claude_data,
    safe,
)
from app.core import collector, locations, reasons
from app.core.display import human_size, local_time, summary_line
from app.core.records import ScanResult
from app.core.scan import scan


def print_table(result: ScanResult, out: TextIO | None = None, where: str = "") -> None:
    out = sys.stdout if out is None else out  # looked up now: main() puts a sanitising stream there
    # Made whole in memory, then written once: each write to the sanitising
    # stream costs a pass, and a table of 10,000 sessions is 70,000 prints.
    table = io.StringIO()
    _write_table(result, table, where)
    out.write(table.getvalue())


def _write_table(result: ScanResult, out: TextIO, where: str = "") -> None:
    for folder in result.folders:
        active = folder.active_account or "unknown"
        print(f"Data folder: {safe(folder.data_dir.path)}  [{folder.data_dir.label}]", file=out)
        print(f"  active account: {safe(active)}" + (f" (from {folder.active_source})" if folder.active_source
                                                        else ""), file=out)
        if folder.active_folder:
            print(f"  active session folder: {safe(folder.active_folder)}", file=out)
        diagnosis = folder.diagnosis.sentence()
        if diagnosis:
            print(f"  main.log: {safe(diagnosis)}", file=out)
        for note in (*folder.warnings, *folder.notes):
            print(f"  note: {safe(note)}", file=out)
    print(file=out)
    rows = [("STATUS", "ID", "TITLE", "LAST ACTIVITY", "SIZE", "ACCOUNT", "REASONS")]
    for s in result.all_rows():
        account = cut(s.account, 8) + ("*" if s.active else "") if s.is_record else "-"
        rows.append((s.status, cut(s.id, 15), cut(s.title, 36), local_time(s.last_activity_ms), human_size(s.size),
                     account, ", ".join(s.reasons) or "-"))
    # Column by column, in C (map, zip): a table of 100,000 rows is 700,000 cells.
    widths = [max(map(len, column)) for column in list(zip(*rows, strict=True))[:-1]]
    out.write("".join(["  ".join(map(str.ljust, r, widths)) + "  " + r[-1] + "\n" for r in rows]))
    if result.transcript_only:
        print("\nTranscripts without a record (what their first and last lines say):", file=out)
        for s in result.transcript_only:
            info = s.transcript
            assert info is not None
            turns = f"{'' if info.turns_exact else '>='}{info.turns} turn{'s' * (info.turns != 1)}"
            print(f"  {s.id}  {cut(s.title, 40)}  in {cut(info.cwd, 40)}  {local_time(info.first_ms)} to "
                  f"{local_time(info.last_ms)}  {turns}  {safe(info.model or 'model unknown')}", file=out)
    for link in result.links:
        print(f"\n{safe(link.session.id)} ({cut(link.session.title, 40)}) lost the link to its transcript; "
              f"probably {safe(link.transcript.path)}" + (":" if link.evidence else "."), file=out)
        for line in link.evidence:
            print(f"  - {safe(line)}", file=out)
    _print_why_not(result, out)
    print(file=out)
    for note in result.notes:
        print(f"Note: {safe(note)}", file=out)
    marked = " (* marks the active account.)" if any(not s.active for s in result.sessions) else ""
    print(summary_line(result) + marked, file=out)
    for hint in _hints(result, where):
        print(hint, file=out)


WHY_NOT_SHOWN = 20  # beyond that, a list of thousands buries what matters


def _print_why_not(result: ScanResult, out: TextIO) -> None:
    """The sessions whose record loads but that do not open, each with the
    step of Claude Desktop's way where it fails: the table's codes in words."""
    stuck = [s for s in result.sessions if s.opens is False and s.status not in ("healthy", "deleted")
             and s.checklist and s.checklist[0].ok]
    if not stuck:
        return
    print("\nThese load, but do not open in Claude Desktop:", file=out)
    for s in stuck[:WHY_NOT_SHOWN]:
        print(f"  {safe(s.id)} ({cut(s.title, 40)})", file=out)
        for step in s.checklist[1:]:
            if step.ok is False or step.name == "verdict":
                print(f"    - {safe(step.text)}", file=out)
    if len(stuck) > WHY_NOT_SHOWN:
        print(f"  … and {len(stuck) - WHY_NOT_SHOWN:,} more (the table above lists them all; 'scan --json' has "
              "each one's verdict)", file=out)


def _hints(result: ScanResult, where: str = "") -> list[str]:
    """The next command for each kind of fix the scan found; ``where``: the
    --data-dir words the scan was given, which the next command needs too."""
    # A healthy session of another account offers adopt too (it shows only there).
    fixes = {s.fix for s in result.sessions if s.status in ("orphaned", "healthy")}
    mirror = any(reasons.SSH_MIRROR_MISSING in s.reasons for s in result.sessions)
    hints = [("repair" in fixes, f"To bring back the sessions marked for repair, run: {PROG} repair{where} (it "
                                 "shows its plan and asks first)."),
             ("adopt" in fixes,
              f"To copy the other account's sessions into the active one, run: {PROG} adopt{where}"),
             ("rebuild" in fixes or bool(result.transcript_only or result.links),
              f"To make records for the transcripts, link records back to theirs and set aside stubs that hide a "
              f"conversation, run: {PROG} rebuild{where}"),
             (mirror, f"To install the copy of an SSH session's conversation you fetched from its host, run: "
                      f"{PROG} rebuild --mirror SESSION FILE{where}")]
    return [hint for wanted, hint in hints if wanted]


def _explain_reasons(result: ScanResult, out: TextIO | None = None) -> None:
    out = sys.stdout if out is None else out
    used = sorted({code for s in result.all_rows() for code in s.reasons})
    if used:
        print("\nReasons:", file=out)
        width = max(len(code) for code in used)
        for code in used:
            print(f"  {code:{width}} {reasons.describe(code)}", file=out)


def _report(result: ScanResult, as_json: bool, where: str = "") -> None:
    if as_json:
        emit_json_document(result.json_parts())
    else:
        print_table(result, where=where)
        _explain_reasons(result)


def cmd_scan(args: argparse.Namespace) -> int:
    data_dirs, searched = chosen_data_dirs(args)
    projects = chosen_transcripts_dir(args, data_dirs)
    if not data_dirs:
        print("No Claude Desktop data folder was found. " + looked_in(searched), file=sys.stderr)
    elif not args.json and not any(d.has_sessions for d in data_dirs):
        print(no_claude_data(data_dirs))
        return EXIT_OK
    result = scan(data_dirs, projects)
    _report(result, args.json, data_dir_words(args))
    return EXIT_OK


@contextlib.contextmanager
def _demo_folder() -> Iterator[Path]:
    import tempfile  # the demo's imports (tempfile, uuid) are not every scan's

    from app.core import demo as demo_data

    with tempfile.TemporaryDirectory(prefix="session-rescue-demo-") as tmp:
        info = demo_data.write_demo(Path(tmp) / "Claude")
        yield info.path


def has_display() -> bool:
    """Can a window open here?  Windows and macOS always have a screen; on
    Linux and the BSDs it takes an X or Wayland display (or a Qt platform
    chosen on purpose, such as offscreen)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def cmd_gui(args: argparse.Namespace) -> int:
    if args.data_dir:
        dirs, searched = chosen_data_dirs(args)
    else:
        discovery = locations.discover()
        dirs, searched = discovery.found, discovery.searched
    if not has_display():
        raise UsageError(f"there is no display to open a window on; use '{PROG} scan' here")
    from app.gui import app as gui_app  # Qt is loaded only when a window is wanted

    screenshot = Path(args.screenshot).resolve() if args.screenshot else None
    if screenshot is not None and not screenshot.parent.is_dir():
        raise UsageError(f"--screenshot {args.screenshot}: no such folder {screenshot.parent}")
    backup_root = Path(args.backup_dir) if args.backup_dir else None
    return gui_app.run(dirs, searched, screenshot, backup_root)


def cmd_default(args: argparse.Namespace) -> int:
    """No command: what a double-click does.  Open the window; where no window
    can open (an SSH session), list this computer's sessions here instead,
    or the demo data's when there are none."""
    if has_display():
        return cmd_gui(argparse.Namespace(data_dir=None, backup_dir=None, screenshot=None))
    collector.release_start()  # no window to wait for
    print("No display here, so the sessions are listed in the terminal.")
    discovery = locations.discover()
    found = [d for d in discovery.found if d.has_sessions]
    if found:
        _report(scan(found, locations.transcripts_dir(data_dirs=found)), False)
        return EXIT_OK
    print("No Claude Desktop sessions were found on this computer. " + looked_in(discovery.searched))
    print("Showing the bundled demo data instead.\n")
    with _demo_folder() as folder:
        shown = locations.DataDir(folder, "demo", "demo data", True)
        _report(scan([shown], locations.transcripts_dir(data_dirs=[shown])), False)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from app.core import demo as demo_data

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
    print(looked_in(found.searched))
    print("Found:" if found.found else "Found no Claude Desktop data folder.")
    for d in found.found:
        has = "has sessions" if d.has_sessions else f"no {locations.SESSIONS_FOLDER} folder"
        print(f"  {safe(d.path)}  [{d.label}; {has}]")
    print(f"Transcripts: {safe(locations.transcripts_dir())}")
    return EXIT_OK
