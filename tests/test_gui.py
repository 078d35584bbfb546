"""The window, used as a person uses it: real Qt (offscreen), real files, real
processes.  Dialogs are answered by clicking their buttons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QMenu, QMessageBox, QTableWidget

from app.core import claude_process, contents, demo, locations
from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED, TRANSCRIPT_ONLY
from app.gui import theme
from app.gui.json_highlighter import is_dark
from app.gui.main_window import MainWindow
from app.gui.preview import DiffView, FileTab
from app.gui.session_model import COL_ACCOUNT, COL_STATUS, COL_TITLE, friendly_time

from conftest import ACCOUNT, ORG, ROOT, T0, DataFolder, dump, record, run_cli


def test_qt_keeps_its_references_to_true_and_false(qapp):
    """PySide6 6.12.0 drops a reference to True each time a signal declared
    in Python hands a bool to Python (the window's claude_state_changed is
    one); on Python 3.11, where True is not immortal, the app then dies with
    "bool_dealloc".  50 emits show the fault without causing the crash."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        changed = Signal(bool)

    emitter, seen = Emitter(), []
    emitter.changed.connect(lambda on: seen.append(on))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(50):
        emitter.changed.emit(i % 2 == 0)
    seen.clear()
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before


# ----------------------------------------------------------------- helpers


def answer_dialog(button: str, seen: list[str] | None = None, timeout_s: float = 30) -> None:
    """When a modal dialog with a button labelled ``button`` opens, click it
    (as a person would), keeping the dialog's text in ``seen``."""
    deadline = time.monotonic() + timeout_s

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None:
            for b in dialog.findChildren(QAbstractButton):
                if b.text().replace("&", "") == button and b.isVisible() and b.isEnabled():
                    if seen is not None:
                        seen.append(dialog_text(dialog))
                    b.click()
                    return
        if time.monotonic() < deadline:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def dialog_text(dialog) -> str:
    parts = [label.text() for label in dialog.findChildren(QLabel)]
    if isinstance(dialog, QMessageBox):
        parts.append(dialog.text())
    for table in dialog.findChildren(QTableWidget):
        for r in range(table.rowCount()):
            parts.append(" | ".join(table.item(r, c).text() for c in range(table.columnCount())))
    return "\n".join(parts)


class LoopWatch:
    """How long the event loop went without turning: the gaps between the
    ticks of a 5 ms timer, as a user feels them (a frozen window)."""

    def __init__(self):
        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start(5)

    def stop(self) -> None:
        self._timer.stop()

    @property
    def longest(self) -> float:
        return max(self.gaps, default=0.0)


def open_window(qtbot, tmp_path: Path, dirs: list[locations.DataDir], **kw) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    kw.setdefault("backup_root", tmp_path / "backups")
    window = MainWindow(dirs, settings=settings, **kw)
    qtbot.addWidget(window)
    if any(d.has_sessions for d in dirs):
        with qtbot.waitSignal(window.scan_finished, timeout=60_000):
            window.show()
    else:
        window.show()
    # Nothing can be changed until the window knows whether Claude Desktop
    # runs: what a user sees, a moment after the sessions show.
    qtbot.waitUntil(lambda: window.claude_watch.known, timeout=30_000)
    return window


def demo_dir(path: Path) -> locations.DataDir:
    return locations.DataDir(path, "demo", "Demo data", True)


def row_of(window: MainWindow, title: str) -> int:
    for row in range(window.model.rowCount()):
        if window.model.session_at(row).title == title:
            return row
    raise AssertionError(f"no row titled {title!r}")


def click_row(qtbot, window: MainWindow, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    index = window.model.index(row, COL_TITLE)
    window.table.scrollTo(index)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, modifier,
                     window.table.visualRect(index).center())


def select(qtbot, window: MainWindow, title: str) -> str:
    """Click the row with this title and wait for its preview; its session id."""
    row = row_of(window, title)
    session_id = window.model.session_at(row).id
    if window.preview.session_id == session_id:  # already the current row: wait for its files
        qtbot.waitUntil(lambda: window.preview.tabs.count() and window.preview.tabs.tabText(0) != "…",
                        timeout=30_000)
        return session_id
    with qtbot.waitSignal(window.preview_shown, timeout=30_000, check_params_cb=lambda sid: sid == session_id):
        click_row(qtbot, window, row)
    return session_id


def status_of(window: MainWindow, title: str) -> str:
    return window.model.session_at(row_of(window, title)).status




# ------------------------------------------------------------------ the list


