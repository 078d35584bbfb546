"""``session-rescue repair``, ``undo`` and ``backups``, run as a user runs them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.core import backups, demo, finished_runs

from conftest import ROOT, as_unprivileged, posix_only, record, run_cli, snapshot


def files_only(state: dict) -> dict:
    return {p: v for p, v in state.items() if not os.path.isdir(p)}


@pytest.fixture
def demo_dir(tmp_path) -> Path:
    return demo.write_demo(tmp_path / "Claude").path


def repair_json(*args: str) -> tuple[int, dict]:
    proc = run_cli("repair", "--json", *args)
    return proc.returncode, json.loads(proc.stdout)


def test_repair_json_keeps_the_documented_contract(demo_dir, tmp_path):
    code, doc = repair_json("--data-dir", str(demo_dir), "--backup-dir", str(tmp_path / "b"))
    assert code == 0
    assert set(doc) == {"run_id", "backup_dir", "dry_run", "results", "summary", "stopped", "notes"}
    assert doc["stopped"] is None and doc["notes"] == []
    assert doc["dry_run"] is False and Path(doc["backup_dir"]).is_dir()
    assert Path(doc["backup_dir"]).name == doc["run_id"]
    for result in doc["results"]:
        assert set(result) == {"id", "action", "outcome", "detail"} and result["detail"]
    outcomes = [r["outcome"] for r in doc["results"]]
    assert outcomes.count("done") == 10 and "failed" not in outcomes  # 9 records, 1 conversation from a sandbox
    assert doc["summary"]["done"] == 10 and doc["summary"]["total"] == len(doc["results"])


def test_dry_run_changes_nothing_and_shows_the_plan(demo_dir, tmp_path):
    before = snapshot(tmp_path)
    code, doc = repair_json("--dry-run", "--data-dir", str(demo_dir), "--backup-dir", str(tmp_path / "b"))
    assert code == 0 and doc["dry_run"] is True and doc["run_id"] is None
    assert {r["outcome"] for r in doc["results"]} == {"planned", "skipped"}
    assert snapshot(tmp_path) == before and not (tmp_path / "b").exists()
    text = run_cli("repair", "--dry-run", "--data-dir", str(demo_dir))
    assert "Dry run: nothing was changed. 10 sessions would be repaired." in text.stdout
    assert "promote" in text.stdout and "tombstone" in text.stdout


def test_a_second_repair_changes_nothing(demo_dir, tmp_path):
    args = ("--data-dir", str(demo_dir), "--backup-dir", str(tmp_path / "b"))
    assert run_cli("repair", *args).returncode == 0
    state, runs = snapshot(demo_dir), snapshot(tmp_path / "b")
    code, doc = repair_json(*args)
    assert code == 0 and doc["run_id"] is None and doc["summary"]["done"] == 0
    assert snapshot(demo_dir) == state
    # No new run, and no run changed.  The backup folder's own notes may: its
    # lock file names its last holder, and its finished-runs note the runs that
    # recovery has seen finished (so that it need not read them again).
    notes = {str(tmp_path / "b"), str(tmp_path / "b" / backups.LOCK), str(tmp_path / "b" / finished_runs.NOTE)}
    assert {k: v for k, v in snapshot(tmp_path / "b").items() if k not in notes} == \
        {k: v for k, v in runs.items() if k not in notes}


def test_a_failed_item_exits_1_and_the_rest_are_still_done(folder, tmp_path):
    folder.tmp("local_ok")
    folder.tmp("local_blocked")
    (folder.org / "local_blocked.json").mkdir()  # a folder squats on the record's name
    code, doc = repair_json("--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"))
    assert code == 1
    by_id = {r["id"]: r for r in doc["results"]}
    assert by_id["local_ok"]["outcome"] == "done" and (folder.org / "local_ok.json").is_file()
    assert by_id["local_blocked"]["outcome"] == "failed" and "where a folder is" in by_id["local_blocked"]["detail"]
    assert (folder.org / "local_blocked.json.tmp").is_file()


def test_only_the_named_sessions_are_repaired(folder, tmp_path):
    folder.tmp("local_11111111-aaaa-4aaa-8aaa-111111111111")
    folder.tmp("local_22222222-bbbb-4bbb-8bbb-222222222222")
    code, doc = repair_json("--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"),
                            "--session", "22222222-bbbb-4bbb-8bbb-222222222222")
    assert code == 0 and [r["id"] for r in doc["results"]] == ["local_22222222-bbbb-4bbb-8bbb-222222222222"]
    assert not (folder.org / "local_11111111-aaaa-4aaa-8aaa-111111111111.json").exists()


def test_backups_are_listed_and_undo_by_id_restores_every_byte(demo_dir, tmp_path):
    before = files_only(snapshot(demo_dir))
    b = ("--backup-dir", str(tmp_path / "b"))
    code, doc = repair_json("--data-dir", str(demo_dir), *b)
    listing = run_cli("backups", *b)
    assert doc["run_id"] in listing.stdout and "complete" in listing.stdout and "To undo one" in listing.stdout
    undo = run_cli("undo", doc["run_id"], *b)
    assert undo.returncode == 0 and "10 sessions put back" in undo.stdout
    assert files_only(snapshot(demo_dir)) == before
    listed = json.loads(run_cli("backups", "--json", *b).stdout)
    assert [(r["run_id"], r["status"]) for r in listed["runs"]] == [(doc["run_id"], "undone")]
    assert "To undo one" not in run_cli("backups", *b).stdout  # nothing is left to undo: no such hint
    again = run_cli("undo", doc["run_id"], *b)
    assert again.returncode == 0 and "already undone" in again.stdout


@pytest.mark.parametrize("args, says", [
    (["repair", "--session", "local_nope"], "no session"),
    (["repair", "--backup-dir", "{data}/inside"], "inside Claude's data folder"),
    (["undo"], "say which change to undo"),
    (["undo", "x", "--last"], "not both"),
    (["undo", "20000101-000000-abcdef"], "there is no run"),
])
def test_a_usage_error_is_one_line_and_exit_code_2(args, says, folder, tmp_path):
    folder.tmp("local_a")
    (tmp_path / "b").mkdir()  # the backup folder exists: one that does not is its own error, tested below
    args = [a.replace("{data}", str(folder.root)) for a in args]
    if args[0] == "repair":
        args += ["--data-dir", str(folder.root)]
    if "--backup-dir" not in args:
        args += ["--backup-dir", str(tmp_path / "b")]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_undo_last_with_nothing_to_undo_says_so(tmp_path):
    (tmp_path / "b").mkdir()
    proc = run_cli("undo", "--last", "--backup-dir", str(tmp_path / "b"))
    assert proc.returncode == 0 and "There is no change left to undo" in proc.stdout


@pytest.mark.parametrize("command", [["undo", "--last"], ["backups"], ["backups", "prune", "--dry-run"]])
def test_a_backup_folder_that_does_not_exist_is_named_in_one_sentence_and_not_made(tmp_path, command):
    """A mistyped --backup-dir must not read as "no backups": the user would
    think the runs are gone."""
    proc = run_cli(*command, "--backup-dir", str(tmp_path / "b"))
    assert proc.returncode == 2, proc.stdout
    assert f"there is no folder {tmp_path / 'b'}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


@posix_only
def test_backups_go_to_the_users_data_folder_by_default(folder, tmp_path):
    folder.tmp("local_a")
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    proc = run_cli("repair", "--json", "--data-dir", str(folder.root), env=env)
    where = Path(json.loads(proc.stdout)["backup_dir"])
    assert where.parent == tmp_path / "xdg" / "Session Rescue" / "backups"
    assert "Session Rescue" in run_cli("backups", env=env).stdout


@posix_only
def test_with_no_claude_data_there_is_nothing_to_repair(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = run_cli("repair", env=env)
    assert proc.returncode == 0 and "nothing to repair" in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_read_only_folder_ends_in_a_clear_message_not_a_crash(shared_tmp):
    org = shared_tmp / "Claude" / "claude-code-sessions" / "acct" / "org"
    org.mkdir(parents=True)
    data = json.dumps(record("local_a")).encode()
    (org / "local_a.json.tmp").write_bytes(data)
    for p in (shared_tmp, *shared_tmp.rglob("*")):
        p.chmod(0o755 if p.is_dir() else 0o644)
    org.chmod(0o555)  # Claude's folder may be read, not written
    backups, home = shared_tmp / "backups", shared_tmp / "home"
    for writable in (backups, home):
        writable.mkdir(mode=0o777)
        writable.chmod(0o777)

    # What the repair imports when it first needs it, loaded here: the child
    # (as 'nobody') may not be able to read this interpreter's library.
    import ctypes.util  # noqa: F401
    import resource  # noqa: F401

    def attempt():
        # In the forked, unprivileged child: this venv's interpreter may not be
        # reachable by 'nobody', so the CLI runs in the child itself, with a
        # user data folder of its own (where the key that seals runs is kept).
        os.environ["XDG_DATA_HOME"] = str(home)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["repair", "--data-dir", str(shared_tmp / "Claude"), "--backup-dir", str(backups)])
        return [code, out.getvalue(), err.getvalue()]

    code, out, err = as_unprivileged(attempt)
    assert code == 1, (out, err)
    assert "Permission denied" in out and "1 failed" in out and "Traceback" not in out + err, (out, err)
    assert (org / "local_a.json.tmp").read_bytes() == data and not (org / "local_a.json").exists()


def test_a_dry_run_predicts_a_failure_and_changes_nothing(folder, tmp_path):
    folder.tmp("local_ok")
    folder.tmp("local_blocked")
    (folder.org / "local_blocked.json").mkdir()
    before = snapshot(folder.root)
    code, doc = repair_json("--dry-run", "--data-dir", str(folder.root))
    by_id = {r["id"]: r for r in doc["results"]}
    assert code == 1 and by_id["local_ok"]["outcome"] == "planned"
    assert by_id["local_blocked"]["outcome"] == "failed" and "would fail" in by_id["local_blocked"]["detail"]
    assert snapshot(folder.root) == before


def test_only_one_repair_runs_at_a_time_and_a_dead_ones_lock_is_taken_over(folder, tmp_path):
    folder.tmp("local_a")
    root = tmp_path / "b"
    hold = ("import sys, time\nfrom pathlib import Path\nfrom app.core import backups\n"
            "with backups.exclusive(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(root)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline() == "locked\n"
        busy = run_cli("repair", "--data-dir", str(folder.root), "--backup-dir", str(root))
        assert busy.returncode == 1 and "another Session Rescue" in busy.stderr
        assert not (folder.org / "local_a.json").exists()
    finally:
        holder.kill()  # SIGKILL: its lock file stays behind, naming a process that is gone
        holder.wait()
    assert (root / backups.LOCK).exists()
    done = run_cli("repair", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert done.returncode == 0 and (folder.org / "local_a.json").exists()


@posix_only
def test_a_small_limit_on_open_files_fails_no_session(folder, tmp_path):
    """A batch's backups are held open until they are fsync'd together; a
    user's low ``ulimit -n`` (48 here; macOS gives a window 256) must not
    turn that into failed sessions."""
    import resource

    for n in range(100):
        folder.tmp(f"local_{n:03}")

    def small_limit() -> None:  # in the child, before it runs the CLI
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    proc = run_cli("repair", "--json", "-y", "--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"),
                   preexec_fn=small_limit)
    assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr
    assert json.loads(proc.stdout)["summary"]["done"] == 100
    assert all((folder.org / f"local_{n:03}.json").is_file() for n in range(100))


@pytest.mark.parametrize("command", [["undo", "--last"], ["backups"], ["repair", "--dry-run"], ["watch"]])
def test_an_empty_backup_folder_word_is_refused_not_read_as_the_default(command):
    """An unset $DIR in a script gives --backup-dir "": undo --last must not
    then act on the default folder's runs."""
    proc = run_cli(*command, "--backup-dir", "")
    assert proc.returncode == 2 and "--backup-dir: takes a folder" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["repair", "adopt"])
def test_a_folder_that_is_not_claudes_is_said_to_be_so_not_planned_as_empty(tmp_path, command):
    (tmp_path / "not-claude").mkdir()
    proc = run_cli(command, "-y", "--data-dir", str(tmp_path / "not-claude"), "--backup-dir", str(tmp_path / "b"))
    assert proc.returncode == 0 and "There is no Claude Desktop data in" in proc.stderr, proc.stderr
    assert "Plan:" not in proc.stdout and not (tmp_path / "b").exists()
