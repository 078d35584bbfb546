"""The window's part of bringing back what the sidebar lost: transcripts
without records, the conversation itself, other accounts, and main.log."""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from test_transcripts import CWD, conversation, padding_line, write_transcript

from app.core import conversation as C
from app.core import demo, locations
from app.core.records import TRANSCRIPT_ONLY

from conftest import T0, DataFolder, dump, files_only, record, snapshot
from test_gui import LoopWatch, answer_dialog, click_row, demo_dir, open_window, row_of, select


def select_id(qtbot, window, session_id: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    for row in range(window.model.rowCount()):
        if window.model.session_at(row).id == session_id:
            click_row(qtbot, window, row, modifier)
            return
    raise AssertionError(f"no row {session_id}")


def click_text(qtbot, browser, text: str) -> None:
    """Click the words ``text`` in a QTextBrowser, as a person would."""
    cursor = browser.document().find(text)
    assert not cursor.isNull(), f"{text!r} is not shown"
    cursor.setPosition(cursor.selectionStart() + 2, QTextCursor.MoveMode.MoveAnchor)
    browser.setTextCursor(cursor)
    browser.ensureCursorVisible()
    point = browser.cursorRect(cursor).center()
    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def test_the_header_says_what_main_log_says(demo_window):
    window, _ = demo_window
    assert window.diagnosis.isVisible()
    assert window.diagnosis.text().startswith(
        "Claude Desktop failed to save sessions 5 times since 2 November 2026 (last on 20 November 2026)")
    assert "MSIX rename bug" in window.diagnosis.text()


def test_a_transcript_without_a_record_is_listed_with_what_its_ends_say(qtbot, demo_window):
    window, _ = demo_window
    select(qtbot, window, "Full-text search for orders")
    session = window.preview_session = window.model.session_at(window.table.currentIndex().row())
    assert session.status == TRANSCRIPT_ONLY
    header = window.preview.header.text()
    for words in ("no session record points to", "D:\\work\\billing-api", "claude-opus-5", "Rebuild"):
        assert words in header, words
    assert "custom-title" not in header  # where the title came from is a detail
    window.preview.set_technical(True)
    assert "custom-title" in window.preview.header.text()
    tabs = window.preview.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Conversation"]
    view = window.preview.conversation
    qtbot.waitUntil(lambda: view.done, timeout=30_000)
    assert "Add full-text search to the orders endpoint" in view.browser.toPlainText()
    assert window.rebuild_button.isEnabled() and not window.adopt_button.isEnabled()
    assert not window.repair_selected_button.isEnabled()


def test_the_conversation_is_what_a_session_shows_first_and_tools_open_on_a_click(qtbot, demo_window):
    window, _ = demo_window
    select(qtbot, window, "Fix flaky checkout test")
    tabs = window.preview.tabs
    names = [tabs.tabText(i) for i in range(tabs.count())]
    assert names == ["Conversation", "Record (.json)"] and tabs.currentIndex() == 0
    assert [tabs.isTabVisible(i) for i in range(tabs.count())] == [True, False]  # the file: under Show files
    view = window.preview.conversation
    qtbot.waitUntil(lambda: view.done and bool(view.messages), timeout=30_000)
    text = view.browser.toPlainText()
    assert "You" in text and "Claude" in text and "Fix flaky checkout test, please." in text
    assert "▸ Tool call: Bash" in text and "▸ Tool result (5 lines)" in text
    assert "?? notes.md\nREADME.md" not in text  # collapsed: one line, not the output
    click_text(qtbot, view.browser, "Tool result (5 lines)")
    qtbot.waitUntil(lambda: "?? notes.md\nREADME.md" in view.browser.toPlainText(), timeout=5_000)
    assert "▾ Tool result" in view.browser.toPlainText()
    click_text(qtbot, view.browser, "Tool result (5 lines)")
    qtbot.waitUntil(lambda: "?? notes.md\nREADME.md" not in view.browser.toPlainText(), timeout=5_000)


def test_a_200_mb_transcript_shows_its_first_page_at_once_and_the_window_keeps_turning(qtbot, tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    sid = "abababab-0000-4000-8000-000000000000"
    folder.json("local_big", title="A very long session", cliSessionId=sid, cwd=CWD)
    path = tmp_path / "Claude" / ".claude" / "projects" / "big" / f"{sid}.jsonl"
    turn = b"".join(json.dumps(x).encode() + b"\n" for x in conversation(sid=sid, turns=1))
    big = json.dumps(padding_line(sid, 200_000)).encode() + b"\n"
    write_transcript(path, [])
    with path.open("wb") as f:
        while f.tell() < 200 << 20:
            f.write(turn * 20 + big)
    size = path.stat().st_size
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    select(qtbot, window, "A very long session")
    watch = LoopWatch()
    watch.start()
    started = time.perf_counter()
    window.preview_reader.pane.clear()
    window.preview_reader.show(window.model.session_at(row_of(window, "A very long session")), None)
    view = window.preview.conversation
    qtbot.waitUntil(lambda: bool(view.messages), timeout=30_000)
    first = time.perf_counter() - started
    qtbot.wait(300)
    watch.stop()
    print(f"\n200 MB transcript ({size:,} bytes): first page shown after {first:.3f} s, "
          f"{len(view.messages)} messages from {view.next_offset:,} bytes; "
          f"longest event-loop stall {watch.longest * 1000:.0f} ms over {len(watch.gaps)} ticks")
    assert not view.done and view.next_offset < 4 * C.PAGE_BYTES  # the start only, never the whole file
    assert "of 200" in view.status.text() and "scroll down for more" in view.status.text()
    read = view.next_offset
    bar = view.browser.verticalScrollBar()
    bar.setValue(bar.maximum())  # the reader scrolls to the end of what is shown: the next page comes
    qtbot.waitUntil(lambda: view.next_offset > read, timeout=30_000)
    assert view.next_offset < size


def test_rebuild_from_the_window_shows_its_plan_and_evidence_and_undo_takes_it_back(qtbot, demo_window):
    window, root = demo_window
    before = files_only(snapshot(root))
    search = next(s for s in window._result.transcript_only if s.title == "Full-text search for orders")
    lost = next(s for s in window._result.transcript_only if s.title == "Redesign onboarding emails")
    window.preview.set_technical(True)  # the plan then shows its technical reasons, the evidence among them
    select_id(qtbot, window, search.id)
    select_id(qtbot, window, lost.id, Qt.KeyboardModifier.ControlModifier)
    assert window.rebuild_button.isEnabled()
    plan: list[str] = []
    summary: list[str] = []
    answer_dialog("Rebuild 2", plan)
    answer_dialog("Close", summary)
    with qtbot.waitSignal(window.repair_finished, timeout=30_000) as done:
        qtbot.mouseClick(window.rebuild_button, Qt.MouseButton.LeftButton)
    assert "Will get a new record" in plan[0] and "Will be linked to its conversation" in plan[0]
    assert "same folder: C:\\Users\\ana\\repos\\handbook" in plan[0]  # the evidence, before anything changes
    assert done.args[0].summary()["done"] == 2
    qtbot.waitUntil(lambda: bool(summary), timeout=30_000)
    assert "2 rebuilt" in summary[0]
    active = root / "claude-code-sessions" / demo.ACTIVE_ACCOUNT / demo.ACTIVE_ORG
    made = [p for p in active.glob("local_*.json") if p.is_file() and search.id.encode() in p.read_bytes()]
    assert len(made) == 1 and json.loads(made[0].read_bytes())["title"] == "Full-text search for orders"
    onboard = json.loads((active / f"{demo.session_id('onboard')}.json").read_bytes())
    assert onboard["cliSessionId"] == lost.id and "transcriptUnavailable" not in onboard
    qtbot.waitUntil(lambda: window._result is not None and len(window._result.transcript_only) == 3,
                    timeout=30_000)
    answer_dialog("Yes")
    undone: list[str] = []
    answer_dialog("OK", undone)
    with qtbot.waitSignal(window.undo_finished, timeout=30_000):
        window.menus.undo.trigger()
    assert files_only(snapshot(root)) == before


def test_move_to_active_account_copies_a_session_and_leaves_the_original(qtbot, tmp_path):
    info = demo.write_demo(tmp_path / "Claude")
    window = open_window(qtbot, tmp_path, [demo_dir(info.path)])
    select(qtbot, window, "Fix flaky checkout test")
    assert not window.adopt_button.isEnabled()  # already in the active account
    select(qtbot, window, "Migrate CI to GitHub Actions")
    assert "Another account (…" in window.preview.header.text()
    assert window.adopt_button.isEnabled()
    original = next(info.path.rglob(f"{demo.session_id('ci')}.json"))
    data = original.read_bytes()
    plan: list[str] = []
    answer_dialog("Copy 1", plan)
    answer_dialog("Close")
    with qtbot.waitSignal(window.repair_finished, timeout=30_000):
        qtbot.mouseClick(window.adopt_button, Qt.MouseButton.LeftButton)
    assert "Will be copied to this account" in plan[0] and "Shows when you sign in to its account" in plan[0]
    copy = info.path / "claude-code-sessions" / demo.ACTIVE_ACCOUNT / demo.ACTIVE_ORG / original.name
    assert copy.read_bytes() == data and original.read_bytes() == data


def test_a_record_and_transcript_pair_points_each_to_the_other(qtbot, tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.write("local_lost.json", dump(record("local_lost", cwd=CWD, createdAt=T0, lastActivityAt=T0 + 600_000,
                                                title="Lost its link")))
    sid = "acacacac-0000-4000-8000-000000000000"
    write_transcript(tmp_path / "Claude" / ".claude" / "projects" / "p" / f"{sid}.jsonl",
                     conversation(sid=sid, start=T0 + 10_000))
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    select(qtbot, window, "Lost its link")
    assert "Its conversation" in window.preview.header.text() and "same folder" in window.preview.header.text()
    assert window.rebuild_button.isEnabled()
    select_id(qtbot, window, sid)
    qtbot.waitUntil(lambda: window.preview.session_id == sid, timeout=10_000)
    assert "Lost its link" in window.preview.header.text() and "Its session" in window.preview.header.text()
    assert isinstance(Path(window.preview.transcript_path), Path)


def test_a_folder_whose_records_were_all_wiped_lists_its_transcripts_and_is_ready(qtbot, tmp_path):
    """After a reinstall the app's folder is empty; only transcripts remain
    (class F).  The window lists them and settles (screenshot mode waits for it)."""
    folder = DataFolder(tmp_path / "Claude")
    sid = "adadadad-0000-4000-8000-000000000000"
    write_transcript(tmp_path / "Claude" / ".claude" / "projects" / "p" / f"{sid}.jsonl", conversation(sid=sid))
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    qtbot.waitUntil(lambda: window._was_ready, timeout=30_000)
    assert window.model.rowCount() == 1 and window.preview.session_id == sid
    assert window.rebuild_button.isEnabled()


def test_a_page_that_arrives_late_is_not_shown_twice(qtbot, tmp_path):
    from app.gui.conversation_view import ConversationView

    path = write_transcript(tmp_path / "t.jsonl", conversation(turns=3))
    asked: list[int] = []
    view = ConversationView(str(path))
    qtbot.addWidget(view)
    view.page_wanted.connect(lambda _path, offset: asked.append(offset))
    view.start()
    first = C.read_page(str(path), 0, max_messages=4)
    view.add_page(first)
    view.add_page(first)  # the same page again: an earlier view's answer, arriving late
    assert len(view.messages) == 4
    view.load_more()
    assert asked == [0, first.end]
    view.add_page(C.read_page(str(path), 0, max_messages=4))  # not what it waits for
    view.add_page(C.read_page(str(path), first.end, max_messages=100))
    assert len(view.messages) == 12 and view.done
