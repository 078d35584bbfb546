"""Prune removes a run's own files and nothing else, even when a folder
under it is swapped for a link to a folder of the user's while it works.

Real runs (made by real repairs), real links, and a real ``backups prune``
process frozen (SIGSTOP, by tests/kill_at.py) between its checks and its
removals while the test swaps ``files/`` for a link.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_guarded_changes import at_change, wait_for

from app.core import backups, prune

from conftest import CAN_SYMLINK, DataFolder, run_cli

pytestmark = pytest.mark.skipif(os.name == "nt" or not CAN_SYMLINK,
                                reason="links, SIGSTOP and directory file descriptors: POSIX")


def two_runs(folder: DataFolder, root: Path) -> tuple[Path, Path]:
    """Two genuine runs, made by two real repairs; ``--keep-runs 1`` prunes
    the older one."""
    for stem in ("local_a", "local_b"):
        folder.tmp(stem)
        done = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
        assert done.returncode == 0, done.stdout + done.stderr
    runs = backups.runs(root)
    assert [run.status() for run in runs] == [backups.COMPLETE, backups.COMPLETE]
    assert os.listdir(runs[0].files_dir), "the run backed up nothing"
    return runs[0].path, runs[1].path


def users_folder(path: Path, names: list[str]) -> dict[str, bytes]:
    """A folder of the user's: a.txt, b.txt, and files with the very names
    prune removes from the run's files/ (the ones a prune that follows the
    link would delete).  Its contents."""
    path.mkdir()
    for name in ["a.txt", "b.txt", *names]:
        (path / name).write_bytes(f"the user's own {name}".encode())
    return contents(path)


def contents(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def prune_cli(root: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return run_cli("backups", "prune", "-y", "--keep-runs", "1", "--backup-dir", str(root), *more)


# ------------------------------------------------------ a link in place


def test_a_run_whose_files_is_a_link_to_another_folder_is_kept_with_that_folder(tmp_path: Path,
                                                                               folder: DataFolder) -> None:
    root = tmp_path / "b"
    older, newer = two_runs(folder, root)
    names = sorted(os.listdir(older / "files"))
    outside = tmp_path / "documents"
    before = users_folder(outside, names)
    shutil.rmtree(older / "files")
    os.symlink(outside, older / "files")

    done = prune_cli(root)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert contents(outside) == before
    assert (older / "files").is_symlink() and (older / backups.MANIFEST).exists() and newer.exists()

    # And the removal itself, asked to remove that run: it says why not, and
    # takes nothing, neither there nor in the run.
    why = prune._remove_run(older)
    assert why is not None and "files/" in why, why
    assert contents(outside) == before
    assert (older / "files").is_symlink() and (older / backups.MANIFEST).exists()


def test_a_link_inside_files_is_removed_and_never_followed(tmp_path: Path, folder: DataFolder) -> None:
    root = tmp_path / "b"
    older, _ = two_runs(folder, root)
    outside = tmp_path / "documents"
    before = users_folder(outside, [])
    os.symlink(outside / "a.txt", older / "files" / "a-link")
    os.symlink(outside, older / "files" / "folder-link")
    done = prune_cli(root)
    assert done.returncode == 0 and "Removed 1" in done.stdout, done.stdout + done.stderr
    assert not older.exists() and contents(outside) == before


def test_a_run_with_a_folder_in_files_is_kept_whole(tmp_path: Path, folder: DataFolder) -> None:
    root = tmp_path / "b"
    older, _ = two_runs(folder, root)
    (older / "files" / "zz-sub").mkdir()
    (older / "files" / "zz-sub" / "notes.txt").write_text("kept")
    before = {str(p.relative_to(older)) for p in older.rglob("*")}
    done = prune_cli(root)
    assert done.returncode == 1 and f"kept {older.name}: files/zz-sub is a folder" in done.stdout, done.stdout
    assert {str(p.relative_to(older)) for p in older.rglob("*")} == before  # not one backup removed


def test_a_backup_folder_that_is_itself_a_link_is_pruned_as_usual(tmp_path: Path, folder: DataFolder) -> None:
    # The backup folder is the one the user chose; it may well be a link.
    root = tmp_path / "b"
    older, newer = two_runs(folder, root)
    os.symlink(root, tmp_path / "b-link")
    done = prune_cli(tmp_path / "b-link")
    assert done.returncode == 0 and "Removed 1" in done.stdout, done.stdout + done.stderr
    assert not older.exists() and newer.exists()


def test_a_run_that_never_started_is_removed_only_when_all_ours(tmp_path: Path) -> None:
    root = tmp_path / "b"
    outside = tmp_path / "documents"
    before = users_folder(outside, [backups.RUN_LOCK])
    ours, linked = root / "20200101-000000.000-aaaa", root / "20200101-000000.000-bbbb"
    for run in (ours, linked):
        run.mkdir(parents=True)
        (run / backups.RUN_LOCK).write_text("{}")
    (ours / "files").mkdir()
    os.symlink(outside, linked / "files")
    two_days_ago = time.time() - 2 * 86_400
    for run in (ours, linked):
        os.utime(run, (two_days_ago, two_days_ago))
    prune.prune(root, prune.Policy())
    assert not ours.exists()
    assert (linked / "files").is_symlink() and (linked / backups.RUN_LOCK).exists()
    assert contents(outside) == before


# ------------------------------------------------------------ the race


def frozen_or_done(proc: subprocess.Popen[str]) -> bool:
    if proc.poll() is not None:
        return True
    try:
        return psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED
    except psutil.NoSuchProcess:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux") and sys.platform != "darwin", reason="SIGSTOP")
def test_files_swapped_for_a_link_while_prune_is_frozen_takes_nothing_outside(tmp_path: Path,
                                                                              folder: DataFolder) -> None:
    """``backups prune -y`` frozen just before each of its changes in turn
    (the first: its lock; then each removal), ``files/`` swapped for a link
    to a folder of the user's that holds files of the same names, then let
    go: whatever the moment, not one of the user's files goes.

    kill_at.py counts a change by the path the audit event names.  A removal
    through a folder's file descriptor names only the entry, which kill_at
    resolves against the working directory: the prune runs inside its backup
    folder, so those count (and freeze it) as well."""
    template = tmp_path / "template"
    older, _ = two_runs(folder, template)
    names = sorted(os.listdir(older / "files"))
    frozen_in_files: list[int] = []  # the changes at which it was frozen with files/ open, before its removals
    n = 0
    while True:
        n += 1
        assert n < 100, "prune never finished"
        root = tmp_path / f"b{n}"
        shutil.copytree(template, root, symlinks=True)
        run = root / older.name
        outside, aside = tmp_path / f"documents{n}", tmp_path / f"aside{n}"
        before = users_folder(outside, names)
        proc = at_change(n, "stop", [root], "backups", "prune", "-y", "--keep-runs", "1", "--backup-dir", str(root),
                         cwd=root)
        try:
            assert wait_for(functools.partial(frozen_or_done, proc)), "the prune neither stopped nor ended"
            if proc.poll() is not None:  # fewer than n changes: every one has been tried
                out, err = proc.communicate(timeout=60)
                assert proc.returncode == 0 and "Removed 1" in out, out + err
                assert not run.exists()
                break
            if run.exists():  # frozen: swap files/ for a link to the user's folder
                if os.path.lexists(run / "files"):
                    os.rename(run / "files", aside)
                os.symlink(outside, run / "files")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert contents(outside) == before, f"frozen at change {n}, the user's files went: {out}"
        if aside.exists() and len(os.listdir(aside)) < len(names):
            # Frozen after it had opened files/, before it removed from it:
            # the removals went on in the folder it had opened, and the run
            # stays, said so.
            frozen_in_files.append(n)
            assert proc.returncode == 1 and f"kept {older.name}" in out, out + err
            assert run.exists() and (run / "files").is_symlink()
    assert frozen_in_files, "prune was never frozen between opening files/ and its first removal there"