def test_the_demo_data_is_listed_newest_first_with_words_and_icons(demo_window):
    window, _ = demo_window
    assert window.model.rowCount() == 38  # 33 records (a deleted one is hidden) and 5 transcripts without one
    times = [window.model.session_at(r).last_activity_ms for r in range(window.model.rowCount())]
    known = [t for t in times if t is not None]
    assert known == sorted(known, reverse=True) and times[: len(known)] == known  # unknown times last
    first = window.model.index(0, COL_STATUS)
    assert first.data() in ("Healthy", "Orphaned", "Corrupt")  # a word, not colour alone
    assert not first.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert [b.text() for b in window.toggles.values()] == ["✓ Healthy 7", "✓ Orphaned 14", "✓ Corrupt 12",
                                                           "✓ Transcript only 5", "○ Deleted 1"]  # on, and off
    assert window.toggles[DELETED].accessibleDescription() == "1, hidden"
    assert window.model.index(0, COL_ACCOUNT).data() == "This account"  # words, not a uuid
    assert "34 sessions in 1 data folder" in window.status_label.text()
    assert window.folder_combo.currentText().startswith("Demo data")


def test_the_search_box_and_the_status_toggles_filter_the_list(qtbot, demo_window):
    window, _ = demo_window
    qtbot.keyClicks(window.search, "payment")
    assert window.model.rowCount() == 1 and window.model.session_at(0).title == "Refactor payment module"
    window.search.clear()
    qtbot.keyClicks(window.search, "HANDBOOK")  # the cwd, whatever the case
    assert window.model.rowCount() >= 2
    window.search.clear()
    qtbot.keyClicks(window.search, demo.session_id("leak")[6:18])  # part of the id
    assert [window.model.session_at(r).title for r in range(window.model.rowCount())] == [
        "Investigate memory leak in worker"]
    window.search.clear()
    qtbot.mouseClick(window.toggles[CORRUPT], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.toggles[HEALTHY], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.toggles[TRANSCRIPT_ONLY], Qt.MouseButton.LeftButton)
    assert window.model.rowCount() == 14
    assert {window.model.session_at(r).status for r in range(14)} == {ORPHANED}


# --------------------------------------------------------------- the preview


def test_selecting_an_orphaned_session_says_what_happened_and_its_files_are_one_click_away(qtbot, demo_window):
    window, _ = demo_window
    session_id = select(qtbot, window, "Refactor payment module")
    header = window.preview.header.text()
    assert "Refactor payment module" in header and "billing-api" in header and "claude-opus-5" in header
    assert "<b>Why:</b> Claude Desktop could not save this session" in header
    assert session_id not in header and ".tmp" not in header  # plain words first: no ids, no files
    tabs = window.preview.tabs
    assert tabs.tabText(0) == "Conversation" and not tabs.isTabVisible(1)
    qtbot.mouseClick(window.preview.details_button, Qt.MouseButton.LeftButton)  # Show files and details
    header = window.preview.header.text()
    assert session_id in header and "found:" in header and "tmp-only" in header
    tab = window.preview.file_tab("tmp")
    assert tab is not None and window.preview.file_tab("json") is None
    assert f'"sessionId": "{session_id}"' in tab.editor.toPlainText()  # pretty-printed
    assert tabs.tabText(1) == "Unsaved copy (.json.tmp)" and tabs.isTabVisible(1)


def test_both_files_show_side_by_side_with_their_difference(qtbot, demo_window):
    window, _ = demo_window
    window.preview.set_technical(True)
    select(qtbot, window, "Add CSV export")
    names = [window.preview.tabs.tabText(i) for i in range(window.preview.tabs.count())]
    assert names == ["Conversation", "Record (.json)", "Unsaved copy (.json.tmp)", "Difference"]
    diff = window.preview.tabs.widget(3)
    assert isinstance(diff, DiffView) and diff.left.extraSelections()
    assert "lastActivityAt" in diff.left.toPlainText() and "lastActivityAt" in diff.right.toPlainText()


def test_a_broken_file_shows_why_where_and_the_bytes_around_it(qtbot, demo_window):
    window, _ = demo_window
    window.preview.set_technical(True)
    select(qtbot, window, "Draft API docs")  # its .json is cut in half
    tab = window.preview.file_tab("json")
    assert isinstance(tab, FileTab)
    problem = tab.problem.text()
    assert "will not load" in problem and "truncated" in problem and "Line 1, column" in problem
    assert tab.around.isVisibleTo(tab) and "▶" in tab.around.toPlainText()


def coloured(tab: FileTab) -> bool:
    """Whether any line of the tab's text has colours (the JSON highlighter's)."""
    block = tab.editor.document().firstBlock()
    while block.isValid():
        if block.layout().formats():
            return True
        block = block.next()
    return False


def test_a_records_json_is_coloured_once_its_tab_can_be_seen(qtbot, demo_window):
    """With the files and details hidden, as at first, nothing colours the
    JSON no one sees; shown, it is coloured (and so is the next one's)."""
    window, _ = demo_window
    select(qtbot, window, "Add dark mode toggle")
    tab = window.preview.file_tab("json")
    assert isinstance(tab, FileTab) and "{" in tab.editor.toPlainText()
    qtbot.wait(100)
    assert not coloured(tab)
    window.preview.set_technical(True)
    qtbot.waitUntil(lambda: coloured(tab), timeout=5_000)
    select(qtbot, window, "Fix flaky checkout test")
    following = window.preview.file_tab("json")
    assert isinstance(following, FileTab)
    qtbot.waitUntil(lambda: coloured(following), timeout=5_000)


