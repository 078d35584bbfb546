"""The commands that change files: repair, adopt, rebuild and undo, and the
backups (list and prune).

Repair, adopt and rebuild are one flow (scan, plan, show, confirm, back up,
carry out) with different planners, and it is core's: transaction.run does
the Claude check, the lock and the recovery of interrupted runs, in that
order, for this front end as for the window and the watcher.  This module
only asks and prints.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from app.cli.common import (
    EXIT_CLAUDE_RUNNING,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    chosen_data_dirs,
    chosen_transcripts_dir,
    cut,
    emit_json,
    looked_in,
    no_claude_data,
    safe,
    shell_word,
)
from app.core import (
    backups,
    claude_process,
    conversation_files,
    engine,
    locations,
    planners,
    plans,
    prune,
    rebuild,
    transaction,
    undo,
)
from app.core.display import counted, human_size, sentence
from app.core.kinds import Kind
from app.core.scan import scan

OUTCOME_WORDS = {engine.DONE: "repaired", engine.IDENTICAL: "already repaired",
                 engine.SOURCE_KEPT: "repaired, source kept", engine.FAILED: "failed", plans.SKIPPED: "left as is",
                 engine.CANCELLED: "not done", plans.PLANNED: "would be repaired"}


def _err(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)


def _backup_root(args: argparse.Namespace, data_dirs: list[locations.DataDir] | None = None,
                 reading: bool = False) -> Path:
    """--backup-dir, or the default for these folders (the demo data keeps its
    own); a --backup-dir that is a file is a usage error, in one sentence.
    ``reading`` (undo, backups): a --backup-dir that does not exist is one too,
    since a mistyped path would otherwise read as "no backups"."""
    if data_dirs is None and getattr(args, "data_dir", None):  # undo, backups: the folders the change was to
        data_dirs, _ = chosen_data_dirs(args)
    root = Path(os.path.abspath(args.backup_dir)) if args.backup_dir else backups.root_for(data_dirs or [])
    try:
        backups.check_folder(root)
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    if reading and args.backup_dir and not root.exists():
        raise UsageError(f"there is no folder {safe(str(root))}: give --backup-dir the folder a repair wrote its "
                         "backups in")
    return root


def _where(root: Path) -> str:
    """``--backup-dir ROOT`` for a command line, when ROOT is not the default."""
    return "" if root == backups.default_root() else f" --backup-dir {shell_word(root)}"


def _guard(args: argparse.Namespace, doing: str) -> claude_process.Guard | None:
    """The guard a change runs under; None with --ignore-running (said aloud)."""
    if not getattr(args, "ignore_running", False):
        return claude_process.Guard()
    found = claude_process.running()
    if found:
        _err(f"warning: Claude Desktop is running ({claude_process.names(found)}). Going ahead with the {doing} "
             "because of --ignore-running; Claude Desktop may overwrite the changed files when it next saves.")
    return None


def _refused(exc: claude_process.ClaudeRunning) -> int:
    _err(f"{exc} Nothing was changed. (With --ignore-running it goes ahead anyway, at your own risk.)")
    return EXIT_CLAUDE_RUNNING


@contextlib.contextmanager
def _ctrl_c_cancels(file_engine: engine.Engine, started: Callable[[], bool]) -> Iterator[None]:
    """While files change, a first Ctrl+C stops the job between two sessions
    (what is done stays done, and can be undone); a second one stops it now
    (the next run then undoes what this one did).  Before the job has
    ``started`` (recovering, scanning, planning), it stops before it starts.
    Only in the main thread."""

    def first(signum: int, frame: FrameType | None) -> None:
        file_engine.cancel()
        where = "after the current session" if started() else "before changing anything more"
        print(f"\nStopping {where} (Ctrl+C again stops at once)…", file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    with _on_ctrl_c(first):
        yield


@contextlib.contextmanager
def _on_ctrl_c(handler: Callable[[int, FrameType | None], Any]) -> Iterator[None]:
    """Ctrl+C (SIGINT) handled by ``handler`` within the block, as before
    after it.  Only in the main thread, which alone may set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _asks(args: argparse.Namespace) -> bool:
    """A person at a terminal is asked first; a script (no terminal, --yes or --json) is not."""
    return not (getattr(args, "yes", False) or getattr(args, "json", False) or not sys.stdin.isatty())


