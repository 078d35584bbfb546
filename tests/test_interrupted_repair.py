"""A repair (or an undo) killed at any moment loses nothing, and the next run
finishes the job.

The repair runs as a real process and is killed with SIGKILL just before its
1st, 2nd, 3rd, ... change to the disk (tests/kill_at.py), until a run gets
through untouched: every step is tried.  After each kill no original byte may
be missing, and the next ordinary run must bring the folder to exactly the
state an uninterrupted repair gives, with a backup that undoes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.core import backups, engine

from conftest import ACCOUNT, OWN_PIDS_SIGNALLABLE, ROOT, T0, DataFolder, dump, killed_by, record, see_no_claude_desktop

KILLER = ROOT / "tests" / "kill_at.py"
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def build(root: Path) -> DataFolder:
    """One session of every kind a repair changes, and one it must leave."""
    folder = DataFolder(root)
    folder.tmp("local_orphan", title="only a .tmp")                          # promote
    folder.json("local_stale", lastActivityAt=T0 + 10, title="old")          # replace a stale record
    folder.tmp("local_stale", lastActivityAt=T0 + 99, title="new")
    folder.json("local_wiped", b"\0" * 4096)                                 # replace a zero-filled record
    folder.tmp("local_wiped")
    folder.json("local_bom", b"\xef\xbb\xbf" + dump(record("local_bom")))    # normalize in place
    folder.tmp("local_null", dump(record("local_null", createdAt=None)))     # normalize from the .tmp
    folder.json("local_broken", b'{"sessionId":"local_broken",')             # leave alone
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def every_byte_somewhere(original: dict[str, bytes], org: Path, backup_root: Path) -> None:
    """Each original file is at its place, or whole in the run's backup folder."""
    backed_up = {hashlib.sha256(p.read_bytes()).hexdigest() for p in backup_root.glob("*/files/*") if p.is_file()}
    now = contents(org)
    for name, data in original.items():
        if now.get(name) != data:
            assert hashlib.sha256(data).hexdigest() in backed_up, f"{name}: its original bytes are gone"


def cli_main(*args: str) -> int:
    return cli.main(list(args))


def kill_at(n: int, roots: list[Path], *args: str) -> int:
    """0 when the command ran through; -SIGKILL when it was killed.  It runs
    in a PID namespace of its own where it can, so that no Claude Desktop on
    this machine (nor another test's stand-in) makes it refuse."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([*OWN_PIDS_SIGNALLABLE, sys.executable, str(KILLER), str(n),
                           os.pathsep.join(map(str, roots)), "--", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 or killed_by(proc.returncode, signal.SIGKILL), proc.stderr
    return 0 if proc.returncode == 0 else -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The folder before, and after an uninterrupted repair."""
    base = tmp_path_factory.mktemp("reference")
    folder = build(base / "Claude")
    before = contents(folder.org)
    with pytest.MonkeyPatch.context() as patch:
        see_no_claude_desktop(patch)
        assert cli_main("repair", "--data-dir", str(folder.root), "--backup-dir", str(base / "b")) == 0
    after = contents(folder.org)
    assert after != before
    return before, after


def killed_at_each_step(tmp_path: Path, command, before_each=None) -> Iterator[tuple[int, DataFolder, Path]]:
    """For n = 1, 2, ...: a fresh folder, ``command(folder, backup_root)`` run
    and killed just before its nth change to the disk; yields (n, folder,
    backup_root) after each kill, and ends when the command runs through."""
    for n in range(1, 500):
        base = tmp_path / str(n)
        folder, backup_root = build(base / "Claude"), base / "backups"
        if before_each:
            before_each(folder, backup_root)
        if kill_at(n, [folder.root, backup_root], *command(folder, backup_root)) == 0:
            assert n > 10, f"only {n - 1} steps were seen; the kill hook is not seeing the changes"
            return
        yield n, folder, backup_root
    pytest.fail("the command never finished")


def repair_args(folder: DataFolder, backup_root: Path) -> tuple[str, ...]:
    return ("repair", "--data-dir", str(folder.root), "--backup-dir", str(backup_root))


def test_a_repair_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path, reference, capsys):
    before, repaired = reference
    for n, folder, backup_root in killed_at_each_step(tmp_path, repair_args):
        every_byte_somewhere(before, folder.org, backup_root)
        assert cli_main(*repair_args(folder, backup_root)) == 0, f"killed before change {n}: the next run failed"
        final = contents(folder.org)
        assert final == repaired, f"killed before change {n}: the next run did not finish the job"
        assert not [name for name in final if engine.is_temp_name(name)]
        assert cli_main("undo", "--last", "--backup-dir", str(backup_root)) == 0
        assert contents(folder.org) == before, f"killed before change {n}: undo did not restore the originals"
    capsys.readouterr()


