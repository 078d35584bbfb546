"""Every change goes through one guarded transaction, and the guard holds:
locks the OS keeps (across PID namespaces), Claude Desktop looked for between
sessions, a full disk said in one sentence, and a plan never carried out
unseen.  Real processes, real files, real namespaces and a real full disk
(a small tmpfs), as a user's machine would give them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from app.core import backups, claude_process, locations, prune, runcheck, seal, undo

from conftest import OWN_PIDS, OWN_PIDS_SIGNALLABLE, ROOT, DataFolder, run_cli

KILLER = ROOT / "tests" / "kill_at.py"
linux_root = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                                reason="namespaces and mounts need Linux and root")


def many_orphans(folder: DataFolder, n: int) -> dict[str, bytes]:
    for i in range(n):
        folder.tmp(f"local_{i:05d}", title=f"session {i}")
    return {p.name: p.read_bytes() for p in folder.org.iterdir()}


def at_change(n: int, action: str, roots: list[Path], *args: str, prefix: list[str] | None = None,
              env: dict | None = None, **kw) -> subprocess.Popen:
    """The real CLI, doing ``action`` (see kill_at.py) at its nth change."""
    full = dict(os.environ, PYTHONPATH=str(ROOT), AT_CHANGE=action, **(env or {}))
    return subprocess.Popen([*(prefix or []), sys.executable, str(KILLER), str(n),
                             os.pathsep.join(map(str, roots)), "--", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full, **kw)


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------------- locks


@linux_root
@pytest.mark.skipif(not OWN_PIDS, reason="needs unshare --pid")
def test_a_running_repair_in_another_pid_namespace_keeps_its_lock_and_its_run(tmp_path, folder):
    """A repair frozen mid-run in its own PID namespace: from this namespace
    its process id means nothing (or another process).  Its lock must still
    hold: no second repair, no undo of its run while it lives; then it
    finishes, and nothing was undone behind its back."""
    root = tmp_path / "b"
    before = many_orphans(folder, 40)
    frozen = at_change(60, "stop", [folder.root, root], "repair", "-y", "--data-dir", str(folder.root),
                       "--backup-dir", str(root), prefix=OWN_PIDS_SIGNALLABLE, start_new_session=True)
    try:
        def stopped():
            return any(p.status() == psutil.STATUS_STOPPED for p in psutil.Process(frozen.pid).children(True))
        assert wait_for(stopped), frozen.communicate(timeout=5)
        run = backups.runs(root)[-1]
        assert run.status() == backups.IN_PROGRESS
        second = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
        assert second.returncode == 1 and "another Session Rescue" in second.stderr
        taken_back = run_cli("undo", "--last", "--backup-dir", str(root), "-y")
        assert taken_back.returncode == 1 and "another Session Rescue" in taken_back.stderr
        listed = json.loads(run_cli("backups", "--json", "--backup-dir", str(root)).stdout)
        assert [r["status"] for r in listed["runs"]] == ["in progress"]
    finally:
        for child in psutil.Process(frozen.pid).children(True):
            child.send_signal(signal.SIGCONT)
    out, err = frozen.communicate(timeout=120)
    assert frozen.returncode == 0, err
    assert backups.runs(root)[-1].status() == backups.COMPLETE
    after = {p.name: p.read_bytes() for p in folder.org.iterdir()}
    assert sorted(after) == sorted(name.removesuffix(".tmp") for name in before)  # every one repaired, none undone


def test_the_lock_is_the_operating_systems_and_dies_with_its_holder(tmp_path):
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); "
                               "from pathlib import Path; from app.core import oslock; "
                               "l = oslock.acquire(Path(sys.argv[2])); print('held', flush=True); time.sleep(600)",
                               str(ROOT), str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert oslock.is_held(lock)
        with pytest.raises(oslock.Held) as taken:
            oslock.acquire(lock)
        assert taken.value.owner.get("pid") == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert not oslock.is_held(lock)  # killed: the kernel let go, whatever the file says
    with oslock.held(lock):
        assert oslock.is_held(lock)


from app.core import oslock  # noqa: E402  (used above; kept beside the test that needs it most)

# ---------------------------------------------- Claude Desktop, mid-repair


@pytest.fixture
def stand_in(tmp_path) -> Path:
    """A stand-in Claude Desktop (the Linux rule: a program named claude-desktop).
    Started by the repair's harness inside the repair's own PID namespace, it
    ends with that namespace; elsewhere the test stops it by its pid."""
    exe = tmp_path / "usr" / "bin" / "claude-desktop"
    exe.parent.mkdir(parents=True)
    shutil.copy(shutil.which("sleep"), exe)
    return exe


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stand-in follows the Linux rule")
def test_a_repair_stops_when_claude_desktop_starts_and_what_is_done_stays_done(tmp_path, folder, stand_in):
    root = tmp_path / "b"
    before = many_orphans(folder, 300)
    proc = at_change(200, f"start:{stand_in}", [folder.root, root], "repair", "-y", "--data-dir",
                     str(folder.root), "--backup-dir", str(root), prefix=OWN_PIDS)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    assert "Claude Desktop started" in out and "stopped there" in out
    pid, started = stand_in.with_name("claude-desktop.started").read_text().split()
    now = {p.name: p for p in folder.org.iterdir()}
    repaired = [n for n in now if n.endswith(".json")]
    untouched = [n for n in now if n.endswith(".tmp")]
    assert repaired and untouched, "it neither ran to the end nor stopped before starting"
    assert all(now[n].read_bytes() == before[n] for n in untouched)
    # Nothing changed in Claude's folder more than half a second after it started.
    last_change = max(os.lstat(p).st_ctime for p in [*now.values(), folder.org])
    assert last_change <= float(started) + 0.5, f"{last_change - float(started):.3f} s after Claude started"
    report = json.loads(run_cli("backups", "--json", "--backup-dir", str(root)).stdout)["runs"][-1]
    assert report["status"] == "complete"  # what was done stays done: a whole run, undoable
    if not OWN_PIDS:  # in a namespace of its own, the stand-in ended with it
        os.kill(int(pid), signal.SIGKILL)
    assert run_cli("undo", "--last", "--backup-dir", str(root), "-y").returncode == 0
    assert {p.name: p.read_bytes() for p in folder.org.iterdir()} == before


@pytest.mark.real_processes
def test_the_guard_between_sessions_inspects_only_new_processes(tmp_path):
    """The cheap look: after one full look, only processes born since are
    inspected, so it costs a directory read, not a read of every process."""
    guard = claude_process.Guard(every=0.0)
    assert guard.running() == [] or True  # whatever runs here, the first look is the full one
    inspected: list[set[int]] = []
    real = claude_process.read_processes

    def spy(platform, only=None):
        inspected.append(set(only) if only is not None else {-1})
        return real(platform, only)

    claude_process.read_processes = spy
    try:
        guard.appeared()
        child = subprocess.Popen(["sleep", "30"])
        try:
            guard.appeared()
        finally:
            child.kill()
            child.wait()
    finally:
        claude_process.read_processes = real
    assert {-1} not in inspected  # never a full look again
    assert any(child.pid in pids for pids in inspected)
    assert all(os.getpid() not in pids for pids in inspected)  # an old process, not a launcher: judged once


# --------------------------------------------------------------- full disk


@linux_root
def test_a_full_disk_while_writing_the_journal_ends_in_one_sentence_and_the_next_repair_finishes(tmp_path):
    """The backup folder is on a small tmpfs that fills up in the middle of
    the repair (a real ENOSPC for the journal): the repair stops in one clear
    sentence, and the next repair (with room again) undoes the part that was
    done and repairs everything."""
    script = tmp_path / "run.sh"
    mount = tmp_path / "small"
    mount.mkdir()
    folder = DataFolder(tmp_path / "Claude")
    before = many_orphans(folder, 150)
    script.write_text(f"""set -e