def test_a_50_mb_record_opens_without_freezing_and_shows_all_on_demand(qtbot, tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.json("local_big", dump(record("local_big", title="Big one", pad="x" * 50_000_000)))
    # The newer, shown first: the click on the big one starts its reading.
    folder.json("local_small", dump(record("local_small", title="Small one", pad="y" * 400_000,
                                           lastActivityAt=T0 + 60_000)))
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    window.preview.set_technical(True)
    watch = LoopWatch()
    watch.start()
    started = time.perf_counter()
    click_row(qtbot, window, row_of(window, "Big one"))
    # The click returned at once: the file is read in a worker, not here.
    tabs = window.preview.tabs
    assert window.preview.file_tab("json") is None and "…" in [tabs.tabText(i) for i in range(tabs.count())]
    qtbot.waitUntil(lambda: window.preview.file_tab("json") is not None, timeout=30_000)
    took = time.perf_counter() - started
    watch.stop()
    tab = window.preview.file_tab("json")
    print(f"\n50 MB preview: {took:.2f} s to show; longest event-loop stall {watch.longest * 1000:.0f} ms")
    shown = tab.editor.toPlainText()
    assert len(shown) < contents.PREVIEW_LIMIT and "more characters on this line" in shown  # the first part only
    assert tab.more.isVisibleTo(tab) and "Show all" in tab.more.text()
    select(qtbot, window, "Small one")
    small = window.preview.file_tab("json")
    with qtbot.waitSignal(window.preview.file_tab("json").more.clicked):
        qtbot.mouseClick(small.more, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(small.editor.toPlainText()) > 400_000, timeout=30_000)
    assert not small.more.isVisibleTo(small)


# ------------------------------------------------------------ repair, undo


def test_repairing_an_orphan_makes_it_healthy_and_writes_its_record(qtbot, demo_window):
    window, root = demo_window
    session_id = select(qtbot, window, "Refactor payment module")
    record_path = next(root.rglob(f"{session_id}.json.tmp")).with_suffix("")
    tmp_bytes = record_path.with_name(record_path.name + ".tmp").read_bytes()
    assert not record_path.exists()
    plan_text: list[str] = []
    summary_text: list[str] = []
    answer_dialog("Repair 1", plan_text)
    answer_dialog("Close", summary_text)
    with qtbot.waitSignal(window.repair_finished, timeout=30_000) as done:
        qtbot.mouseClick(window.repair_selected_button, Qt.MouseButton.LeftButton)
    assert "Will be brought back" in plan_text[0] and "backups" in plan_text[0].lower()
    assert "Claude could not save it; a good copy exists" in plan_text[0]  # why, in plain words
    report = done.args[0]
    assert report.summary()["done"] == 1
    qtbot.waitUntil(lambda: bool(summary_text), timeout=30_000)
    assert "1 repaired" in summary_text[0] and report.backup_dir in summary_text[0]
    assert record_path.read_bytes() == tmp_bytes
    qtbot.waitUntil(lambda: window._result is not None and status_of(window, "Refactor payment module") == HEALTHY,
                    timeout=30_000)


def test_undo_from_the_summary_puts_the_files_back(qtbot, demo_window):
    window, root = demo_window
    session_id = select(qtbot, window, "Investigate memory leak in worker")
    tmp = next(root.rglob(f"{session_id}.json.tmp"))
    original = tmp.read_bytes()
    answer_dialog("Repair 1")
    answer_dialog("Undo this repair")
    asked: list[str] = []
    answer_dialog("Yes", asked)  # undo asks first, saying how many
    undone: list[str] = []
    answer_dialog("OK", undone)
    with qtbot.waitSignal(window.undo_finished, timeout=30_000):
        qtbot.mouseClick(window.repair_selected_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(undone), timeout=30_000)
    assert "Put back the 1 session this repair changed" in asked[0]
    assert "1 session put back as it was." in undone[0]
    assert tmp.read_bytes() == original and not tmp.with_suffix("").exists()
    qtbot.waitUntil(lambda: window._result is not None
                    and status_of(window, "Investigate memory leak in worker") == ORPHANED, timeout=30_000)


def test_cancelling_a_long_repair_midway_loses_nothing(qtbot, tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    originals = {}
    for i in range(2500):
        path = folder.tmp(f"local_{i:05d}", title=f"Session {i}")
        originals[path] = path.read_bytes()
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    answer_dialog("Repair 2500")
    summary: list[str] = []
    answer_dialog("Close", summary)
    with qtbot.waitSignal(window.repair_finished, timeout=120_000) as done:
        qtbot.mouseClick(window.repair_all_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.flow.progress is not None and window.flow.progress.value() >= 10,
                        timeout=60_000)
        cancel = next(b for b in window.flow.progress.findChildren(QAbstractButton) if b.text() == "Cancel")
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    counts = done.args[0].summary()
    assert counts["done"] >= 10 and counts["cancelled"] > 0, counts
    assert counts["done"] + counts["cancelled"] == 2500
    for tmp, data in originals.items():  # every session is in one place or the other, whole
        promoted = tmp.with_suffix("")
        assert (tmp.exists() and tmp.read_bytes() == data) != (promoted.exists() and promoted.read_bytes() == data)
    assert sum(1 for _ in folder.org.glob("*.json")) == counts["done"]
    qtbot.waitUntil(lambda: bool(summary), timeout=30_000)
    assert "cancelled" in summary[0]


@pytest.fixture
def read_only(tmp_path):
    """Make a folder read-only for real, even for root (chattr +i); undone after."""
    made = []

    def make(folder: Path) -> None:
        if os.geteuid() == 0:
            if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
                pytest.skip("cannot make a folder read-only for root here (chattr)")
        else:
            folder.chmod(0o555)
        made.append(folder)

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)])
        else:
            folder.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_read_only_folder_ends_in_a_clear_message_not_a_crash(qtbot, tmp_path, read_only):
    folder = DataFolder(tmp_path / "Claude")
    tmp = folder.tmp("local_a", title="Stuck")
    data = tmp.read_bytes()
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)])
    read_only(folder.org)
    select(qtbot, window, "Stuck")
    summary: list[str] = []
    answer_dialog("Repair 1")
    answer_dialog("Close", summary)
    with qtbot.waitSignal(window.repair_finished, timeout=30_000) as done:
        qtbot.mouseClick(window.repair_selected_button, Qt.MouseButton.LeftButton)
    assert done.args[0].summary()["failed"] == 1
    qtbot.waitUntil(lambda: bool(summary), timeout=30_000)
    assert "1 failed" in summary[0] and ("not permitted" in summary[0] or "Permission denied" in summary[0])
    assert tmp.read_bytes() == data and not (folder.org / "local_a.json").exists()
    assert window.isVisible()


