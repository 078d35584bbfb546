"""Keeping sessions repaired: a real watcher process, a real stand-in for
Claude Desktop (a process named as claude_process's Linux rule expects), and
autostart entries written under a fake home, never the real one."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core import autostart, backups, oslock
from app.core.locations import Host

from conftest import ROOT, DataFolder, run_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stand-in follows the Linux rule")
INTERVAL = "0.2"


def user_env(tmp_path: Path) -> dict[str, str]:
    """A user of our own: home, config, data and logs under tmp_path, no display."""
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
            "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
            "XDG_STATE_HOME": str(tmp_path / "home" / ".local" / "state"),
            "DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}


@pytest.fixture
def claude_desktop(tmp_path, own_pids):
    """start() runs a stand-in Claude Desktop; stop() quits it.  In the
    test's own PID namespace, with the watcher: the watcher sees it, and no
    other Claude Desktop on this machine."""
    exe = tmp_path / "usr" / "bin" / "claude-desktop"
    exe.parent.mkdir(parents=True)
    shutil.copy(shutil.which("sleep"), exe)
    procs: list[subprocess.Popen] = []

    class Stand:
        def start(self) -> None:
            procs.append(own_pids.popen([str(exe), "600"], start_new_session=True))

        def stop(self) -> None:
            for proc in procs:
                own_pids.signal(proc, signal.SIGKILL)
                proc.wait()

    yield Stand()
    Stand().stop()


@pytest.fixture
def watch(tmp_path, own_pids):
    """watch(folder, backup_root): a real watcher process (in the test's own
    PID namespace), stopped after the test."""
    procs: list[subprocess.Popen] = []

    def _watch(folder: DataFolder, backup_root: Path) -> subprocess.Popen:
        env = {**os.environ, **user_env(tmp_path), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        proc = own_pids.popen([sys.executable, "-m", "app", "watch", "--data-dir", str(folder.root),
                               "--backup-dir", str(backup_root), "--interval", INTERVAL],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        proc.own_pids = own_pids  # type: ignore[attr-defined]  # how stop() reaches the watcher itself
        procs.append(proc)
        return proc

    yield _watch
    for proc in procs:
        own_pids.signal(proc, signal.SIGKILL)
        proc.communicate()


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen) -> str:
    proc.own_pids.signal(proc, signal.SIGTERM)  # type: ignore[attr-defined]
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def test_nothing_is_touched_while_claude_runs_and_orphans_come_back_when_it_quits(
        tmp_path, folder, claude_desktop, watch):
    first = folder.tmp("local_first", title="made before")
    claude_desktop.start()
    backup_root = tmp_path / "backups"
    proc = watch(folder, backup_root)
    time.sleep(1.5)  # several looks, Claude running all along
    second = folder.tmp("local_second", title="made while Claude ran")  # a new orphan, as the bug makes them
    time.sleep(1.0)
    assert first.exists() and second.exists()
    assert not list(folder.org.glob("*.json")) and not backups.runs(backup_root)
    claude_desktop.stop()
    assert wait_for(lambda: (folder.org / "local_first.json").exists() and (folder.org / "local_second.json").exists())
    assert not first.exists() and not second.exists()
    runs = backups.runs(backup_root)
    assert len(runs) == 1 and runs[0].status() == backups.COMPLETE
    assert len(list(runs[0].files_dir.iterdir())) == 2  # both .tmp files, backed up before they were promoted
    out = stop(proc)
    assert "Restored 2 sessions after Claude Desktop quit" in out


def test_the_watcher_repairs_at_start_then_idles_with_no_file_of_claudes_open(tmp_path, folder, watch, own_pids):
    import psutil

    folder.tmp("local_a")
    proc = watch(folder, tmp_path / "backups")
    assert wait_for(lambda: (folder.org / "local_a.json").exists())  # Claude is not running: at once
    watcher = psutil.Process(own_pids.inner(proc))
    cpu_before, started = sum(watcher.cpu_times()[:2]), time.monotonic()
    for _ in range(10):  # idle looks, every 0.2 s
        opened = [f.path for f in watcher.open_files()]
        assert not [p for p in opened if p.startswith(str(folder.root))], opened
        time.sleep(0.1)
    cpu = (sum(watcher.cpu_times()[:2]) - cpu_before) / (time.monotonic() - started)
    print(f"\nidle watcher, looking every {INTERVAL} s: {cpu * 100:.1f}% of one core")
    assert len(backups.runs(tmp_path / "backups")) == 1  # no second repair while nothing changed
    assert "Restored 1 session at start" in stop(proc)


def test_only_one_watcher_runs_at_a_time(tmp_path, folder, watch):
    proc = watch(folder, tmp_path / "backups")
    lock = Path(user_env(tmp_path)["XDG_DATA_HOME"]) / "Session Rescue" / "watcher.lock"
    assert wait_for(lock.exists)
    second = run_cli("watch", "--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "backups"),
                     env=user_env(tmp_path), timeout=60)
    assert second.returncode == 0 and "already keeping sessions repaired" in second.stdout
    stop(proc)
    assert not oslock.is_held(lock)  # a watcher that stops lets go of its lock (the file stays: see oslock)


def test_a_bad_interval_is_a_usage_error(folder):
    done = run_cli("watch", "--data-dir", str(folder.root), "--interval", "0")
    assert done.returncode == 2 and "--interval" in done.stderr


# ---------------------------------------------------------------- autostart


def test_autostart_writes_and_removes_its_entry_under_the_users_home_only(tmp_path):
    real = Path.home() / ".config" / "autostart"
    real_before = sorted(os.listdir(real)) if real.is_dir() else None
    env = user_env(tmp_path)
    entry = Path(env["XDG_CONFIG_HOME"]) / "autostart" / autostart.DESKTOP_FILE

    assert "Autostart is off" in run_cli("autostart", "status", env=env).stdout
    enabled = run_cli("autostart", "enable", env=env)
    assert enabled.returncode == 0 and str(entry) in enabled.stdout
    text = entry.read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    cmd = shlex.split(exec_line[len("Exec="):])  # plain paths here; odd ones are tested below
    assert cmd[-1] == "watch" and Path(cmd[0]).exists()  # it runs the program actually in use
    assert "Autostart is on" in run_cli("autostart", "status", env=env).stdout
    disabled = run_cli("autostart", "disable", env=env)
    assert disabled.returncode == 0 and not entry.exists()
    assert "was not on" in run_cli("autostart", "disable", env=env).stdout

    assert (sorted(os.listdir(real)) if real.is_dir() else None) == real_before  # the real home, untouched


def test_the_xdg_entry_quotes_a_path_with_spaces_and_reads_back(tmp_path):
    host = Host("linux", {"HOME": "/home/ana"}, root=tmp_path)
    cmd = ["/opt/My Apps/session-rescue", "--odd$arg"]
    path = autostart.enable(host, cmd)
    assert path == tmp_path / "home" / "ana" / ".config" / "autostart" / autostart.DESKTOP_FILE
    assert autostart.status(host).command == [*cmd, "watch"]
    assert autostart.disable(host) == path and not autostart.status(host).enabled


def test_on_macos_the_entry_is_a_launch_agent_that_runs_at_load(tmp_path):
    host = Host("darwin", {"HOME": "/Users/ana"}, root=tmp_path)
    path = autostart.enable(host, ["/Applications/Session Rescue.app/Contents/MacOS/SessionRescue"])
    assert path == tmp_path / "Users" / "ana" / "Library" / "LaunchAgents" / f"{autostart.LABEL}.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["RunAtLoad"] is True and agent["ProgramArguments"][-1] == "watch"
    assert autostart.status(host).enabled and autostart.disable(host) == path


def test_on_windows_the_entry_is_a_startup_folder_shortcut(tmp_path):
    # The .lnk itself is made by Windows' shell (the Windows workflow makes one
    # for real); here: where it goes, and what the shell is told.
    host = Host("win32", {"USERPROFILE": "C:\\Users\\ana", "APPDATA": "C:\\Users\\ana\\AppData\\Roaming"},
                root=tmp_path)
    path = autostart.entry_path(host)
    assert path == (tmp_path / "C:" / "Users" / "ana" / "AppData" / "Roaming" / "Microsoft" / "Windows" /
                    "Start Menu" / "Programs" / "Startup" / autostart.SHORTCUT)
    argv, env = autostart.shortcut_command(Path("C:/Startup/x.lnk"), ["C:\\Program Files\\O'Brien\\SessionRescue.exe",
                                                                      "watch"])
    assert env["SR_TARGET"] == "C:\\Program Files\\O'Brien\\SessionRescue.exe"  # odd paths: test_autostart_paths
    assert env["SR_ARGUMENTS"] == "watch" and "$s.Save()" in argv[-1]
    with pytest.raises(OSError):
        autostart.enable(host)  # a shortcut is made only on Windows itself


# ------------------------------------------------------------------ window


def test_the_settings_switch_turns_the_watcher_and_its_autostart_on_and_off(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from app.core import demo, locations, watcher
    from app.gui.main_window import MainWindow

    for name, value in user_env(tmp_path).items():
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):  # the watcher it starts runs offscreen
            monkeypatch.setenv(name, value)
    entry = tmp_path / "home" / ".config" / "autostart" / autostart.DESKTOP_FILE
    data = demo.write_demo(tmp_path / "Claude").path
    window = MainWindow([locations.DataDir(data, "demo", "Demo data", True)], backup_root=tmp_path / "b",
                        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert not window.keep_repaired_action.isChecked()
    # The switch is applied by a worker (on Windows, PowerShell makes the
    # entry): the window stays responsive, and says when it is done.
    with qtbot.waitSignal(window.keep_repaired_applied, timeout=60_000):
        window.keep_repaired_action.trigger()
    assert entry.exists() and window.keep_repaired_action.isChecked()
    assert wait_for(lambda: watcher.running_pid() is not None)  # a real watcher, started now
    with qtbot.waitSignal(window.keep_repaired_applied, timeout=60_000):
        window.keep_repaired_action.trigger()
    assert not entry.exists() and not window.keep_repaired_action.isChecked()
    assert wait_for(lambda: watcher.running_pid() is None)


def test_the_tray_lists_the_last_repairs_and_tells_the_user(qtbot, tmp_path, folder):
    from app.core import locations
    from app.core.watcher import Watcher
    from app.gui.tray import TrayWatcher

    folder.tmp("local_a")
    folder.tmp("local_b")
    repair_watcher = Watcher(tmp_path / "backups", [locations.chosen(folder.root)])
    tray = TrayWatcher(repair_watcher, 0.2)
    tray.start()
    try:
        qtbot.waitUntil(lambda: tray.last_message is not None, timeout=20_000)
        assert tray.last_message == "Restored 2 sessions at start."
        items = [a.text() for a in tray.menu.actions()]
        assert any(text.endswith("Restored 2 sessions at start") for text in items)
        assert "Open Session Rescue" in items and "Stop until next logon" in items
        assert (folder.org / "local_a.json").exists() and (folder.org / "local_b.json").exists()
    finally:
        tray.stop()