def _confirm(question: str, args: argparse.Namespace) -> bool:
    """Ask; only y or yes goes on.  Ctrl+C at the question is a no, and the
    command then ends with exit code 130 (``args.interrupted``), once it has
    said what it did before asking (an interrupted run it undid first, say)."""
    if not _asks(args):
        return True
    try:
        with _on_ctrl_c(signal.default_int_handler):  # a KeyboardInterrupt here, whatever was set around it
            answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    except KeyboardInterrupt:
        print()  # past the ^C, on a line of its own
        args.interrupted = True
        return False
    return answer.strip().lower() in ("y", "yes")


def _declined(args: argparse.Namespace) -> int:
    """The exit code of a command the user said no to: 130 if by Ctrl+C."""
    return EXIT_INTERRUPTED if getattr(args, "interrupted", False) else EXIT_OK


def _progress_printer(enabled: bool) -> Callable[[int, int, object], bool]:
    def show(done: int, total: int, action: object) -> bool:
        if enabled:
            name = getattr(action, "id", action)
            print(f"\r[{done + 1}/{total}] {cut(str(name), 60):60}", end="", file=sys.stderr, flush=True)
        return True
    return show


def _notes(lines: list[str], quiet: bool, root: Path | None = None) -> None:
    if not quiet:
        for line in lines:
            print(safe(_pointed(line, root)), file=sys.stderr)


def _pointed(text: str, root: Path | None) -> str:
    """A sentence of core's that sends the user to the list of backups, with
    the command that shows that list, backup folder and all."""
    return text.replace(backups.SEE_LIST, f"(see '{PROG} backups{_where(root) if root else ''}')")


# ------------------------------------------- repair, adopt, rebuild: one flow


@dataclass(frozen=True)
class Job:
    """What differs between the commands that plan and change sessions."""

    kind: Kind  # also the planner's name in planners.PLANNERS
    ids: str  # the option naming what to act on
    done: str  # the outcome word for a change made
    opt_in: bool = False  # True: changes only when a person (or --yes) confirms


REPAIR = Job(Kind.REPAIR, "session", "repaired")
ADOPT = Job(Kind.ADOPT, "session", "adopted", opt_in=True)
REBUILD = Job(Kind.REBUILD, "transcript", "rebuilt/linked", opt_in=True)


def _words(job: Job) -> dict[str, str]:
    return {**OUTCOME_WORDS, engine.DONE: job.done, engine.SOURCE_KEPT: f"{job.done}, source kept",
            plans.PLANNED: f"would be {job.done}"}


def _print_plan(the_plan: plans.Plan, root: Path | None, job: Job = REPAIR) -> None:
    to_do = the_plan.to_do
    print(f"Plan: {len(to_do)} session{'s' * (len(to_do) != 1)} to {job.kind}, "
          f"{len(the_plan.actions) - len(to_do)} to leave as they are."
          + (f" Backups go to {safe(root)}." if root and to_do else ""))
    width = max((len(action.action) for action in the_plan.actions), default=0)
    for action in the_plan.actions:
        print(f"  {action.action:{width}} {cut(action.id, 20):20} {cut(action.session.title, 30):30} "
              f"{safe(action.reason)}")


def _undo_hint(report: plans.Report, args: argparse.Namespace, root: Path) -> str:
    return f"{PROG} undo {report.run_id}{_where(root)}"


def _print_report(report: plans.Report, job: Job, args: argparse.Namespace, root: Path) -> None:
    words = _words(job)
    print()
    for r in report.results:
        if r.outcome == plans.PLANNED:
            continue
        print(f"  {words.get(r.outcome, r.outcome):20} {cut(r.id, 20):20} {cut(r.title, 30):30} "
              f"{safe(r.detail)}")
    counts = report.summary()
    print(f"\n{counts[engine.DONE] + counts[engine.SOURCE_KEPT]} {job.done}, {counts[engine.IDENTICAL]} already done, "
          f"{counts[plans.SKIPPED]} left as they are, {counts[engine.FAILED]} failed"
          + (f", {counts[engine.CANCELLED]} not done" if counts[engine.CANCELLED] else "") + ".")
    if report.stopped:
        print(safe(report.stopped))
    if report.run_id:
        print(f"Backups of the files this run touched: {safe(report.backup_dir)}")
        if counts[engine.DONE] + counts[engine.SOURCE_KEPT]:
            print(f"To undo this {job.kind}: {_undo_hint(report, args, root)}")