def test_backups_that_cannot_be_written_end_in_one_clear_sentence(qtbot, tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    tmp = folder.tmp("local_a", title="Stuck")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    window = open_window(qtbot, tmp_path, [locations.chosen(folder.root)], backup_root=blocker)
    warning: list[str] = []
    answer_dialog("Repair 1")
    answer_dialog("OK", warning)
    with qtbot.waitSignal(window.job_failed, timeout=30_000) as failed:
        qtbot.mouseClick(window.repair_all_button, Qt.MouseButton.LeftButton)
    assert failed.args[0].startswith("The backup folder") and "is a file, not a folder" in failed.args[0]
    qtbot.waitUntil(lambda: bool(warning), timeout=30_000)
    assert "is a file, not a folder" in warning[0] and "Traceback" not in warning[0]
    assert tmp.exists() and not (folder.org / "local_a.json").exists()
    assert window.repair_all_button.isEnabled()  # ready to try again


# ----------------------------------------------------------- Claude running


@pytest.mark.real_processes
def test_while_claude_desktop_runs_a_banner_shows_and_repair_waits(qtbot, tmp_path):
    fake = tmp_path / "bin" / "claude-desktop"  # what the Linux rule looks for (claude_process)
    fake.parent.mkdir()
    shutil.copy(shutil.which("sleep"), fake)
    ours: list[subprocess.Popen] = []
    # The real process list and the real rule, narrowed to this test's own
    # stand-in: a Claude Desktop that runs beside the suite changes nothing.
    window = open_window(qtbot, tmp_path, [demo_dir(demo.write_demo(tmp_path / "Claude").path)],
                         claude_check=lambda: [p for p in claude_process.running() if p.pid in {o.pid for o in ours}],
                         check_interval_ms=100)
    proc = subprocess.Popen([str(fake), "60"])
    ours.append(proc)
    try:
        with qtbot.waitSignal(window.claude_state_changed, timeout=15_000, check_params_cb=lambda on: on):
            pass
        assert window.banner.isVisible() and "fully quit" in window.banner.text()
        assert not window.repair_all_button.isEnabled() and not window.repair_selected_button.isEnabled()
    finally:
        proc.kill()
        proc.wait()
    with qtbot.waitSignal(window.claude_state_changed, timeout=15_000, check_params_cb=lambda on: not on):
        pass
    assert not window.banner.isVisible() and window.repair_all_button.isEnabled()


# --------------------------------------------------------- ten thousand rows


def test_ten_thousand_sessions_stream_in_while_the_window_stays_responsive(qtbot, tmp_path):
    org = tmp_path / "Claude" / "claude-code-sessions" / ACCOUNT / ORG
    org.mkdir(parents=True)
    for i in range(10_000):
        stem = f"local_{i:08d}-0000-4000-8000-000000000000"
        suffix = ".json.tmp" if i % 5 == 0 else ".json"
        (org / (stem + suffix)).write_bytes(dump(record(stem, title=f"Session {i}", lastActivityAt=1_700_000_000_000
                                                        + i * 1000)))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow([locations.chosen(tmp_path / "Claude")], settings=settings, backup_root=tmp_path / "b")
    qtbot.addWidget(window)
    watch = LoopWatch()
    started = time.perf_counter()
    watch.start()
    with qtbot.waitSignal(window.scan_finished, timeout=120_000):
        window.show()
    total = time.perf_counter() - started
    watch.stop()
    longest = watch.longest
    first_rows_after = window.scan_feed.first_rows_after
    print(f"\n10,000 sessions: first rows after {first_rows_after:.3f} s, whole scan {total:.2f} s, "
          f"longest event-loop stall {longest * 1000:.0f} ms over {len(watch.gaps)} ticks")
    assert window.model.rowCount() == 10_000
    assert window.model.session_at(0).title == "Session 9999"  # newest first
    # The rows came in batches while the scan went on, and the event loop
    # kept turning: no single stall comes near the length of the scan.
    assert first_rows_after is not None and first_rows_after < total / 2
    assert longest < total / 3


# ------------------------------------------------------- the usual manners


def test_an_empty_computer_says_where_it_looked_and_offers_the_demo(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, [], searched=["/nowhere/Claude", "/elsewhere/Claude"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty, timeout=10_000)
    assert "/nowhere/Claude" in window.empty_text.text() and "looked in" in window.empty_text.text()
    with qtbot.waitSignal(window.scan_finished, timeout=60_000):
        qtbot.mouseClick(window.demo_button, Qt.MouseButton.LeftButton)
    assert window.model.rowCount() == 38 and window.stack.currentIndex() == 0


def test_the_keyboard_reaches_everything(qtbot, demo_window):
    window, _ = demo_window
    window.activateWindow()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Home)
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.preview.session_id == window.model.session_at(1).id, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.search.hasFocus(), timeout=5_000)
    with qtbot.waitSignal(window.scan_finished, timeout=60_000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Tools", "&Settings", "&Help"]
    menu_items = {a.text() for m in window.menuBar().findChildren(QMenu) for a in m.actions()}
    assert {"&Choose folder…", "Open &demo data", "&Quit", "&Refresh", "&Backups…", "&Undo last change…",
            "&Move selected to active account…", "Re&build selected…", "Open &log folder",
            "&Keep my sessions repaired", "&How it works", "&About Session Rescue"} <= menu_items


def test_the_row_menu_copies_the_id_and_the_path(qtbot, demo_window):
    window, _ = demo_window
    session_id = select(qtbot, window, "Add CSV export")
    index = window.model.index(row_of(window, "Add CSV export"), COL_TITLE)
    window.table.customContextMenuRequested.emit(window.table.visualRect(index).center())  # a right-click
    menu = next(m for m in window.findChildren(QMenu) if m.isVisible())
    actions = {a.text(): a for a in menu.actions()}
    assert {"Open containing folder", "Copy path", "Copy session id"} <= set(actions)
    actions["Copy session id"].trigger()
    assert QGuiApplication.clipboard().text() == session_id
    actions["Copy path"].trigger()
    assert QGuiApplication.clipboard().text().endswith(f"{session_id}.json")
    menu.close()


def test_window_size_and_splitter_are_remembered(qtbot, tmp_path):
    info = demo.write_demo(tmp_path / "Claude")
    window = open_window(qtbot, tmp_path, [demo_dir(info.path)])
    window.resize(760, 590)  # within the offscreen screen (800 x 800): a small laptop's
    window.splitter.setSizes([460, 290])
    size, sizes = window.size(), window.splitter.sizes()
    assert (size.width(), size.height()) == (760, 590)
    window.close()
    again = open_window(qtbot, tmp_path, [demo_dir(info.path)])
    qtbot.waitUntil(lambda: again.splitter.sizes() == sizes, timeout=5_000)
    assert again.size() == size
    assert again.splitter.sizes() == sizes


def test_the_dark_theme_is_dark_and_so_is_its_highlighting(qapp):
    app = qapp
    theme.apply(app, "dark")
    try:
        assert is_dark(app.palette())
    finally:
        theme.apply(app, "light")
    assert not is_dark(app.palette())


def test_rich_text_is_escaped_as_html_escape_does():
    """The window's own escape (app.gui.rich_text: no html module at start) gives what html.escape gives."""
    import html

    from app.gui.rich_text import escape

    for text in ["", "plain words", "<b>bold</b> & <i>&amp;</i>", "\"double\" and 'single' quotes", "&lt;&#x27;",
                 "a<b>c&d\"e'f", "ünïcödé, \u202e reversed, \x00 nul, 🙂"]:
        assert escape(text) == html.escape(text)


def test_times_read_like_a_person_says_them():
    from datetime import datetime
    now = datetime(2026, 11, 26, 15, 0)
    ms = lambda d: d.timestamp() * 1000  # noqa: E731
    assert friendly_time(ms(datetime(2026, 11, 26, 9, 5)), now) == "Today 09:05"
    assert friendly_time(ms(datetime(2026, 11, 25, 23, 59)), now) == "Yesterday 23:59"
    assert friendly_time(ms(datetime(2024, 3, 12, 8, 0)), now) == "12 Mar 2024"
    assert friendly_time(None, now) == "unknown"


# -------------------------------------------------------- screenshot mode


def test_screenshot_mode_saves_the_filled_window_and_exits_0(tmp_path):
    info = demo.write_demo(tmp_path / "Claude")
    shot = tmp_path / "window.png"
    env = {"QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    done = run_cli("gui", "--data-dir", str(info.path), "--screenshot", str(shot), env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "34 sessions in 1 data folder" in done.stdout and str(shot) in done.stdout
    image = QImage(str(shot))
    assert not image.isNull() and (image.width(), image.height()) == (1280, 780)
    colours = {image.pixel(x, y) for x in range(0, 1280, 37) for y in range(0, 780, 23)}
    assert len(colours) > 20  # a drawn window, not a blank rectangle
    logs = list((tmp_path / "state").rglob("session-rescue.log"))
    assert logs and "started" in logs[0].read_text()


def test_the_app_with_no_command_opens_the_window(tmp_path):
    """What a double-click does: the window (here offscreen, for a moment)."""
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env={**os.environ, **env,
                            "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "No Claude Desktop sessions were found" in line
        assert proc.poll() is None  # the window is open and waiting for the user
    finally:
        proc.kill()
        proc.communicate()


def test_work_asked_for_after_the_window_closed_is_refused_not_left_running(qtbot, tmp_path):
    """A result can arrive after the window has closed and ask for more work
    (the first row's preview, say).  Qt aborts the whole app when a running
    thread is destroyed with its window, so no thread may start then."""
    window = open_window(qtbot, tmp_path, [], searched=[])
    window.close()
    assert window.tasks.start(time.sleep, 0.1) is None
    assert not window.tasks.busy


# ------------------------------------------------------------ a quick start


# What the window does not need to show its sessions and the first one's
# preview: the machinery of a change, the demo data, exports, psutil and the
# log file's modules, the JSON's colours (its files are hidden at first), the
# autostart entry (read when the Settings menu opens), the hand-off to the
# desktop, the html module, and the Conversation tab's view and reader (the
# demo's newest session has no conversation yet), each imported when first used.
NOT_AT_START = ("app.core.plans", "app.core.backups", "app.core.engine", "app.core.transaction", "app.core.undo",
                "app.core.planners", "app.core.export", "app.core.resume", "app.core.demo", "app.gui.repair_flow",
                "app.gui.dialogs", "app.gui.help_texts", "app.core.claude_process", "psutil", "logging.handlers",
                "platformdirs", "app.gui.json_highlighter", "app.core.autostart", "app.gui.desktop", "html",
                "app.gui.conversation_view", "app.core.conversation")


def qt_probe(lines: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``lines`` as a Python program in a process of its own (offscreen
    Qt, this checkout's app): what a fresh start imports, makes and does."""
    return subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), **env},
                          timeout=timeout)


def test_the_window_shows_its_sessions_without_the_change_machinery(tmp_path):
    """Up to ready (the sessions listed, the first one's preview shown),
    through the imports of ``session-rescue gui``, in a process of its own."""
    info = demo.write_demo(tmp_path / "Claude")
    done = qt_probe([
        "import sys",
        "import app.cli, app.cli.scan_commands, app.gui.app",
        "from pathlib import Path",
        "from PySide6.QtCore import QSettings",
        "from PySide6.QtWidgets import QApplication",
        "from app.core import locations",
        "from app.gui import theme",
        "from app.gui.main_window import MainWindow",
        "qt = QApplication([])",
        "theme.apply(qt)",
        f"window = MainWindow([locations.DataDir(Path({str(info.path)!r}), 'demo', 'Demo data', True)],",
        f"                    settings=QSettings({str(tmp_path / 'settings.ini')!r}, QSettings.Format.IniFormat))",
        "def ready():",
        f"    print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))",
        "    window.close()",
        "    qt.quit()",
        "window.ready.connect(ready)",
        "window.show()",
        "qt.exec()",
    ])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_quick_scan_shows_its_rows_at_once(qtbot, tmp_path, monkeypatch):
    """The rows a scan reads in its first moments wait for the rest, up to a
    full batch of the scan's: one paint, not one per folder of sessions (the
    demo has two), and the first row's preview comes with them."""
    from app.gui import scan_feed

    monkeypatch.setattr(scan_feed, "HOLD_MS", 600_000)  # "its first moments", however slow this machine is
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], settings=settings,
                        backup_root=tmp_path / "backups")
    qtbot.addWidget(window)
    batches: list[int] = []
    window.scan_feed.batch.connect(lambda batch: batches.append(len(batch)))
    with qtbot.waitSignal(window.ready, timeout=60_000):
        window.show()
    assert batches == [34]
    assert window.preview.session_id == window.model.session_at(0).id and window.preview.file_tab("json")