mount -t tmpfs -o size=4m tmpfs '{mount}'
AT_CHANGE='fill:{mount}/filler' PYTHONPATH='{ROOT}' '{sys.executable}' '{KILLER}' 100 '{folder.root}:{mount}' -- \
    repair -y --ignore-running --data-dir '{folder.root}' --backup-dir '{mount}/b' \
    >'{tmp_path}/out' 2>'{tmp_path}/err' \
    && echo 0 >'{tmp_path}/code' || echo $? >'{tmp_path}/code'
rm -f '{mount}/filler'
PYTHONPATH='{ROOT}' '{sys.executable}' -m app repair -y --ignore-running --data-dir '{folder.root}' \
    --backup-dir '{mount}/b' >'{tmp_path}/out2' 2>'{tmp_path}/err2'
ls '{mount}/b' >'{tmp_path}/runs'
""")
    done = subprocess.run(["unshare", "-m", "sh", str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + (tmp_path / "err2").read_text()
    first_out, first_err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert (tmp_path / "code").read_text().strip() == "1", first_out + first_err
    assert "Traceback" not in first_err and "unexpected error" not in first_err
    assert "journal could not be written (the disk is full)" in first_out, first_out
    assert "The next repair undoes those" in first_out
    second_err = (tmp_path / "err2").read_text()
    assert "was found and undone first" in second_err
    after = {p.name: p.read_bytes() for p in folder.org.iterdir()}
    assert after == {name.removesuffix(".tmp"): data for name, data in before.items()}


# ------------------------------------------------------------ the undo rule


def test_undo_of_an_interrupted_run_is_done_by_recovery_and_said_so(tmp_path, folder):
    root = tmp_path / "b"
    folder.tmp("local_a")
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    run = backups.runs(root)[-1]
    journal = run.path / "journal.jsonl"
    journal.write_bytes(b"".join(line for line in journal.read_bytes().splitlines(True)
                                 if b"run-complete" not in line))
    outcome = undo.undo_run(root, run.run_id, None)
    assert outcome.how == undo.BY_RECOVERY and [r.outcome for r in outcome.results] == ["done"]
    assert undo.undo_run(root, run.run_id, None).how == undo.ALREADY
    assert (folder.org / "local_a.json.tmp").exists() and not (folder.org / "local_a.json").exists()


def test_undo_sets_aside_what_it_takes_away(tmp_path, folder):
    """Undo follows a manifest, and a manifest can be planted: what undo
    removes or replaces is kept in the run's own folder, never deleted."""
    root = tmp_path / "b"
    folder.tmp("local_a")
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    repaired = (folder.org / "local_a.json").read_bytes()
    assert run_cli("undo", "--last", "--backup-dir", str(root), "-y").returncode == 0
    kept = list((backups.runs(root)[-1].files_dir).glob("undone-*"))
    assert [p.read_bytes() for p in kept] == [repaired]


