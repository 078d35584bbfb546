"""The commands that change files: repair, adopt, rebuild and undo, and the
list of backups.

Repair, adopt and rebuild are one flow (scan, plan, show, confirm, back up,
carry out) with different planners.  All of them refuse to run while Claude Desktop does (exit 3), take the backup
folder's lock, and first undo any run that a crash or a kill interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.cli.common import (
    EXIT_CLAUDE_RUNNING,
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    UsageError,
    chosen_data_dirs,
    chosen_transcripts_dir,
    cut,
    looked_in,
    safe,
)
from app.core import backups, claude_process, plans, repair
from app.core import engine as E
from app.core.records import human_size
from app.core.scan import scan

OUTCOME_WORDS = {E.DONE: "repaired", E.IDENTICAL: "already repaired", E.SOURCE_KEPT: "repaired, source kept",
                 E.FAILED: "failed", repair.SKIPPED: "left as is", E.CANCELLED: "cancelled",
                 repair.PLANNED: "would be repaired"}


def _err(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)


def _backup_root(args: argparse.Namespace) -> Path:
    return Path(args.backup_dir) if args.backup_dir else backups.default_root()


def _claude_guard(args: argparse.Namespace, doing: str) -> int | None:
    """Exit code 3 when Claude Desktop runs (unless overridden), else None."""
    found = claude_process.running()
    if not found:
        return None
    if getattr(args, "ignore_running", False):
        _err(f"warning: {claude_process.message(found)} Going ahead with {doing} because of --ignore-running; "
             "Claude Desktop may overwrite the repaired files when it next saves.")
        return None
    _err(f"{claude_process.message(found)} Nothing was changed. "
         f"(--ignore-running {doing}s anyway, at your own risk.)")
    return EXIT_CLAUDE_RUNNING


def _ready(root: Path, chosen: bool) -> None:
    try:
        backups.ensure_writable(root)
    except backups.BackupError as exc:
        hint = "" if chosen else "; choose another folder with --backup-dir"
        raise UsageError(f"{exc}{hint}") from None


def _asks(args: argparse.Namespace) -> bool:
    """A person at a terminal is asked first; a script (no terminal, --yes or --json) is not."""
    return not (getattr(args, "yes", False) or getattr(args, "json", False) or not sys.stdin.isatty())


def _confirm(question: str, args: argparse.Namespace) -> bool:
    if not _asks(args):
        return True
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _progress_printer(enabled: bool):
    def show(done: int, total: int, action: Any) -> bool:
        if enabled:
            name = getattr(action, "id", action)
            print(f"\r[{done + 1}/{total}] {cut(str(name), 60):60}", end="", file=sys.stderr, flush=True)
        return True
    return show


def _recover(root: Path, quiet: bool) -> list[str]:
    """Undo what an interrupted run did; the ids of the runs undone."""
    try:
        recovered = backups.recover(root)
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    for run, results in recovered:
        kept = [r for r in results if r.outcome not in (E.DONE, E.IDENTICAL)]
        if not quiet:
            print(f"An interrupted run ({run.run_id}) was found and undone first"
                  + (f"; {len(kept)} session(s) had changed since and were left as they are." if kept else "."),
                  file=sys.stderr)
    return [run.run_id for run, _ in recovered]


# ------------------------------------------- repair, adopt, rebuild: one flow


@dataclass(frozen=True)
class Job:
    """What differs between the commands that plan and change sessions."""

    verb: str  # repair, adopt, rebuild: also the planner's name in plans.PLANNERS
    ids: str  # the option naming what to act on
    done: str  # the outcome word for a change made
    opt_in: bool = False  # True: changes only when a person (or --yes) confirms


REPAIR = Job("repair", "session", "repaired")
ADOPT = Job("adopt", "session", "adopted", opt_in=True)
REBUILD = Job("rebuild", "transcript", "rebuilt/linked", opt_in=True)


def _words(job: Job) -> dict[str, str]:
    return {**OUTCOME_WORDS, E.DONE: job.done, E.SOURCE_KEPT: f"{job.done}, source kept",
            repair.PLANNED: f"would be {job.done}"}


def _print_plan(the_plan: repair.Plan, root: Path | None, job: Job = REPAIR) -> None:
    to_do = the_plan.to_do
    print(f"Plan: {len(to_do)} session{'s' * (len(to_do) != 1)} to {job.verb}, "
          f"{len(the_plan.actions) - len(to_do)} to leave as they are."
          + (f" Backups go to {safe(root)}." if root and to_do else ""))
    for action in the_plan.actions:
        print(f"  {action.action:13} {cut(action.id, 20):20} {cut(action.session.title, 30):30} "
              f"{safe(action.reason)}")


def _print_report(report: repair.Report, job: Job = REPAIR) -> None:
    words = _words(job)
    print()
    for r in report.results:
        if r.outcome == repair.PLANNED:
            continue
        print(f"  {words.get(r.outcome, r.outcome):20} {cut(r.id, 20):20} {cut(r.title, 30):30} "
              f"{safe(r.detail)}")
    counts = report.summary()
    print(f"\n{counts[E.DONE] + counts[E.SOURCE_KEPT]} {job.done}, {counts[E.IDENTICAL]} already done, "
          f"{counts[repair.SKIPPED]} left as they are, {counts[E.FAILED]} failed"
          + (f", {counts[E.CANCELLED]} cancelled" if counts[E.CANCELLED] else "") + ".")
    if report.run_id:
        print(f"Backups of the files this run touched: {safe(report.backup_dir)}")
        if counts[E.DONE] + counts[E.SOURCE_KEPT]:
            print(f"To undo this {job.verb}: {PROG} undo {report.run_id}")


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
    if not dirs:
        print(f"No Claude Desktop sessions were found, so there is nothing to {job.verb}. " + looked_in(searched),
              file=sys.stderr)
        if args.json:
            print(json.dumps(repair.Report(None, None, args.dry_run, []).to_json(), indent=2))
        return EXIT_OK
    root = _backup_root(args)
    try:
        backups.check_root(root, [d.path for d in dirs])
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    if args.dry_run:
        return _dry(args, dirs, job)
    if job.opt_in and not _asks(args) and not args.yes:
        raise UsageError(f"{job.verb} changes Claude's folder only when confirmed: run it at a terminal to be "
                         f"asked, or add --yes (see the plan first with --dry-run)")
    refused = _claude_guard(args, job.verb)
    if refused is not None:
        return refused
    _ready(root, bool(args.backup_dir))
    try:
        with backups.exclusive(root):
            _recover(root, args.json)
            the_plan = _plan(args, dirs, job)
            if the_plan.to_do and _asks(args):
                _print_plan(the_plan, root, job)
                if not _confirm(f"{job.verb.capitalize()} {len(the_plan.to_do)} session(s) now?", args):
                    print("Nothing was changed.")
                    return EXIT_OK
            show_progress = sys.stderr.isatty() and not args.json
            report = repair.execute(the_plan, root, progress=_progress_printer(show_progress))
            if show_progress:
                print(file=sys.stderr)
    except backups.Busy as exc:
        _err(str(exc))
        return EXIT_FAILED
    _output(report, args.json, job)
    return EXIT_FAILED if report.failed else EXIT_OK


def _plan(args: argparse.Namespace, dirs: list, job: Job) -> repair.Plan:
    # A repair reads the records only.  Adopt needs main.log (the folder the
    # app last loaded), rebuild the transcripts without records; a repair of
    # named ids looks too, to say which command a transcript id is for.
    chosen = getattr(args, job.ids)
    result = scan(dirs, chosen_transcripts_dir(args, dirs), details=job is not REPAIR or bool(chosen))
    try:
        return plans.PLANNERS[job.verb](result, chosen)
    except repair.PlanError as exc:
        raise UsageError(str(exc)) from None


def _dry(args: argparse.Namespace, dirs: list, job: Job) -> int:
    running = claude_process.running()
    if running and not args.json:
        _err(f"note: {claude_process.message(running)}")
    the_plan = _plan(args, dirs, job)
    report = repair.dry_run(the_plan)
    if args.json:
        _output(report, True, job)
    else:
        _print_plan(the_plan, None, job)
        counts = report.summary()
        failing = [r for r in report.results if r.outcome == E.FAILED]
        for r in failing:
            print(f"  {'would fail':13} {cut(r.id, 20):20} {safe(r.detail)}")
        print(f"\nDry run: nothing was changed. {counts[repair.PLANNED]} session(s) would be {job.done}"
              + (f", {len(failing)} would fail." if failing else "."))
    return EXIT_FAILED if report.failed else EXIT_OK


def _output(report: repair.Report, as_json: bool, job: Job = REPAIR) -> None:
    if as_json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_report(report, job)


# --------------------------------------------------------------------- undo


def cmd_undo(args: argparse.Namespace) -> int:
    if args.run_id and args.last:
        raise UsageError("give a run id or --last, not both")
    if not args.run_id and not args.last:
        raise UsageError(f"say which repair to undo: a run id (see '{PROG} backups') or --last")
    root = _backup_root(args)
    refused = _claude_guard(args, "undo")
    if refused is not None:
        return refused
    try:
        with backups.exclusive(root):
            try:
                run = backups.find(root, args.run_id)
            except backups.BackupError as exc:
                raise UsageError(str(exc)) from None
            if run.status() == backups.UNDONE:
                print(f"Run {run.run_id} is already undone; nothing was changed.")
                return EXIT_OK
            if not _confirm(f"Undo run {run.run_id} ({len(run.manifest().get('actions', []))} session(s))?",
                            args):
                print("Nothing was changed.")
                return EXIT_OK
            if run.run_id in _recover(root, False):  # it was itself interrupted: recovery has undone it
                print(f"Run {run.run_id} had been interrupted; it is now undone completely.")
                return EXIT_OK
            results = backups.undo(run)
    except backups.Busy as exc:
        _err(str(exc))
        return EXIT_FAILED
    words = {E.DONE: "restored", E.IDENTICAL: "nothing to undo", backups.KEPT: "kept (changed since)",
             E.FAILED: "failed"}
    for r in results:
        print(f"  {words.get(r.outcome, r.outcome):22} {cut(r.id, 20):20} {safe(r.detail)}")
    bad = [r for r in results if r.outcome not in (E.DONE, E.IDENTICAL)]
    print(f"\nUndid run {run.run_id}: {sum(r.outcome == E.DONE for r in results)} session(s) restored"
          + (f", {len(bad)} not restored (see above); the backups stay in {safe(run.path)}." if bad else "."))
    return EXIT_FAILED if bad else EXIT_OK


# ------------------------------------------------------------------ backups


def cmd_backups(args: argparse.Namespace) -> int:
    root = _backup_root(args)
    infos = backups.describe_all(root)
    if args.json:
        print(json.dumps({"backup_dir": str(root), "runs": [i.to_json() for i in infos]}, indent=2))
        return EXIT_OK
    if not infos:
        print(f"No backups yet in {safe(root)}.")
        return EXIT_OK
    print(f"Backups in {safe(root)} (newest last):")
    rows = [("RUN ID", "CREATED", "KIND", "STATUS", "SESSIONS", "FILES", "SIZE")]
    rows += [(i.run_id, i.created[:19].replace("T", " "), i.kind, i.status, str(i.sessions), str(i.files),
              human_size(i.size)) for i in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    print(f"\nTo undo one: {PROG} undo RUN_ID (or {PROG} undo --last)")
    return EXIT_OK
