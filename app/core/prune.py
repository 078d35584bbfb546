"""Keep the backup folder bounded: old runs go, after a time and a count.

The watcher makes a run each time Claude Desktop quits; kept forever, they
would fill the disk and slow every repair down.  A run is removed when it is
older than ``days`` *or* when ``keep`` newer runs exist, and only when it is
finished business: complete, or wholly undone.  Never an interrupted run, an
interrupted undo, a run in progress, a partly undone one (its backups hold
what was kept), or a damaged one (a person should look at it).

Removal is careful in its own way: it removes only the names a run folder is
made of (the manifest and its seal, the journal, the lock, the backups in
``files/``), never follows a link, and leaves a folder holding anything else
alone.  Where the OS has directory file descriptors (POSIX), a run is removed
through them: each folder is opened once, without following a link, and every
name is removed inside the folder that was opened, so a folder swapped for a
link while prune runs (say ``files/`` for a link to the user's documents) is
never followed.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.core import backups, runcheck
from app.core.backups import RunInfo
from app.core.choices import DEFAULT_DAYS, DEFAULT_KEEP

REMOVABLE = (backups.COMPLETE, backups.UNDONE)
_OWN_NAMES = {backups.MANIFEST, backups.SEAL, backups.JOURNAL, backups.RUN_LOCK, backups.MANIFEST + ".part"}
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
        made = datetime.fromisoformat((info.created or "").replace("Z", "+00:00")).timestamp()
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


def _removal_order(name: str) -> int:
    """Everything else first, then the manifest, then its seal: until the
    manifest goes the folder is still a run (and a sealed one), and a prune
    cut short is finished by the next one; once it has gone, what is left is
    a run that never started, which _remove_never_started clears."""
    return {backups.MANIFEST: 1, backups.SEAL: 2}.get(name, 0)


# ------------------------------------------------- through directory fds (POSIX)

_BY_FD = (
    {os.open, os.stat, os.unlink, os.rmdir} <= os.supports_dir_fd
    and os.listdir in os.supports_fd
    and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW"))
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# What opening a link with O_NOFOLLOW, or a file with O_DIRECTORY, fails with
# (ELOOP on Linux and macOS, EMLINK on FreeBSD; ENOTDIR for a file).
_NOT_A_FOLDER = {errno.ELOOP, errno.EMLINK, errno.ENOTDIR}


class _Keep(Exception):
    """The run holds something that is not ours: it stays, and this says why."""


def _open_folder(name: str, dir_fd: int, what: str) -> int:
    """An fd on the folder ``name`` inside ``dir_fd``, never through a link."""
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_FOLDER:
            raise _Keep(f"{what} is not a plain folder (a link, or a file), which Session Rescue never makes") \
                from None
        raise


def _check_plain(name: str, dir_fd: int, where: str) -> None:
    """A name we may unlink: a regular file, or a link (the link itself goes)."""
    mode = os.lstat(name, dir_fd=dir_fd).st_mode
    if stat.S_ISDIR(mode):
        raise _Keep(f"{where}{name} is a folder, which Session Rescue never makes there")
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise _Keep(f"{where}{name} is not a plain file, which Session Rescue never makes there")


def _unlink_plain(name: str, dir_fd: int, where: str) -> None:
    _check_plain(name, dir_fd, where)  # again, just before: unlink never follows, and fails on a folder
    os.unlink(name, dir_fd=dir_fd)


def _rmdir_same(name: str, dir_fd: int, fd: int, what: str) -> None:
    """Remove the (now empty) folder ``name`` in ``dir_fd``, if it is still
    the one ``fd`` was opened on.  (rmdir never follows a link, and removes
    only an empty folder, so even a swap after this check takes nothing.)"""
    now, opened = os.lstat(name, dir_fd=dir_fd), os.fstat(fd)
    if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
        raise _Keep(f"{what} was replaced while it was being removed")
    os.rmdir(name, dir_fd=dir_fd)


def _remove_run_at(root_fd: int, run_name: str) -> None:
    run_fd = _open_folder(run_name, root_fd, "the run folder")
    try:
        names = os.listdir(run_fd)
        strangers = [n for n in names if n not in _OWN_NAMES and n != backups.FILES]
        if strangers:
            raise _Keep(f"it holds {strangers[0]!r}, which Session Rescue did not put there")
        own = sorted((n for n in names if n != backups.FILES), key=_removal_order)
        for name in own:
            _check_plain(name, run_fd, "")
        if backups.FILES in names:
            files_fd = _open_folder(backups.FILES, run_fd, "its files/")
            try:
                backed_up = os.listdir(files_fd)
                for name in backed_up:  # all checked before the first goes
                    _check_plain(name, files_fd, "files/")
                for name in backed_up:
                    _unlink_plain(name, files_fd, "files/")
                _rmdir_same(backups.FILES, run_fd, files_fd, "its files/")
            finally:
                os.close(files_fd)
        for name in own:
            _unlink_plain(name, run_fd, "")
        _rmdir_same(run_name, root_fd, run_fd, "the run folder")
    finally:
        os.close(run_fd)


def _never_started_at(root_fd: int, run_name: str) -> None:
    run_fd = _open_folder(run_name, root_fd, "the run folder")
    try:
        names = os.listdir(run_fd)
        if backups.MANIFEST in names or time.time() - os.fstat(run_fd).st_mtime < _NEVER_STARTED_AGE:
            return
        if backups.FILES in names:
            files_fd = _open_folder(backups.FILES, run_fd, "its files/")
            try:
                if os.listdir(files_fd):
                    return
                _rmdir_same(backups.FILES, run_fd, files_fd, "its files/")
            finally:
                os.close(files_fd)
        names = os.listdir(run_fd)
        if not set(names) <= _OWN_NAMES:
            return
        for name in names:
            _check_plain(name, run_fd, "")
        for name in sorted(names, key=_removal_order):
            _unlink_plain(name, run_fd, "")
        _rmdir_same(run_name, root_fd, run_fd, "the run folder")
    finally:
        os.close(run_fd)


def _remove_run(path: Path) -> str | None:
    """Remove one run folder that is all ours; why not, when it is not."""
    if not _BY_FD:
        return _remove_run_by_path(path)
    try:
        # The backup folder itself is the one the user chose: it may be a link.
        root_fd = os.open(path.parent, _DIR_FLAGS)
        try:
            _remove_run_at(root_fd, path.name)
        finally:
            os.close(root_fd)
    except _Keep as keep:
        return str(keep)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _remove_never_started(root: Path) -> None:
    """Folders named like a run but without a manifest: a run killed before
    it wrote one, which changed nothing.  Removed once a day old."""
    if not _BY_FD:
        _remove_never_started_by_path(root)
        return
    try:
        root_fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return
    try:
        names = os.listdir(root_fd)
        for name in names:
            if not runcheck.is_run_name(name):
                continue
            try:
                if stat.S_ISDIR(os.lstat(name, dir_fd=root_fd).st_mode):
                    _never_started_at(root_fd, name)
            except (_Keep, OSError):
                continue
    except OSError:
        return
    finally:
        os.close(root_fd)


# ----------------------------------------------------- by path (Windows)
#
# Windows has no directory file descriptors (os.supports_dir_fd is empty
# there), so it keeps the form below, which checks a name and then removes it
# by its path.  Swapping a folder for a symbolic link between the two needs
# a link, which Windows lets only administrators and Developer Mode make.  A
# directory junction needs no rights: one already in place of files/ is
# refused (a reparse point is never taken for a plain folder here), but one
# swapped in between the check and the removals is not caught by this form.


def _plain_folder(st: os.stat_result) -> bool:
    reparse = getattr(st, "st_file_attributes", 0) & getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0)
    return stat.S_ISDIR(st.st_mode) and not reparse


def _remove_run_by_path(path: Path) -> str | None:
    try:
        names = os.listdir(path)
        strangers = [n for n in names if n not in _OWN_NAMES and n != backups.FILES]
        if strangers:
            return f"it holds {strangers[0]!r}, which Session Rescue did not put there"
        files = path / backups.FILES
        if backups.FILES in names:
            if not _plain_folder(os.lstat(files)):
                return "its files/ is not a plain folder (a link, or a file), which Session Rescue never makes"
            for name in os.listdir(files):
                entry = files / name
                if stat.S_ISDIR(os.lstat(entry).st_mode):
                    return f"files/{name} is a folder, which Session Rescue never makes there"
                os.unlink(entry)
            os.rmdir(files)
        for name in sorted(names, key=_removal_order):
            if name != backups.FILES:
                os.unlink(path / name)
        os.rmdir(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _remove_never_started_by_path(root: Path) -> None:
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
            if files.is_dir() and _plain_folder(os.lstat(files)) and not os.listdir(files):
                os.rmdir(files)
            if set(os.listdir(path)) <= _OWN_NAMES:
                for name in sorted(os.listdir(path), key=_removal_order):
                    os.unlink(path / name)
                os.rmdir(path)
        except OSError:
            continue