# ------------------------------------------------------------------ prune


def run_made(root: Path, days_ago: float, status: str = "complete") -> Path:
    """A genuine run folder as the product makes them, aged by hand."""
    made = time.time() - days_ago * 86_400
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(made))
    run_id = f"{stamp}.{int(made * 1000) % 1000:03d}-{hashlib.sha256(str(made).encode()).hexdigest()[:4]}"
    path = root / run_id
    (path / "files").mkdir(parents=True)
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(made))
    raw = json.dumps({"format": 2, "run_id": run_id, "kind": "repair", "created": created,
                      "tool": "session-rescue 1.0", "actions": []}).encode()
    path.joinpath("manifest.json").write_bytes(raw)
    path.joinpath("manifest.seal").write_text(seal.seal(raw))  # made by this user's Session Rescue
    (path / "files" / "00001-local_x.json").write_bytes(b"{}")
    events = {"complete": ["run-started", "run-complete"], "interrupted": ["run-started"],
              "partly undone": ["run-started", "run-complete", "undo-started", "undo-done"],
              "undone": ["run-started", "run-complete", "undo-started", "undo-done"]}[status]
    lines = [json.dumps({"event": e, **({"kept": ["local_x"]} if e == "undo-done" and status == "partly undone"
                                         else {"kept": []} if e == "undo-done" else {})}) for e in events]
    path.joinpath("journal.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_prune_removes_old_and_surplus_finished_runs_and_nothing_else(tmp_path):
    root = tmp_path / "b"
    old_complete = run_made(root, 40)
    old_undone = run_made(root, 35, "undone")
    old_interrupted = run_made(root, 50, "interrupted")
    old_partly = run_made(root, 45, "partly undone")
    old_damaged = run_made(root, 60)
    (old_damaged / "manifest.json").write_text("{ cut short")
    strange = run_made(root, 41)
    (strange / "my notes.txt").write_text("the user's own file, in a run folder")
    recent = [run_made(root, d) for d in (3, 2, 1)]
    done = prune.prune(root, prune.Policy(days=30, keep=200))
    gone = {info.path for info in done.removed}
    assert gone == {old_complete, old_undone}
    for kept in (old_interrupted, old_partly, old_damaged, strange, *recent):
        assert kept.exists(), kept
    assert [run_id for run_id, _ in done.failed] == [strange.name]
    assert (strange / "my notes.txt").exists() and (strange / "manifest.json").exists()
    # The count bound: only the newest two finished runs stay.
    done = prune.prune(root, prune.Policy(days=30, keep=2))
    assert {info.path for info in done.removed} == {recent[0]}


def test_backups_prune_at_the_command_line_asks_or_needs_yes(tmp_path):
    root = tmp_path / "b"
    old = run_made(root, 40)
    refused = run_cli("backups", "prune", "--backup-dir", str(root))
    assert refused.returncode == 2 and "--yes" in refused.stderr and old.exists()
    dry = run_cli("backups", "prune", "--dry-run", "--backup-dir", str(root))
    assert dry.returncode == 0 and old.name in dry.stdout and old.exists()
    assert "This backup run is older than 30 days or beyond the newest 200 runs:" in dry.stdout
    done = run_cli("backups", "prune", "-y", "--backup-dir", str(root))
    assert done.returncode == 0 and "Removed 1 backup run" in done.stdout and not old.exists()


def test_the_watcher_prunes_and_remembers_only_its_last_repairs(tmp_path, folder):
    from app.core.watcher import KEPT_EVENTS, Watcher

    root = tmp_path / "b"
    old = run_made(root, 40)
    repair_watcher = Watcher(root, [locations.chosen(folder.root)], claude_check=lambda: [])
    folder.tmp("local_a")
    event = repair_watcher.tick()
    assert event is not None and event.restored == 1 and not old.exists()
    for _ in range(KEPT_EVENTS + 20):
        repair_watcher._repair("again")
    assert len(repair_watcher.events) == KEPT_EVENTS


def test_the_watcher_says_when_it_leaves_a_damaged_run_alone_and_says_it_once(tmp_path, folder):
    from app.core.watcher import Watcher

    root = tmp_path / "b"
    planted = run_made(root, 1, "interrupted")
    manifest = json.loads((planted / "manifest.json").read_text())
    manifest["actions"] = [{"id": "x", "action": "promote", "files": [
        {"path": str(tmp_path / "victim"), "before": None, "after": {"sha256": "0" * 64, "size": 0}}]}]
    (planted / "manifest.json").write_text(json.dumps(manifest))
    repair_watcher = Watcher(root, [locations.chosen(folder.root)], claude_check=lambda: [])
    folder.tmp("local_a")
    first = repair_watcher.tick()
    assert first is not None and any(planted.name in n and "left exactly as it is" in n for n in first.notes)
    assert first.worth_telling
    second = repair_watcher._repair("again")
    assert second is not None and not second.notes  # said once, not at every repair
    assert runcheck.is_run_name(planted.name) and planted.exists()