def cmd_repair(args: argparse.Namespace) -> int:
    return run_job(args, REPAIR)


def cmd_adopt(args: argparse.Namespace) -> int:
    return run_job(args, ADOPT)


def cmd_rebuild(args: argparse.Namespace) -> int:
    return run_job(args, REBUILD)


def run_job(args: argparse.Namespace, job: Job) -> int:
    """Scan, plan, show the plan, confirm, back up and carry it out."""
    found, searched = chosen_data_dirs(args)
    dirs = found if args.data_dir else [d for d in found if d.has_sessions]
    if job is not REBUILD and dirs and not any(d.has_sessions for d in dirs):
        # (rebuild may make the first records of a folder whose records were all wiped)
        print(no_claude_data(dirs), file=sys.stderr)
        if args.json:
            emit_json({**plans.Report(None, None, args.dry_run, []).to_json(), "notes": []})
        return EXIT_OK
    if not dirs:
        print(f"No Claude Desktop sessions were found, so there is nothing to {job.kind}. " + looked_in(searched),
              file=sys.stderr)
        if args.json:
            emit_json({**plans.Report(None, None, args.dry_run, []).to_json(), "notes": []})
        return EXIT_OK
    root = _backup_root(args, dirs)
    try:
        backups.check_root(root, dirs)
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    if args.dry_run:
        return _dry(args, dirs, job)
    if job.opt_in and not _asks(args) and not args.yes:
        raise UsageError(f"{job.kind} changes Claude's folder only when confirmed: run it at a terminal to be "
                         f"asked, or add --yes (see the plan first with --dry-run)")
    file_engine = engine.Engine()
    mirror = getattr(args, "mirror", None)
    ids = [mirror[0]] if mirror else getattr(args, job.ids)
    if mirror and not os.path.isfile(mirror[1]):
        raise UsageError(f"--mirror {mirror[1]}: no such file")
    request = transaction.Job(job.kind, dirs, root, chosen_transcripts_dir(args, dirs), ids,
                              os.path.abspath(mirror[1]) if mirror else None)
    try:
        done = _carry_out(args, job, request, file_engine)
    except claude_process.ClaudeRunning as exc:
        return _refused(exc)
    except backups.Busy as exc:
        _err(str(exc))
        return EXIT_FAILED
    except backups.BackupError as exc:
        hint = "" if args.backup_dir else "; choose another folder with --backup-dir"
        raise UsageError(f"{exc}{hint}") from None
    except plans.PlanError as exc:
        raise UsageError(str(exc)) from None
    return _finish(args, job, done, root, file_engine.cancelled)


def _carry_out(args: argparse.Namespace, job: Job, request: transaction.Job,
               file_engine: engine.Engine) -> transaction.Result:
    """Core's transaction, with this terminal's confirmation, progress line and Ctrl+C."""

    started = False

    def confirm(the_plan: plans.Plan) -> bool:
        nonlocal started
        if not file_engine.cancelled and _asks(args):
            _print_plan(the_plan, request.backup_root, job)
        if not file_engine.cancelled:
            started = _confirm(f"{job.kind.capitalize()} {counted(len(the_plan.to_do), 'session')} now?", args)
        # Ctrl+C while it recovered, scanned or planned, or while the plan was
        # printed (a plan of thousands takes a while), up to the question:
        # this job never starts, whatever the answer.
        if file_engine.cancelled:
            args.interrupted = True
            started = False
        return started

    show_progress = sys.stderr.isatty() and not args.json
    try:
        with _ctrl_c_cancels(file_engine, lambda: started):
            return transaction.run(request, _guard(args, str(job.kind)), confirm, file_engine=file_engine,
                                   progress=_progress_printer(show_progress))
    finally:
        if show_progress:
            print(file=sys.stderr)


def _finish(args: argparse.Namespace, job: Job, done: transaction.Result, root: Path, cancelled: bool) -> int:
    """Say how the job went, and its exit code."""
    _notes(done.notes(), args.json, root)
    if done.stopped:
        _err(done.stopped)
        return EXIT_CLAUDE_RUNNING
    if done.declined:
        print("Nothing was changed.")
        return _declined(args)
    report = done.report
    assert report is not None
    _output(report, args, job, root, done.notes())
    if _wrong_mirror(args, report):
        return EXIT_USAGE
    if report.stopped_by_claude:
        return EXIT_CLAUDE_RUNNING
    if cancelled and report.run_id:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failed or report.stopped else EXIT_OK


