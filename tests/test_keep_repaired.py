"""The Settings switch "Keep my sessions repaired" is applied off the UI
thread, and a failure of any kind (a file system that refuses, a helper
process that fails) ends in one sentence and the switch as it really is.
Real files and real processes, under a home of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core import autostart
from app.gui import jobs
from app.gui.tasks import UserFacingError

from test_gui import answer_dialog, open_window


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch) -> Path:
    """A user whose home, config and data are under tmp_path: the real autostart folder is never touched."""
    home = tmp_path / "home"
    for name, value in {"HOME": home, "XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local" / "share",
                        "XDG_STATE_HOME": home / ".local" / "state"}.items():
        monkeypatch.setenv(name, str(value))
    return home


def test_a_watcher_that_cannot_be_started_is_one_sentence_and_leaves_no_autostart_entry(own_home, monkeypatch):
    """On POSIX the watcher is started through a helper process; when that
    fails, subprocess raises CalledProcessError (not an OSError)."""
    monkeypatch.setattr(autostart, "command", lambda: [str(own_home / "no-such-program")])
    with pytest.raises(UserFacingError, match="^Could not change the automatic repair: "):
        jobs.keep_repaired(lambda _payload: None, True)
    assert not autostart.status().enabled  # both or neither: no entry left that would start it at logon


def test_a_switch_that_cannot_be_turned_on_goes_back_off_and_says_why(qtbot, tmp_path, own_home):
    config = own_home / ".config"
    config.parent.mkdir(parents=True)
    config.write_text("a file where the config folder should be")  # the autostart entry cannot be written
    window = open_window(qtbot, tmp_path, [], searched=[])
    warning: list[str] = []
    answer_dialog("OK", warning)
    with qtbot.waitSignal(window.keep_repaired_applied, timeout=60_000) as applied:
        window.keep_repaired_action.trigger()
        assert not window.keep_repaired_action.isEnabled()  # waiting for its worker, not for the window
    assert applied.args[0].startswith("Could not change the automatic repair")
    qtbot.waitUntil(lambda: bool(warning), timeout=30_000)
    assert "Could not change the automatic repair" in warning[0] and "Traceback" not in warning[0]
    assert not window.keep_repaired_action.isChecked() and window.keep_repaired_action.isEnabled()
    assert not autostart.status().enabled


def test_the_switch_shows_the_entry_there_is_when_its_menu_opens(qtbot, tmp_path, own_home):
    """What is in effect is read as the Settings menu opens (not as the window
    starts), and reading it switches nothing."""
    window = open_window(qtbot, tmp_path, [], searched=[])
    entry = autostart.enable()  # made by another window, or by the watcher's own command, meanwhile
    settings = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Settings")
    settings.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(settings.isVisible, timeout=5_000)
    try:
        assert window.keep_repaired_action.isChecked() and window.keep_repaired_action.isEnabled()
    finally:
        settings.close()
    entry.unlink()
    settings.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(settings.isVisible, timeout=5_000)
    try:
        assert not window.keep_repaired_action.isChecked() and window.keep_repaired_action.isEnabled()
    finally:
        settings.close()
    assert not entry.exists()  # neither look turned the automatic repair on or off


def test_an_entry_that_cannot_be_read_leaves_the_switch_off_and_unusable_saying_why(qtbot, tmp_path, monkeypatch):
    """An autostart folder out of reach (here a name too long for the file
    system: a real ENAMETOOLONG) must not leave the switch half-working: it
    shows off, cannot be clicked, and says why; once the entry can be read
    again, the switch works again."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ("a" * 300)))
    window = open_window(qtbot, tmp_path, [], searched=[])
    switch = window.keep_repaired_switch
    switch.look()  # as the Settings menu opens
    assert not switch.action.isChecked() and not switch.action.isEnabled()
    assert switch.action.statusTip().startswith("Cannot tell whether it is on: ")
    assert not switch.action.signalsBlocked()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    switch.look()
    assert switch.action.isEnabled() and not switch.action.isChecked() and not switch.action.signalsBlocked()
