"""Holes a hostile review found in the Claude Desktop guard and in stopping
the watcher, each reproduced on real processes: a launcher (a shell script
that execs claude-desktop) the guard had judged once, as a shell, and never
looked at again; and a lock note anyone can write, naming a process for
``autostart disable`` to terminate."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from test_watcher import user_env, wait_for

from app.core import claude_process, watcher

from conftest import ROOT, DataFolder

pytestmark = [pytest.mark.real_processes,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stand-in follows the Linux rule")]

PROMISE = 0.5  # seconds: Claude Desktop, once it runs, is seen within this
Launch = Callable[[float], tuple[subprocess.Popen, Path]]


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launch]:
    """launch(delay): ``sh launch.sh``, a launcher that sleeps ``delay``
    seconds, writes the time, then execs the stand-in Claude Desktop (a copy
    of sleep named claude-desktop) in its own process: (the process, the
    file its exec time goes to).  Killed, with its group, after the test."""
    exe = tmp_path / "usr" / "bin" / "claude-desktop"
    exe.parent.mkdir(parents=True)
    shutil.copy(shutil.which("sleep"), exe)
    started: list[subprocess.Popen] = []

    def launch(delay: float) -> tuple[subprocess.Popen, Path]:
        stamp = tmp_path / f"exec-{len(started)}.at"
        script = tmp_path / f"launch-{len(started)}.sh"
        script.write_text(f"sleep {delay}\ndate +%s.%N >{shlex.quote(str(stamp))}\n"
                          f"exec {shlex.quote(str(exe))} 600\n")
        proc = subprocess.Popen(["sh", str(script)], start_new_session=True)
        started.append(proc)
        return proc, stamp

    yield launch
    for proc in started:
        _kill_group(proc)


def seen_at(guard: claude_process.Guard, pid: int, timeout: float) -> float | None:
    """Ask the guard's cheap look, as a repair does between sessions, until it
    reports ``pid`` as Claude Desktop: when (time.time()), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid in {p.pid for p in guard.appeared()}:
            return time.time()
        time.sleep(0.005)
    return None


def assert_seen_in_time(guard: claude_process.Guard, proc: subprocess.Popen, stamp: Path, delay: float) -> None:
    seen = seen_at(guard, proc.pid, delay + 3.0)
    assert wait_for(stamp.exists, 10) and stamp.read_text().strip(), "the launcher never exec'd"
    exec_at = float(stamp.read_text())
    # The stand-in is Claude Desktop by the rule (a full look finds it): only the cheap look missed it.
    assert proc.pid in {p.pid for p in claude_process.running()}
    assert seen is not None, f"claude-desktop (process {proc.pid}) ran and the guard never saw it"
    print(f"\nclaude-desktop seen {seen - exec_at:.3f} s after its launcher exec'd it")
    assert seen - exec_at <= PROMISE, f"seen {seen - exec_at:.3f} s after it started"


def test_a_launcher_judged_as_a_shell_by_the_full_look_is_seen_once_it_execs_claude(launcher):
    """Hole 1: the launcher runs before the repair; the full look sees a
    shell, and 0.6 s later that same process is claude-desktop."""
    proc, stamp = launcher(0.6)
    assert psutil.Process(proc.pid).name() == "sh"
    guard = claude_process.Guard()
    assert proc.pid not in {p.pid for p in guard.running()}
    assert not stamp.exists(), "too slow a machine: the launcher exec'd before the full look"
    assert_seen_in_time(guard, proc, stamp, 0.6)


def test_a_launcher_started_during_the_repair_that_execs_after_2_3_s_is_seen(launcher):
    """Hole 2: the launcher starts mid-repair and execs after the old 2 s
    window in which a new process was looked at again."""
    guard = claude_process.Guard()
    guard.running()
    guard.appeared()
    proc, stamp = launcher(2.3)
    assert_seen_in_time(guard, proc, stamp, 2.3)


def test_a_launcher_that_execs_after_any_young_window_is_still_seen(launcher):
    """The same, past the (widened) young window too: a shell stays worth a
    look for as long as it lives."""
    guard = claude_process.Guard()
    guard.running()
    guard.appeared()
    proc, stamp = launcher(claude_process.Guard.YOUNG + 1.0)
    assert_seen_in_time(guard, proc, stamp, claude_process.Guard.YOUNG + 1.0)


def test_the_cheap_look_inspects_shells_again_but_not_every_old_process(launcher):
    """What the cheap look costs: after the full look, it inspects the
    processes whose name could become Claude Desktop, and the new ones, never
    the others it has judged (here: fifty sleeps started before)."""
    sleeps = [subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(50)]
    proc, _ = launcher(600)
    inspected: list[set[int]] = []
    real = claude_process.read_processes

    def spy(platform, only=None):
        inspected.append(set(only) if only is not None else {-1})
        return real(platform, only)

    try:
        guard = claude_process.Guard(every=0.0)
        guard.running()
        claude_process.read_processes = spy
        for _ in range(5):
            guard.appeared()
    finally:
        claude_process.read_processes = real
        for p in sleeps:
            _kill_group(p)
    assert inspected and {-1} not in inspected
    assert sum(proc.pid in pids for pids in inspected) == 5  # the launcher, at every look
    assert not {p.pid for p in sleeps} & set().union(*inspected)