class ShownWith(QObject):
    """How many rows the window's table had each time the window was shown."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window = window
        self.rows: list[int] = []
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QEvent.Type.Show:
            self.rows.append(self.window.model.rowCount())
        return False


def test_a_window_held_for_its_first_rows_opens_filled_and_before_ready(qtbot, tmp_path):
    """What app.run does (show_with_first_rows): a folder read that fast opens
    already filled, never painted empty first, and is shown before ready."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], settings=settings,
                        backup_root=tmp_path / "backups")
    qtbot.addWidget(window)
    shown = ShownWith(window)
    visible_at_ready: list[bool] = []
    window.ready.connect(lambda: visible_at_ready.append(window.isVisible()))
    with qtbot.waitSignal(window.ready, timeout=60_000):
        window.show_with_first_rows(at_the_latest_ms=60_000)
    assert shown.rows and shown.rows[0] > 0 and visible_at_ready == [True]


def test_a_window_held_for_rows_that_do_not_come_opens_all_the_same(qtbot, tmp_path):
    """No folder: the empty state shows at once.  A scan that has no rows
    yet when the time is up: the window shows, and its rows come later."""
    empty = MainWindow([], [], settings=QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(empty)
    with qtbot.waitSignal(empty.ready, timeout=10_000):
        empty.show_with_first_rows(at_the_latest_ms=60_000)
    assert empty.isVisible() and empty.stack.currentWidget() is empty.empty
    late = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], backup_root=tmp_path / "backups",
                      settings=QSettings(str(tmp_path / "late.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(late)
    shown = ShownWith(late)
    with qtbot.waitSignal(late.ready, timeout=60_000):
        late.show_with_first_rows(at_the_latest_ms=0)
    assert shown.rows == [0] and late.model.rowCount() > 0  # shown before its rows came, then filled


def test_a_window_closed_before_its_first_rows_is_not_shown_after(qtbot, tmp_path):
    """Found by review: closed while held back, the window was shown again
    when its time was up, with its tasks already shut down."""
    window = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], backup_root=tmp_path / "backups",
                        settings=QSettings(str(tmp_path / "closed.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    shown = ShownWith(window)
    window.show_with_first_rows(at_the_latest_ms=0)
    window.close()
    qtbot.wait(300)
    assert shown.rows == [] and not window.isVisible()


def test_the_cycle_collector_runs_again_even_if_the_window_never_gets_ready(tmp_path):
    """Found by review: the collector, paused for the start, came back only
    on ready (or a failed job); a slot that raised on the way left it off for
    as long as the window stayed open.  A timer brings it back regardless."""
    demo.write_demo(tmp_path / "Claude")
    done = qt_probe([
        "import gc, sys",
        "from pathlib import Path",
        "from PySide6.QtCore import QTimer",
        "from PySide6.QtWidgets import QApplication",
        "from app.core import collector, locations",
        "from app.gui import app, main_window",
        "collector.hold_start()",
        "app.START_AT_THE_LATEST_MS = 200",
        "def broken(*args): raise RuntimeError('a slot that raised')",
        "main_window.MainWindow._on_scan_done = broken",
        "real = main_window.MainWindow.show_with_first_rows",
        "def show(self, *args):",
        "    QTimer.singleShot(1500, lambda: (print('gc', gc.isenabled(), flush=True), QApplication.quit()))",
        "    real(self, *args)",
        "main_window.MainWindow.show_with_first_rows = show",
        f"app.run([locations.chosen({str(tmp_path / 'Claude')!r})], backup_root=Path({str(tmp_path / 'b')!r}))",
    ], timeout=60, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"),
        HOME=str(tmp_path))
    assert "a slot that raised" in done.stderr  # the window never got ready ...
    assert "gc True" in done.stdout, done.stdout + done.stderr  # ... and the collector runs all the same


def test_the_window_is_in_fusion_without_python_ever_seeing_its_style(tmp_path):
    """theme.application picks Fusion as Qt makes the application, and the
    light palette is made by theme: set or asked for later, the style would
    come to Python, and PySide would make its class and 600 enum members
    first (some 7 ms of the start).  The palette is still Fusion's own."""
    done = qt_probe([
        "from PySide6 import QtWidgets",
        "from app.gui import theme",
        "qt = theme.application(['probe'])",
        "theme.apply(qt, 'light')",
        "made = 'QStyle' in vars(QtWidgets)",
        "fusion = QtWidgets.QStyleFactory.create('Fusion').standardPalette()",
        "mine = theme.fusion_light_palette()",
        "print(made, qt.style().name(), mine == fusion, mine.resolveMask() == fusion.resolveMask(),",
        "      qt.palette().highlight().color() == theme.ACCENT)",
    ])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "fusion", "True", "True", "True"]


def test_the_first_look_for_claude_desktop_waits_for_the_first_sessions(qtbot, tmp_path):
    """The look (psutil reads every process) would slow the scan and the
    first preview; nothing can be changed before they show."""
    events: list[str] = []
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], settings=settings,
                        backup_root=tmp_path / "backups", claude_check=lambda: events.append("look") or [])
    qtbot.addWidget(window)
    offered_at_ready: list[bool] = []
    window.ready.connect(lambda: events.append("ready"))
    window.ready.connect(lambda: offered_at_ready.append(window.repair_all_button.isEnabled()))
    window.show()
    qtbot.waitUntil(lambda: window.claude_watch.known, timeout=30_000)
    assert events[:2] == ["ready", "look"]
    # Nothing is offered before the look has answered (Claude might run).
    assert offered_at_ready == [False] and window.repair_all_button.isEnabled()