def test_an_undo_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path, reference, capsys):
    before, _ = reference

    def repaired_first(folder: DataFolder, backup_root: Path) -> None:
        assert cli_main(*repair_args(folder, backup_root)) == 0

    def undo_last(folder: DataFolder, backup_root: Path) -> tuple[str, ...]:
        return ("undo", "--last", "--backup-dir", str(backup_root))

    for n, folder, backup_root in killed_at_each_step(tmp_path, undo_last, repaired_first):
        every_byte_somewhere(before, folder.org, backup_root)
        run_id = backups.runs(backup_root)[-1].run_id  # named: if the kill came after the undo was whole,
        again = ("undo", run_id, "--backup-dir", str(backup_root))  # --last would rightly find nothing left
        assert cli_main(*again) == 0, f"killed before change {n}: the next undo failed"
        assert contents(folder.org) == before, f"killed before change {n}: the next undo did not finish"
        assert backups.runs(backup_root)[-1].status() == backups.UNDONE
    capsys.readouterr()


# ------------------------------------------------- rebuild and adopt, killed


def build_lost(root: Path) -> DataFolder:
    """A transcript with no record, a record that lost its transcript, and a
    session under another account."""
    from test_transcripts import conversation, write_transcript

    folder = DataFolder(root)
    (root / "config.json").write_bytes(dump({"lastKnownAccountUuid": ACCOUNT}))
    folder.json("local_lost", cwd="C:\\repo", createdAt=T0, lastActivityAt=T0 + 600_000, cliSessionId=None,
                transcriptUnavailable=True)
    projects = root / ".claude" / "projects"  # carried inside the data folder, so killed runs see it too
    for sid, start in (("aaaaaaaa-0000-4000-8000-000000000001", T0 + 86_400_000),
                       ("aaaaaaaa-0000-4000-8000-000000000002", T0 + 2 * 86_400_000)):
        write_transcript(projects / "p" / f"{sid}.jsonl", conversation(sid=sid, start=start))
    lost = "bbbbbbbb-0000-4000-8000-000000000003"
    write_transcript(projects / "p" / f"{lost}.jsonl", conversation(sid=lost, cwd="C:\\repo", start=T0 + 9000))
    other = DataFolder(root, account="33333333-3333-4333-8333-333333333333")
    other.json("local_away", title="Left under another account")
    other.tmp("local_away_tmp", title="Only a .tmp, another account")
    return folder


def normalized(org: Path, before: dict[str, bytes]) -> dict:
    """The folder's files, a record made by rebuild known by its transcript
    (its own id is new on every run)."""
    out: dict = {}
    for name, data in contents(org).items():
        if name in before or not name.startswith("local_"):
            out[name] = data
        else:
            value = json.loads(data)
            out[("new", value["cliSessionId"])] = {k: v for k, v in value.items() if k != "sessionId"}
    return out


@pytest.mark.parametrize("command", ["rebuild", "adopt"])
def test_a_rebuild_or_adopt_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path, command, capsys):
    ref = build_lost(tmp_path / "ref" / "Claude")
    before = contents(ref.org)

    def args(folder: DataFolder, backup_root: Path) -> tuple[str, ...]:
        return (command, "--data-dir", str(folder.root), "--backup-dir", str(backup_root), "-y")

    assert cli_main(*args(ref, tmp_path / "ref" / "b")) == 0
    expected = normalized(ref.org, before)
    assert expected != before
    steps = 0
    for n in range(1, 500):
        base = tmp_path / str(n)
        folder, backup_root = build_lost(base / "Claude"), base / "backups"
        if kill_at(n, [folder.root, backup_root], *args(folder, backup_root)) == 0:
            break
        steps = n
        every_byte_somewhere(before, folder.org, backup_root)
        assert cli_main(*args(folder, backup_root)) == 0, f"killed before change {n}: the next run failed"
        assert normalized(folder.org, before) == expected, f"killed before change {n}: the job is not finished"
        assert cli_main("undo", "--last", "--backup-dir", str(backup_root), "-y") == 0
        assert contents(folder.org) == before, f"killed before change {n}: undo did not restore the originals"
    assert steps > 5, f"only {steps} steps were seen"
    capsys.readouterr()
    with capsys.disabled():
        print(f"\n{command}: killed before each of its {steps} changes to the disk; nothing lost each time")
