"""Keep the backup folder bounded: old runs go, after a time and a count.

The watcher makes a run each time Claude Desktop quits; kept forever, they
would fill the disk and slow every repair down.  A run is removed when it is
older than ``days`` *or* when ``keep`` newer runs exist, and only when it is
finished business: complete, or wholly undone.  Never an interrupted run, an
interrupted undo, a run in progress, a partly undone one (its backups hold
what was kept), or a damaged one (a person should look at it).

Removal is careful in its own way: it removes only the names a run folder is
made of (the manifest, the journal, the lock, the backups in ``files/``),
never follows a link, and leaves a folder holding anything else alone.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.core import backups, runcheck
from app.core.backups import RunInfo

DEFAULT_DAYS, DEFAULT_KEEP = 30, 200
REMOVABLE = (backups.COMPLETE, backups.UNDONE)
_OWN_NAMES = {backups.MANIFEST, backups.JOURNAL, backups.RUN_LOCK, backups.MANIFEST + ".part"}
_NEVER_STARTED_AGE = 86_400.0  # a run folder without a manifest, this old, changed nothing and is left over


@dataclass(frozen=True)
class Policy:
    days: float = DEFAULT_DAYS
    keep: int = DEFAULT_KEEP


@dataclass
class PruneReport:
    removed: list[RunInfo] = field(default_factory=list)
    kept: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)


def _age_days(info: RunInfo, now: float) -> float:
    try:
        made = datetime.fromisoformat(info.created.replace("Z", "+00:00")).timestamp()
    except ValueError:
        try:  # the run id starts with the local time it was made
            made = datetime.strptime(info.run_id[:15], "%Y%m%d-%H%M%S").timestamp()
        except ValueError:
            return 0.0
    return (now - made) / 86_400.0


def chosen(infos: list[RunInfo], policy: Policy, now: float | None = None) -> list[RunInfo]:
    """The runs the policy removes, from ``infos`` (oldest first, as listed)."""
    now = time.time() if now is None else now
    newest_first = list(reversed(infos))
    out = []
    for rank, info in enumerate(newest_first):
        too_many = rank >= policy.keep
        if info.status in REMOVABLE and (too_many or _age_days(info, now) > policy.days):
            out.append(info)
    return list(reversed(out))


def prune(root: Path, policy: Policy, dry_run: bool = False) -> PruneReport:
    """Remove the runs ``policy`` lets go.  The caller holds backups.exclusive."""
    infos = backups.describe_all(root)
    going = chosen(infos, policy)
    report = PruneReport(kept=len(infos) - len(going))
    if dry_run:
        report.removed = going
        return report
    for info in going:
        why = _remove_run(info.path)
        if why:
            report.failed.append((info.run_id, why))
            report.kept += 1
        else:
            report.removed.append(info)
    _remove_never_started(root)
    return report


def _remove_run(path: Path) -> str | None:
    """Remove one run folder that is all ours; why not, when it is not."""
    try:
        names = os.listdir(path)
        strangers = [n for n in names if n not in _OWN_NAMES and n != backups.FILES]
        if strangers:
            return f"it holds {strangers[0]!r}, which Session Rescue did not put there"
        files = path / backups.FILES
        if backups.FILES in names:
            if not stat.S_ISDIR(os.lstat(files).st_mode):
                return "its files/ is not a folder"
            for name in os.listdir(files):
                entry = files / name
                if stat.S_ISDIR(os.lstat(entry).st_mode):
                    return f"files/{name} is a folder, which Session Rescue never makes there"
                os.unlink(entry)
            os.rmdir(files)
        # The manifest goes last: until then the folder is still a run, and
        # a prune cut short is finished by the next one.
        for name in sorted(names, key=lambda n: n == backups.MANIFEST):
            if name != backups.FILES:
                os.unlink(path / name)
        os.rmdir(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _remove_never_started(root: Path) -> None:
    """Folders named like a run but without a manifest: a run killed before
    it wrote one, which changed nothing.  Removed once a day old."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if not runcheck.is_run_name(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        try:
            if (path / backups.MANIFEST).exists() or time.time() - entry.stat().st_mtime < _NEVER_STARTED_AGE:
                continue
            files = path / backups.FILES
            if files.is_dir() and not files.is_symlink() and not os.listdir(files):
                os.rmdir(files)
            if set(os.listdir(path)) <= _OWN_NAMES:
                for name in os.listdir(path):
                    os.unlink(path / name)
                os.rmdir(path)
        except OSError:
            continue
