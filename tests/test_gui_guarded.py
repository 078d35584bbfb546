"""The window goes through core's one guarded transaction: a plan is only
carried out as the user saw it, backups of the demo stay with the demo, and
backup times read in local time.  Real Qt (offscreen), real files, and a
real repair killed midway by tests/kill_at.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core import backups, locations

from conftest import ROOT, DataFolder
from test_gui import answer_dialog, open_window

KILLER = ROOT / "tests" / "kill_at.py"


def interrupted_repair(folder: DataFolder, root: Path, kill_at_change: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(KILLER), str(kill_at_change), f"{folder.root}{os.pathsep}{root}",
                           "--", "repair", "-y", "--ignore-running", "--data-dir", str(folder.root),
                           "--backup-dir", str(root)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_plan_that_changed_since_it_was_confirmed_is_shown_again_not_carried_out(qtbot, tmp_path):
    """A repair was killed after it promoted one session: the window shows it
    healthy and plans only the other.  At execute time recovery undoes the
    killed run, so the plan made under the lock differs from the one
    confirmed: the window must ask again, showing the new plan."""
    folder = DataFolder(tmp_path / "Claude")
    root = tmp_path / "backups"
    folder.tmp("local_a", title="First", lastActivityAt=1_787_857_900_000)
    folder.tmp("local_b", title="Second", lastActivityAt=1_787_857_800_000)
    for n in range(10, 40):  # kill just after local_a's promotion, before local_b's
        shutil_rm(root)
        restore_tmp(folder, "local_a")
        interrupted_repair(folder, root, n)
        if (folder.org / "local_a.json").exists() and (folder.org / "local_b.json.tmp").exists():
            break
    else:
        pytest.fail("no kill point left one session promoted and the other not")
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)], backup_root=root)
    first: list[str] = []
    second: list[str] = []
    answer_dialog("Repair 1", first)
    answer_dialog("Repair 2", second, timeout_s=60)
    answer_dialog("Close")
    with qtbot.waitSignal(window.repair_finished, timeout=60_000) as done:
        qtbot.mouseClick(window.repair_all_button, Qt.MouseButton.LeftButton)
    assert "Second" in first[0] and "First" not in first[0]  # what the user saw first
    assert "changed since you confirmed" in second[0] and "First" in second[0] and "Second" in second[0]
    assert done.args[0].summary()["done"] == 2
    assert (folder.org / "local_a.json").exists() and (folder.org / "local_b.json").exists()


def shutil_rm(root: Path) -> None:
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def restore_tmp(folder: DataFolder, stem: str) -> None:
    """Put a session back to "only its .tmp" between attempts."""
    promoted = folder.org / f"{stem}.json"
    if promoted.exists():
        promoted.rename(folder.org / f"{stem}.json.tmp")
    for name in os.listdir(folder.org):
        if name.startswith(".~repair-"):
            os.unlink(folder.org / name)


def test_the_demo_data_keeps_its_backups_inside_it(qtbot, tmp_path, monkeypatch):
    from app.core import demo

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    data = demo.write_demo(tmp_path / "Demo").path
    window = open_window(qtbot, tmp_path, [locations.chosen(data)], backup_root=None)
    answer_dialog("Repair 10")
    answer_dialog("Close")
    with qtbot.waitSignal(window.repair_finished, timeout=60_000) as done:
        qtbot.mouseClick(window.repair_all_button, Qt.MouseButton.LeftButton)
    assert Path(done.args[0].backup_dir).parent == data / backups.DEMO_BACKUPS
    assert not (tmp_path / "user-data" / "Session Rescue" / "backups").exists()  # the real backup list never saw it


def test_the_backups_dialog_shows_local_times(qtbot, tmp_path, monkeypatch):
    folder = DataFolder(tmp_path / "Claude")
    folder.tmp("local_a")
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
        answer_dialog("Repair 1")
        answer_dialog("Close")
        with qtbot.waitSignal(window.repair_finished, timeout=60_000):
            qtbot.mouseClick(window.repair_all_button, Qt.MouseButton.LeftButton)
        info = backups.describe_all(tmp_path / "backups")[0]
        answer_dialog("Close")
        window.show_backups()
        qtbot.waitUntil(lambda: window.flow.backups_dialog is not None, timeout=30_000)
        shown = window.flow.backups_dialog.table.item(0, 0).text()
        assert shown == info.created_local and shown != info.created[:19].replace("T", " ")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
