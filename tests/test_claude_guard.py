"""Repairs wait while Claude Desktop runs, and only Claude Desktop: the Claude
Code CLI may keep running.

Every process here is real: a copy of ``sleep`` (or Python) started under the
name and path each platform's Claude Desktop has.  The Windows and macOS
rules are applied to these real Linux processes by naming the platform.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys

import pytest

from app.core import claude_process

from conftest import run_cli

SLEEP = shutil.which("sleep")
pytestmark = [pytest.mark.skipif(os.name == "nt" or not SLEEP, reason="starts POSIX processes under chosen names"),
              pytest.mark.real_processes]


@pytest.fixture
def start(tmp_path):
    """start(path, *args): run a copy of sleep as ``path`` (or the given command)."""
    procs: list[subprocess.Popen] = []

    def _start(path: str | None = None, *argv: str) -> subprocess.Popen:
        if path is not None:
            exe = tmp_path / path
            exe.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SLEEP, exe)
            argv = (str(exe), "60")
        proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # its own group: a script's children go with it
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def seen(proc: subprocess.Popen, platform: str) -> bool:
    return proc.pid in {p.pid for p in claude_process.running(platform)}


@pytest.mark.parametrize("path", [
    "Program Files/WindowsApps/Claude_1.0.3218.0_x64__pzs8sxrjxfjjc/app/Claude.exe",
    "Users/ana/AppData/Local/AnthropicClaude/app-0.14.10/Claude.exe",
])
def test_windows_claude_desktop_is_found_by_its_path(start, path):
    assert seen(start(path), "win32")


@pytest.mark.parametrize("path", [
    "Users/ana/.local/bin/claude.exe",              # the Claude Code CLI
    "Users/ana/AppData/Roaming/npm/claude.exe",
    "Program Files/WindowsApps/Other_1.0_x64__abc/Claude.exe",
])
def test_a_claude_exe_elsewhere_is_not_claude_desktop(start, path):
    assert not seen(start(path), "win32")


def test_macos_claude_desktop_is_the_executable_inside_claude_app(start):
    assert seen(start("Applications/Claude.app/Contents/MacOS/Claude"), "darwin")
    assert not seen(start("usr/local/bin/claude"), "darwin")


def _script(path, body: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n:\n")  # the trailing ':' keeps sh from exec'ing into sleep
    path.chmod(0o755)
    return path


def test_linux_electron_running_claude_desktops_app_asar_is_found(start, tmp_path):
    electron = _script(tmp_path / "lib" / "electron", f"{SLEEP} 60")  # its process is named "electron"
    assert seen(start(None, str(electron), "/usr/lib/claude-desktop/app.asar", "--no-sandbox"), "linux")
    other_app = start(None, str(electron), "/usr/lib/some-other-app/app.asar")
    assert not seen(other_app, "linux")


def test_linux_claude_desktop_launcher_is_found(start, tmp_path):
    assert seen(start("usr/bin/claude-desktop"), "linux")
    script = _script(tmp_path / "bin" / "claude-desktop", f"{SLEEP} 60")
    assert seen(start(None, "/bin/sh", str(script)), "linux")


def test_the_claude_code_cli_on_linux_is_not_claude_desktop(start, tmp_path):
    assert not seen(start("usr/local/bin/claude"), "linux")
    node_cli = start(None, sys.executable, "-c", "import time; time.sleep(60)",
                     "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js")
    assert not seen(node_cli, "linux")
    editor = start(None, SLEEP, "60", "/usr/bin/claude-desktop")  # an editor with the launcher open
    assert not seen(editor, "linux")


def test_nothing_is_found_once_claude_desktop_has_quit(start):
    proc = start("usr/bin/claude-desktop")
    assert seen(proc, "linux")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not seen(proc, "linux")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux rules must match this machine's")
def test_repair_and_undo_refuse_while_claude_desktop_runs(start, folder, tmp_path):
    folder.tmp("local_a")
    before = (folder.org / "local_a.json.tmp").read_bytes()
    args = ("--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"))
    # A repair to undo later, made while Claude is closed.
    folder.tmp("local_b")
    assert run_cli("repair", "--session", "local_b", *args).returncode == 0
    start("usr/bin/claude-desktop")

    refused = run_cli("repair", *args, guard_test=True)
    assert refused.returncode == 3
    assert "Claude Desktop is running" in refused.stderr and "tray" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert (folder.org / "local_a.json.tmp").read_bytes() == before and not (folder.org / "local_a.json").exists()

    undo = run_cli("undo", "--last", "--backup-dir", str(tmp_path / "b"), guard_test=True)
    assert undo.returncode == 3 and (folder.org / "local_b.json").exists()

    dry = run_cli("repair", "--dry-run", *args, guard_test=True)  # looking is always allowed
    assert dry.returncode == 0 and "would be repaired" in dry.stdout

    forced = run_cli("repair", "--ignore-running", *args, guard_test=True)
    assert forced.returncode == 0 and "warning" in forced.stderr
    assert (folder.org / "local_a.json").read_bytes() == before


def test_the_message_tells_the_user_to_quit_fully():
    text = claude_process.message([claude_process.ClaudeProcess(42, "Claude.exe", "C:/x/Claude.exe")])
    assert "process 42" in text and "tray" in text and "Quit" in text


def test_a_path_is_a_path_whichever_way_its_slashes_go():
    exe = r"C:\Program Files\WindowsApps\Claude_1.0_x64__pzs8sxrjxfjjc\app\Claude.exe"
    assert claude_process.is_claude_desktop("win32", "Claude.exe", exe, [exe])
    assert not claude_process.is_claude_desktop("win32", "claude.exe", r"C:\Users\a\.local\bin\claude.exe", [])