def test_what_is_logged_before_the_log_file_opens_is_written_to_it(tmp_path, monkeypatch):
    """The window opens its log file once it shows its sessions; what was
    logged before (the scan's summary, a failed job) is written first."""
    import logging

    from app.core import logfile

    monkeypatch.setattr(logfile, "log_dir", lambda: tmp_path / "logs")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        logfile.hold()
        logging.getLogger("app.test").warning("said before the file opened")
        folder = logfile.start()
        logging.getLogger("app.test").warning("said after")
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    assert folder == tmp_path / "logs"
    lines = (folder / "session-rescue.log").read_text(encoding="utf-8").splitlines()
    assert [line.split(": ", 1)[1] for line in lines][1:] == ["said before the file opened", "said after"]
    assert " started (" in lines[0]


def test_a_session_chosen_while_the_rows_stream_in_shows_its_verdict_once_the_scan_ends(qtbot, tmp_path):
    """Rows are shown before the scan has judged them (whether each opens
    comes last); a session the user picks meanwhile is shown again, with
    its verdict, when the scan ends."""
    from app.gui.preview import checklist_words

    folder = DataFolder(tmp_path / "Claude")
    for n in range(1200):  # more than a batch: the first comes while the scan goes on
        folder.json(f"local_{n:04}", title=f"Session {n}", lastActivityAt=T0 + n)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow([locations.chosen(str(folder.root))], settings=settings, backup_root=tmp_path / "backups")
    qtbot.addWidget(window)
    picked: list = []

    def pick(_batch) -> None:
        if not picked:
            window.table.selectRow(0)
            picked.append(window.model.session_at(0))
            picked.append(window.preview.header.accessibleDescription())

    window.scan_feed.batch.connect(pick)
    with qtbot.waitSignal(window.scan_finished, timeout=60_000):
        window.show()
    session, said_before = picked
    assert "Why:" not in said_before  # no verdict yet when it was picked
    assert window.preview.session_id == session.id
    assert checklist_words(session) in window.preview.header.accessibleDescription()


