"""Healthy means it opens, in the window: the preview walks Claude Desktop's
way from the record to the conversation as a checklist, deleted sessions
wait behind their own switch, and the new fixes go through the same plan,
confirmation, summary and undo.  The demo data, real files, real Qt."""

from __future__ import annotations

from PySide6.QtCore import Qt
from test_transcripts import conversation, write_transcript

from app.core import demo, slug
from app.core.records import DELETED, HEALTHY

from conftest import T0, files_only, snapshot
from test_gui import answer_dialog, row_of, select


def test_deleted_sessions_wait_behind_their_own_switch(qtbot, demo_window):
    window, _ = demo_window
    titles = lambda: {window.model.session_at(r).title for r in range(window.model.rowCount())}  # noqa: E731
    assert not window.toggles[DELETED].isChecked() and "Old experiment (deleted)" not in titles()
    qtbot.mouseClick(window.toggles[DELETED], Qt.MouseButton.LeftButton)
    assert "Old experiment (deleted)" in titles()
    assert window.model.session_at(row_of(window, "Old experiment (deleted)")).status == DELETED


def test_the_preview_says_why_a_listed_session_does_not_open_step_by_step(qtbot, demo_window):
    window, root = demo_window
    select(qtbot, window, "Sketch the invoice PDF layout")
    header = window.preview.header.text()
    assert "<b>Why:</b> Its conversation is in Claude Desktop&#x27;s old per-session folder" in header
    assert header.count("✓") == 2 and header.count("✗") >= 2  # loads, listed; not where it looks, so lost
    assert "Lost: Repair brings it back." in header
    tabs = [window.preview.tabs.tabText(i) for i in range(window.preview.tabs.count())]
    assert "Conversation" in tabs  # read from where it is, so the user sees what a repair brings back
    assert "local-agent-mode-sessions" in window.preview.transcript_path
    select(qtbot, window, "Fix flaky checkout test")
    assert "<b>Why:</b> Healthy: Claude Desktop lists it and opens it." in window.preview.header.text()


def test_repair_from_the_window_copies_a_sandboxed_conversation_and_undo_takes_it_back(qtbot, demo_window):
    window, root = demo_window
    before = files_only(snapshot(root))
    select(qtbot, window, "Sketch the invoice PDF layout")
    assert window.repair_selected_button.isEnabled()
    plan: list[str] = []
    answer_dialog("Repair 1", plan)
    answer_dialog("Close")
    with qtbot.waitSignal(window.repair_finished, timeout=30_000) as done:
        qtbot.mouseClick(window.repair_selected_button, Qt.MouseButton.LeftButton)
    assert "Its conversation will be put back" in plan[0]
    assert "Its conversation is in an old folder" in plan[0]  # why, in plain words
    assert done.args[0].summary()["done"] == 1
    cli = demo.cli_id("sandbox")
    copied = root / ".claude" / "projects" / slug.slug(demo.API) / f"{cli}.jsonl"
    assert copied.exists()
    qtbot.waitUntil(lambda: window._result is not None and window.model.rowCount() > 0, timeout=30_000)
    qtbot.waitUntil(lambda: window.model.session_at(row_of(window, "Sketch the invoice PDF layout")).status
                    == HEALTHY, timeout=30_000)
    answer_dialog("Yes")
    answer_dialog("OK")
    with qtbot.waitSignal(window.undo_finished, timeout=30_000):
        window.menus.undo.trigger()
    assert files_only(snapshot(root)) == before


def test_an_ssh_sessions_copied_conversation_is_installed_from_the_window(qtbot, demo_window, tmp_path):
    window, root = demo_window
    select(qtbot, window, "Tune the build server")
    assert window.preview.mirror_button.isVisible() and window.preview.mirror_button.isEnabled()
    assert "ana@build-01" in window.preview.header.text()
    cli = demo.cli_id("ssh")
    fetched = tmp_path / "fetched.jsonl"
    write_transcript(fetched, conversation(sid=cli, cwd="/srv/builds", start=T0))
    plan: list[str] = []
    answer_dialog("Install", plan)
    answer_dialog("Close")
    with qtbot.waitSignal(window.repair_finished, timeout=30_000) as done:
        window.install_mirror(path=str(fetched))
    assert "The conversation you copied will be installed" in plan[0]
    assert done.args[0].summary()["done"] == 1
    mirror = root / ".claude" / "projects" / f"ssh-{cli}" / f"{cli}.jsonl"
    assert mirror.read_bytes() == fetched.read_bytes()
    qtbot.waitUntil(lambda: window._result is not None and window.model.rowCount() > 0, timeout=30_000)
    qtbot.waitUntil(lambda: window.model.session_at(row_of(window, "Tune the build server")).opens is True,
                    timeout=30_000)  # the list, scanned again, says it opens now
    assert window.model.session_at(row_of(window, "Tune the build server")).status == HEALTHY