def test_the_cheap_looks_own_reading_of_proc_agrees_with_psutil(launcher, request):
    """On Linux the cheap look reads /proc itself (psutil costs several times
    as much per process): for every process here, the same name, executable
    and command line as psutil gives."""
    launcher(600)  # a shell among them, and the stand-in's path
    long = subprocess.Popen(["sh", "-c", "sleep 600; :", "sh", *[f"argument-{i:05d}" * 8 for i in range(100)]],
                            start_new_session=True)  # a command line of 10 kB, several reads long
    request.addfinalizer(lambda: _kill_group(long))
    # (Popen returns as the exec begins; the new command line shows a moment later.)
    assert wait_for(lambda: len(claude_process._proc_cmdline(long.pid)) == 104, 10)
    pids = sorted(psutil.pids())

    def both() -> dict[int, tuple]:
        def read(looks) -> dict[int, tuple]:
            out = {}
            for pid, name, details in looks:
                with contextlib.suppress(psutil.Error, OSError):
                    out[pid] = (name, *details())
            return out

        ours = read(claude_process._by_procfs(pids))
        theirs = read(claude_process._by_psutil(claude_process._process(pid) for pid in pids))
        return {pid: (ours[pid], theirs[pid]) for pid in ours.keys() & theirs.keys() if ours[pid] != theirs[pid]}

    assert len(pids) > 10
    differ = both()
    for _ in range(5):  # a process may change between two readings (an exec, a kernel thread renamed): again
        if not differ:
            break
        differ = {pid: pair for pid, pair in both().items() if pid in differ}
    assert not differ


# ------------------------------------------------------- stopping the watcher


@pytest.fixture
def real_watcher(tmp_path: Path, monkeypatch) -> Iterator[subprocess.Popen]:
    """A real watcher process under a fake home (as test_watcher starts
    them), and this process pointed at the same home, so that
    watcher.lock_path() is its lock."""
    env = user_env(tmp_path)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, env[name])
    folder = DataFolder(tmp_path / "Claude")
    with open(tmp_path / "watcher.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app", "watch", "--data-dir", str(folder.root),
                                 "--backup-dir", str(tmp_path / "backups"), "--interval", "0.2"],
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    try:
        assert wait_for(lambda: watcher.running_pid() == proc.pid), (tmp_path / "watcher.out").read_text()
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


@pytest.fixture
def victims() -> Iterator[list[subprocess.Popen]]:
    """Processes that are not watchers: a plain sleep, and a Python whose
    command line merely holds the words "-m app watch" (after a -c)."""
    procs = [subprocess.Popen(["sleep", "600"], start_new_session=True),
             subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "-m", "app", "watch"],
                              start_new_session=True)]
    yield procs
    for proc in procs:
        _kill_group(proc)


def test_a_forged_lock_note_does_not_make_stop_running_terminate_another_process(real_watcher, victims):
    """Hole 3: the note is plain text; naming another process in it (with a
    "since" far in the future) must not get that process terminated; the
    watcher itself is still stopped when the note is its own."""
    lock = watcher.lock_path()
    genuine = lock.read_bytes()
    for victim in victims:
        lock.write_text(f'{{"pid": {victim.pid}, "since": 99999999999}}')
        assert watcher.running_pid() == victim.pid  # the note says so; the lock is still the watcher's
        assert watcher.stop_running() is None
    time.sleep(0.5)
    assert all(victim.poll() is None for victim in victims), "a process named by a forged note was terminated"
    assert real_watcher.poll() is None

    lock.write_bytes(genuine)
    assert watcher.stop_running() == real_watcher.pid
    assert real_watcher.wait(timeout=30) == 0  # SIGTERM: the watcher stops cleanly
    assert all(victim.poll() is None for victim in victims)


@pytest.mark.parametrize(("cmdline", "exe", "is_watcher"), [
    (["/opt/SessionRescue/SessionRescue", "watch"], "/opt/SessionRescue/SessionRescue", True),
    (["C:\\Apps\\SessionRescue.exe", "watch"], "C:\\Apps\\SessionRescue.exe", True),
    (["/usr/bin/python3", "/home/ana/.local/bin/session-rescue", "watch"], "/usr/bin/python3.12", True),
    (["/usr/bin/python3", "-m", "app", "watch", "--interval", "5"], "/usr/bin/python3.12", True),
    (["/usr/bin/python3", "-P", "-m", "app", "watch"], "/usr/bin/python3.12", True),
    (["/usr/bin/python3", "-m", "app", "gui"], "/usr/bin/python3.12", False),
    (["/usr/bin/python3", "-m", "app", "autostart", "watch"], "/usr/bin/python3.12", False),
    (["/usr/bin/python3", "-c", "pass", "-m", "app", "watch"], "/usr/bin/python3.12", False),
    (["sleep", "600"], "/usr/bin/sleep", False),
    (["sleep", "-m", "app", "watch"], "/usr/bin/sleep", False),
    (["SessionRescue", "watch"], "/usr/bin/sleep", False),  # argv[0] says anything; the executable does not
    (["sh", "/usr/bin/session-rescue", "watch"], "/usr/bin/dash", False),
    ([], "/usr/bin/python3.12", False),
])
def test_what_counts_as_a_watchers_command_line(cmdline, exe, is_watcher):
    assert watcher.is_watcher_command(cmdline, exe) is is_watcher
