"""The watcher in a real system tray: an X server (Xvfb) with a tray in it
(trayer), the real CLI as a user's autostart runs it, and the X server's own
word that its icon was docked.  Xvfb alone has no tray, and then the tray
code never runs; so here a missing Xvfb or trayer skips, except in CI, where
it fails."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from test_watcher import user_env

from conftest import ROOT, DataFolder, OwnPids, run_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Xvfb and trayer are X11 programs")
INTERVAL = "0.2"
TIMEOUT = 90.0  # generous: these machines are shared and slow at times
TRAY_CHECK = ("import sys\n"
              "from PySide6.QtWidgets import QApplication, QSystemTrayIcon\n"
              "app = QApplication(sys.argv[:1])\n"
              "print(QSystemTrayIcon.isSystemTrayAvailable())\n")
WINDOW_LINE = re.compile(r'^(\s*)(0x[0-9a-f]+) (?:"(?:[^"\\]|\\.)*"|\(has no name\)): \(([^)]*)\)')


def require(tools: tuple[str, ...], in_ci: str) -> None:
    """Skip when a tool is missing; in CI, fail (in_ci says why): these tests
    must never skip there."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{in_ci} (missing: {', '.join(missing)})")
    pytest.skip(f"needs {', '.join(missing)} (apt-get install trayer xvfb x11-utils xdotool)")


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, step: float = 0.2,
               unless: Callable[[], str | None] | None = None) -> bool:
    """Poll condition() until it holds; give up at timeout, or at once when
    unless() has a reason (such as: the process under test has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if unless is not None and unless() is not None:
            return condition()
        time.sleep(step)
    return False


def end(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process we started (and its group), politely, then not."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)


def x_env(display: str) -> dict[str, str]:
    """This process's environment, aimed at our X server only: no Wayland, and
    no session bus, so that Qt uses the X11 tray (XEmbed) and not a desktop's
    StatusNotifierItem service."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": ""}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("XAUTHORITY", None)
    return env


def tray_available(display: str) -> bool:
    """Qt's own answer, in a process of its own: is there a system tray?"""
    try:
        done = subprocess.run([sys.executable, "-c", TRAY_CHECK], env=x_env(display), capture_output=True,
                              text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.stdout.strip() == "True"


def start_xvfb(log: Path) -> tuple[subprocess.Popen, str]:
    """An Xvfb on a display number it picks itself (-displayfd: no race with
    other test runs); returns once it accepts connections."""
    read, write = os.pipe()
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24",
                                     "-nolisten", "tcp"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    pass_fds=(write,), start_new_session=True)
        os.close(write)
        write = -1
        number = b""
        deadline = time.monotonic() + TIMEOUT
        while not number.endswith(b"\n") and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([read], [], [], 1.0)
            if ready:
                chunk = os.read(read, 16)
                if not chunk:
                    break
                number += chunk
    finally:
        os.close(read)
        if write != -1:
            os.close(write)
    if not number.strip().isdigit():
        end(proc)
        pytest.fail(f"Xvfb did not start: {log.read_text(errors='replace')[-2000:]}")
    return proc, f":{number.strip().decode()}"


@pytest.fixture
def system_tray(tmp_path: Path) -> Iterator[str]:
    """An X display with a real system tray in it (trayer's); its name."""
    require(("Xvfb", "trayer", "xwininfo", "xprop"), "trayer and Xvfb are required in CI")
    xvfb, display = start_xvfb(tmp_path / "xvfb.log")
    trayer: subprocess.Popen | None = None
    try:
        with (tmp_path / "trayer.log").open("wb") as out:
            trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                                       "--height", "24"], env=x_env(display), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=out, start_new_session=True)
        running = trayer

        def trayer_ended() -> str | None:
            return None if running.poll() is None else f"trayer exited with {running.returncode}"

        if not wait_until(lambda: tray_available(display), step=0.5, unless=trayer_ended):
            pytest.fail(f"no system tray on {display} ({trayer_ended() or 'trayer runs'}): "
                        f"{(tmp_path / 'trayer.log').read_text(errors='replace')[-2000:]}")
        yield display
    finally:
        if trayer is not None:
            end(trayer)
        end(xvfb)