def _plan(args: argparse.Namespace, dirs: list[locations.DataDir], job: Job) -> plans.Plan:
    chosen = getattr(args, job.ids)
    mirror = getattr(args, "mirror", None)
    result = scan(dirs, chosen_transcripts_dir(args, dirs), details=job.kind != Kind.REPAIR or bool(chosen))
    try:
        if mirror:
            return rebuild.plan(result, [mirror[0]], mirror=os.path.abspath(mirror[1]))
        return planners.PLANNERS[job.kind](result, chosen)
    except plans.PlanError as exc:
        raise UsageError(str(exc)) from None


def _dry(args: argparse.Namespace, dirs: list[locations.DataDir], job: Job) -> int:
    running = claude_process.running()
    if running and not args.json:
        _err(f"note: {claude_process.message(running)}")
    the_plan = _plan(args, dirs, job)
    report = plans.dry_run(the_plan)
    if args.json:
        _output(report, args, job, Path(), [])
    else:
        _print_plan(the_plan, None, job)
        counts = report.summary()
        failing = [r for r in report.results if r.outcome == engine.FAILED]
        for r in failing:
            print(f"  {'would fail':13} {cut(r.id, 20):20} {safe(r.detail)}")
        print(f"\nDry run: nothing was changed. {counted(counts[plans.PLANNED], 'session')} would be {job.done}"
              + (f", {len(failing)} would fail." if failing else "."))
        if counts[plans.PLANNED]:
            print("To do it, run the same command without --dry-run (it shows this plan again and asks first).")
    if _wrong_mirror(args, report):
        return EXIT_USAGE
    return EXIT_FAILED if report.failed else EXIT_OK


def _wrong_mirror(args: argparse.Namespace, report: plans.Report) -> bool:
    """``rebuild --mirror`` given a file that is not that session's
    conversation is the user's mistake: one sentence, and exit code 2."""
    if not getattr(args, "mirror", None):
        return False
    left = [r for r in report.results if r.action == conversation_files.MIRROR_REFUSED]
    if left:
        _err(f"{safe(args.mirror[1])} was not installed: {safe(left[0].detail)}")
    return bool(left)


def _output(report: plans.Report, args: argparse.Namespace, job: Job, root: Path, notes: list[str]) -> None:
    if args.json:
        emit_json({**report.to_json(), "notes": notes})
    else:
        _print_report(report, job, args, root)


# --------------------------------------------------------------------- undo


def cmd_undo(args: argparse.Namespace) -> int:
    if args.run_id and args.last:
        raise UsageError("give a run id or --last, not both")
    run_id = args.run_id
    if run_id and os.sep in run_id and os.path.isdir(run_id) and not args.backup_dir:
        # The run's folder, as a repair printed it: its parent is the backup folder.
        args.backup_dir, run_id = os.path.dirname(os.path.abspath(run_id)), os.path.basename(os.path.abspath(run_id))
    root = _backup_root(args, reading=True)
    if not args.run_id and not args.last:
        raise UsageError(_pointed(f"say which change to undo: a run id {backups.SEE_LIST} or --last", root))

    def confirm(info: backups.RunInfo) -> bool:
        return _confirm(f"Undo the {info.kind} {info.run_id} of {info.created_local} "
                        f"({counted(info.sessions, 'session')})?", args)

    try:
        done = undo.undo_run(root, run_id, _guard(args, "undo"), confirm)
    except claude_process.ClaudeRunning as exc:
        return _refused(exc)
    except backups.NothingToUndo as exc:
        print(sentence(str(exc)))
        return EXIT_OK
    except backups.Busy as exc:
        _err(str(exc))
        return EXIT_FAILED
    except backups.BackupError as exc:
        raise UsageError(_pointed(str(exc), root)) from None
    return _print_undo(done, root, args)