def test_an_older_scans_failure_never_shows_over_a_newer_scan(qtbot, tmp_path):
    """Rescanning while a scan runs: the first one's failure arrives after
    the second has finished, and must not be reported as the second's."""
    import threading

    from app.gui.scan_feed import ScanFeed
    from app.gui.tasks import Tasks, UserFacingError

    data_dir = locations.chosen(demo.write_demo(tmp_path / "Claude").path)
    tasks = Tasks()
    feed = ScanFeed(tasks)
    release = threading.Event()

    def fail_when_released(sessions):  # the first scan's last step, on its worker
        release.wait(30)
        raise UserFacingError("the first scan failed")

    failures: list[str] = []
    feed.failed.connect(failures.append)
    feed.start(data_dir, fail_when_released)
    with qtbot.waitSignal(feed.finished, timeout=60_000):
        feed.start(data_dir)
    release.set()
    qtbot.waitUntil(lambda: not tasks.busy, timeout=30_000)
    qtbot.wait(50)  # the error, queued onto this thread, is delivered by now
    assert failures == []
    feed.start(data_dir, lambda sessions: (_ for _ in ()).throw(UserFacingError("this scan failed")))
    qtbot.waitUntil(lambda: failures == ["this scan failed"], timeout=60_000)  # the latest one's still shows
    tasks.shutdown()


def test_the_log_folder_opens_when_asked_for_before_the_sessions_show(qtbot, tmp_path):
    """The log file opens once the sessions show; asked for earlier, it opens
    then and there, and its folder is shown (caught here as the URL Qt opens)."""
    from PySide6.QtCore import QObject, QUrl, Slot
    from PySide6.QtGui import QDesktopServices

    class Catcher(QObject):
        opened: list[str] = []

        @Slot(QUrl)
        def handle(self, url: QUrl) -> None:
            self.opened.append(url.toLocalFile())

    catcher = Catcher()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    try:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow([demo_dir(demo.write_demo(tmp_path / "Claude").path)], settings=settings,
                            backup_root=tmp_path / "backups")
        qtbot.addWidget(window)
        window.log_wanted.connect(lambda: setattr(window, "log_dir", tmp_path / "logs"))  # as app.run's does
        window.open_log_folder()  # not shown yet: its log file is not open
        assert catcher.opened == [str(tmp_path / "logs")] and (tmp_path / "logs").is_dir()
    finally:
        QDesktopServices.unsetUrlHandler("file")