def windows_inside(display: str, owner_class: str) -> list[str]:
    """Every window inside a window whose WM_CLASS names owner_class, as
    ``xwininfo -root -tree`` shows the X server's tree of windows."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=x_env(display), capture_output=True, text=True,
                          timeout=60, check=False).stdout
    found: list[str] = []
    inside_depth: int | None = None
    for line in tree.splitlines():
        match = WINDOW_LINE.match(line)
        if not match:
            continue
        depth, window, wm_class = len(match.group(1)), match.group(2), match.group(3)
        if inside_depth is not None and depth <= inside_depth:
            inside_depth = None
        if inside_depth is not None:
            found.append(window)
        elif f'"{owner_class}"' in wm_class:
            inside_depth = depth
    return found


def window_pid(display: str, window: str) -> int | None:
    """The process that made a window, as it told the X server (_NET_WM_PID)."""
    out = subprocess.run(["xprop", "-id", window, "_NET_WM_PID"], env=x_env(display), capture_output=True,
                         text=True, timeout=60, check=False).stdout
    match = re.search(r"=\s*(\d+)", out)
    return int(match.group(1)) if match else None


def docked_icons(display: str, pid: int) -> list[str]:
    """The windows of process pid that the tray (trayer) has taken in."""
    return [window for window in windows_inside(display, "trayer") if window_pid(display, window) == pid]


@pytest.fixture
def tray_watch(tmp_path: Path, system_tray: str,
               own_pids: OwnPids) -> Iterator[Callable[[DataFolder, Path], subprocess.Popen]]:
    """tray_watch(folder, backup_root): the real CLI's watcher, on the display
    with the tray, in the test's own PID namespace (no Claude Desktop running
    on this machine keeps it from repairing at start); ended after the test
    whatever happens.  The process it returns carries ``pid_seen``: the pid
    the watcher sees as its own, which its X windows carry."""
    procs: list[subprocess.Popen] = []

    def _watch(folder: DataFolder, backup_root: Path) -> subprocess.Popen:
        env = {**x_env(system_tray), **user_env(tmp_path), "DISPLAY": system_tray, "QT_QPA_PLATFORM": "xcb",
               "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        env.pop("SESSION_RESCUE_DEBUG", None)
        proc = own_pids.popen([sys.executable, "-m", "app", "watch", "--data-dir", str(folder.root),
                               "--backup-dir", str(backup_root), "--interval", INTERVAL],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env, start_new_session=True)
        proc.pid_seen = own_pids.own_pid(proc)  # type: ignore[attr-defined]
        proc.terminate = lambda: own_pids.signal(proc, signal.SIGTERM)  # type: ignore[method-assign]
        procs.append(proc)
        return proc

    yield _watch
    for proc in procs:
        own_pids.signal(proc, signal.SIGTERM)
        end(proc)
        if proc.stdout is not None and not proc.stdout.closed:
            proc.communicate()


def output_if_ended(proc: subprocess.Popen) -> str | None:
    """None while proc runs; once it has ended, its exit code and output."""
    if proc.poll() is None:
        return None
    out, _ = proc.communicate()
    return f"the watcher exited with {proc.returncode}:\n{out}"


def assert_no_watcher_runs(tmp_path: Path) -> None:
    """The watcher that stopped let its lock go: the CLI says none runs."""
    status = run_cli("autostart", "status", env=user_env(tmp_path), timeout=TIMEOUT)
    assert "No watcher is running." in status.stdout, status.stdout + status.stderr


def test_watch_runs_in_a_real_system_tray_and_stops_on_sigterm(
        tmp_path: Path, folder: DataFolder, system_tray: str,
        tray_watch: Callable[[DataFolder, Path], subprocess.Popen]) -> None:
    orphan = folder.tmp("local_tray", title="made before the watcher started")
    proc = tray_watch(folder, tmp_path / "backups")
    ended: list[str] = []

    def gone() -> str | None:
        if not ended and (why := output_if_ended(proc)) is not None:
            ended.append(why)
        return ended[0] if ended else None

    repaired = folder.org / "local_tray.json"
    assert wait_until(repaired.exists, unless=gone), gone() or "the orphan was not repaired"
    assert not orphan.exists()
    assert wait_until(lambda: bool(docked_icons(system_tray, proc.pid_seen)), unless=gone), \
        gone() or f"no window of process {proc.pid_seen} was docked in the tray on {system_tray}"
    time.sleep(3)  # a few more looks, in the tray
    assert gone() is None, ended[0]

    proc.terminate()
    out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, out
    assert "Restored 1 session" in out  # at start (or after a Claude Desktop another test runs has quit)
    assert_no_watcher_runs(tmp_path)


def visible_windows(display: str, pid: int) -> set[str]:
    """The windows of process pid that are on screen (xdotool asks the X
    server for _NET_WM_PID and the map state)."""
    done = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(pid)], env=x_env(display),
                          capture_output=True, text=True, timeout=60, check=False)
    return set(done.stdout.split())


def centre(display: str, window: str) -> tuple[int, int]:
    """Where on the screen the middle of a window is."""
    info = subprocess.run(["xwininfo", "-id", window], env=x_env(display), capture_output=True, text=True,
                          timeout=60, check=True).stdout
    field = {key: int(re.search(rf"{key}:\s*(-?\d+)", info).group(1))  # type: ignore[union-attr]
             for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")}
    return (field["Absolute upper-left X"] + field["Width"] // 2,
            field["Absolute upper-left Y"] + field["Height"] // 2)


def test_stop_until_next_logon_in_the_tray_menu_ends_the_watcher(
        tmp_path: Path, folder: DataFolder, system_tray: str,
        tray_watch: Callable[[DataFolder, Path], subprocess.Popen]) -> None:
    require(("xdotool",), "xdotool is required in CI")
    proc = tray_watch(folder, tmp_path / "backups")  # nothing to repair: no notification over the icon
    ended: list[str] = []

    def gone() -> str | None:
        if not ended and (why := output_if_ended(proc)) is not None:
            ended.append(why)
        return ended[0] if ended else None

    icons: list[str] = []

    def docked() -> bool:
        icons[:] = docked_icons(system_tray, proc.pid_seen)
        return bool(icons)

    assert wait_until(docked, unless=gone), gone() or f"no window of process {proc.pid_seen} was docked in the tray"
    x, y = centre(system_tray, icons[0])

    def new_window(before: set[str]) -> bool:  # such as the menu, once it is on screen
        return bool(visible_windows(system_tray, proc.pid_seen) - before)

    def xdotool(*args: str) -> None:
        subprocess.run(["xdotool", *args], env=x_env(system_tray), check=True, timeout=60)

    # Right-click the icon; once its menu is on screen, Up picks the last
    # item, "Stop until next logon", and Return triggers it.  A click or a
    # key lost on a busy machine is simply tried again.
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        before = visible_windows(system_tray, proc.pid_seen)
        xdotool("mousemove", str(x), str(y), "click", "3")
        if not wait_until(partial(new_window, before), timeout=15):
            continue
        xdotool("mousemove", "5", "795", "key", "Up", "Return")
        if wait_until(lambda: proc.poll() is not None, timeout=15):
            break
        xdotool("key", "Escape")  # whatever is open, close it before trying again
    out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, out
    assert_no_watcher_runs(tmp_path)