def _print_undo(done: undo.UndoOutcome, root: Path, args: argparse.Namespace) -> int:
    others = [n for n, r in zip(done.recovery.sentences(), done.recovery.undone, strict=False)
              if r.run_id != done.run_id] + done.recovery.sentences()[len(done.recovery.undone):]
    _notes(others, False, root)
    if done.how == undo.ALREADY:
        print(f"Run {safe(done.run_id)} is already undone; nothing was changed.")
        return EXIT_OK
    if done.how == undo.DECLINED:
        print("Nothing was changed.")
        return _declined(args)
    words = {engine.DONE: "put back", undo.KEPT: "kept (changed since)", engine.FAILED: "failed",
             engine.CANCELLED: "not undone"}
    for r in done.results:
        if r.outcome != engine.IDENTICAL:  # nothing to undo: counted below, not listed
            print(f"  {words.get(r.outcome, r.outcome):20} {cut(r.title or r.id, 40):40} {safe(r.detail)}")
    if done.stopped:
        print(safe(done.stopped))
        return EXIT_CLAUDE_RUNNING
    bad = [r for r in done.results if r.outcome not in (engine.DONE, engine.IDENTICAL)]
    restored = sum(r.outcome == engine.DONE for r in done.results)
    same = sum(r.outcome == engine.IDENTICAL for r in done.results)
    how = " (it had been interrupted)" if done.how == undo.BY_RECOVERY else ""
    print(f"\nUndid run {safe(done.run_id)}{how}: {counted(restored, 'session')} put back as "
          f"{'it was' if restored == 1 else 'they were'}"
          + (f", {same} already as they were" if same else "")
          + (f", {len(bad)} not put back (see above); the backups stay in {safe(root / done.run_id)}." if bad
             else "."))
    return EXIT_FAILED if bad else EXIT_OK


# ------------------------------------------------------------------ backups


def cmd_backups(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "prune":
        return _prune(args)
    root = _backup_root(args, reading=True)
    infos = backups.describe_all(root)
    if args.json:
        emit_json({"backup_dir": str(root), "runs": [i.to_json() for i in infos]})
        return EXIT_OK
    if not infos:
        print(f"No backups yet in {safe(root)}.")
        return EXIT_OK
    print(f"Backups in {safe(root)} (newest last; times are local):")
    rows = [("RUN ID", "MADE", "KIND", "STATUS", "SESSIONS", "FILES", "SIZE")]
    rows += [(i.run_id, i.created_local, i.kind or "?", i.status, str(i.sessions), str(i.files),
              human_size(i.size)) for i in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(safe(cell).ljust(w) for cell, w in zip(r, widths, strict=True)))
    for info in infos:
        if info.problem:
            print(f"\n{safe(info.run_id)} is damaged: {safe(info.problem)}. It is never used for an undo; its "
                  f"files stay in {safe(info.path)}.")
    if any(info.status in backups.UNDOABLE for info in infos):  # else there is nothing an undo would do
        print(f"\nTo undo one: {PROG} undo RUN_ID{_where(root)} (or {PROG} undo --last{_where(root)})")
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    root = _backup_root(args, reading=True)
    policy = prune.Policy(args.keep_days, args.keep_runs)
    going = prune.chosen(backups.describe_all(root), policy)
    if not going:
        print(f"Nothing to remove in {safe(root)}: every run is newer than {args.keep_days:g} days and among the "
              f"newest {args.keep_runs}, or is not finished (interrupted, partly undone or damaged runs are kept).")
        return EXIT_OK
    listed = "\n".join(f"  {safe(i.run_id)}  {i.created_local}  {i.kind or '?'}  {i.status}" for i in going[:20])
    more = f"\n  … and {len(going) - 20} more" if len(going) > 20 else ""
    these = "This backup run is" if len(going) == 1 else f"These {len(going):,} backup runs are"
    print(f"{these} older than {args.keep_days:g} day{'s' * (args.keep_days != 1)} or beyond the newest "
          f"{counted(args.keep_runs, 'run')}:\n{listed}{more}")
    if args.dry_run:
        print("Dry run: nothing was removed.")
        return EXIT_OK
    if not _asks(args) and not args.yes:
        raise UsageError("prune deletes backups only when confirmed: run it at a terminal to be asked, or add --yes")
    if not _confirm(f"Delete {'this backup run' if len(going) == 1 else f'these {len(going):,} backup runs'}? "
                    "What they did can then no longer be undone.", args):
        print("Nothing was removed.")
        return _declined(args)
    try:
        with backups.exclusive(root):
            done = prune.prune(root, policy)
    except backups.BackupError as exc:
        _err(str(exc))
        return EXIT_FAILED
    print(f"Removed {counted(len(done.removed), 'backup run')}; {done.kept} kept.")
    for run_id, why in done.failed:
        print(f"  kept {safe(run_id)}: {safe(why)}")
    return EXIT_FAILED if done.failed else EXIT_OK
