"""The session table's model, which sorts and filters its rows itself: as a
scan streams in, when it settles, and as the user sorts, switches and
searches; the selection follows the sessions all along."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelRoleData, QModelRoleDataSpan, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QTableView

from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED, TRANSCRIPT_ONLY, Session
from app.gui import session_model as M
from app.gui.session_model import COL_LAST, COL_STATUS, COL_TITLE, SessionModel, arrange

DESCENDING, ASCENDING = Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder


def session(i: int, status: str = HEALTHY, title: str | None = "", known_time: bool = True) -> Session:
    """Session ``i``, the later the newer (``title`` "": "Session i")."""
    return Session(f"local_{i:06d}", status, (), "acct", "org", True, "/data", None, None, False,
                   title=f"Session {i}" if title == "" else title, cwd=f"C:\\repo{i % 7}",
                   last_activity_ms=1_700_000_000_000 + i * 1000 if known_time else None)


def shown(model: SessionModel) -> list[Session]:
    return [model.session_at(row) for row in range(model.rowCount())]


def newest_first(sessions: list[Session]) -> list[str]:
    return [s.id for s in sorted(sessions, key=lambda s: s.last_activity_ms or float("-inf"), reverse=True)]


@pytest.fixture
def table(qapp):
    model = SessionModel()
    view = QTableView()
    view.setModel(model)
    yield model, view
    view.deleteLater()


def test_rows_streaming_in_keep_the_newest_on_top_and_settle_in_order(table, monkeypatch):
    model, _ = table
    monkeypatch.setattr(M, "TOP", 50)  # a small top, so that most rows stream in below it
    sessions = [session(i, status=[HEALTHY, ORPHANED, CORRUPT][i % 3]) for i in range(1_000)]
    random.Random(5).shuffle(sessions)
    seen: list[Session] = []
    for start in range(0, len(sessions), 37):
        model.append(sessions[start:start + 37])
        seen += sessions[start:start + 37]
        model.resort()
        # The first rows are the newest of those read so far, in order; every one is listed once.
        assert [s.id for s in shown(model)[:50]] == newest_first(seen)[:50]
        assert sorted(s.id for s in shown(model)) == sorted(s.id for s in seen)
    lost = [session(2_000 + i, status=TRANSCRIPT_ONLY) for i in range(20)]
    model.settle(lost, arrange(model.view(), sessions + lost))
    assert [s.id for s in shown(model)] == newest_first(sessions + lost)
    assert model.counts() == {HEALTHY: 334, ORPHANED: 333, CORRUPT: 333, TRANSCRIPT_ONLY: 20, DELETED: 0}


def test_a_settled_scan_takes_in_what_its_last_steps_changed(table):
    """The scan's last steps may change a status after its batch was shown
    (the statuses decide what is shown and counted, and may be sorted by)."""
    model, _ = table
    sessions = [session(i) for i in range(10)]
    model.append(sessions)
    model.sort(COL_STATUS, ASCENDING)
    sessions[3].status = DELETED  # hidden until asked for
    sessions[8].status = CORRUPT
    model.settle([], arrange(model.view(), sessions))
    assert sessions[3] not in shown(model) and model.counts()[DELETED] == 1
    assert [s.status for s in shown(model)] == [HEALTHY] * 8 + [CORRUPT]


def test_a_view_changed_while_the_worker_arranged_is_worked_out_again(table):
    model, _ = table
    sessions = [session(i, status=ORPHANED if i % 2 else HEALTHY) for i in range(40)]
    model.append(sessions)
    arranged = arrange(model.view(), sessions)  # the worker's, for the view when the scan began...
    model.set_status_shown(HEALTHY, False)  # ...but the user switched the healthy ones off meanwhile
    model.sort(COL_TITLE, ASCENDING)
    model.settle([], arranged)
    assert [s.title for s in shown(model)] == sorted(s.title for s in sessions if s.status == ORPHANED)


def test_the_selection_follows_its_sessions_through_sorts_switches_and_searches(table, monkeypatch):
    model, view = table
    monkeypatch.setattr(M, "TOP", 5)
    sessions = [session(i, status=ORPHANED if i % 3 == 0 else HEALTHY) for i in range(60)]
    model.append(sessions[:30])
    model.resort()
    chosen = {sessions[13].id, sessions[27].id}
    selection = view.selectionModel()
    for row in range(model.rowCount()):
        if model.session_at(row).id in chosen:
            selection.select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                             | QItemSelectionModel.SelectionFlag.Rows)
    current = model.index(next(r for r in range(model.rowCount()) if model.session_at(r).id == sessions[27].id), 0)
    selection.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)

    def selected() -> set[str]:
        return {model.session_at(i.row()).id for i in selection.selectedRows()}

    model.append(sessions[30:])  # newer ones, on top once put in order
    model.resort()
    assert selected() == chosen and model.session_at(selection.currentIndex().row()).id == sessions[27].id
    model.sort(COL_TITLE, ASCENDING)
    assert selected() == chosen
    model.set_status_shown(ORPHANED, False)  # 27 is orphaned: it goes, and its selection with it
    assert selected() == {sessions[13].id}
    model.set_status_shown(ORPHANED, True)
    model.set_search("session 1")
    assert {s.id for s in shown(model)} == {s.id for s in sessions if s.title.startswith("Session 1")}
    assert selected() == {sessions[13].id}
    model.settle([], arrange(model.view(), sessions))
    assert selected() == {sessions[13].id}


def test_searching_ignores_case_and_looks_in_title_folder_and_id(table):
    model, _ = table
    model.append([session(1, title="Fix the Login page"), session(2, title=None), session(3, title="Other")])
    model.set_search("  LOGIN ")
    assert [s.id for s in shown(model)] == ["local_000001"]
    model.set_search("repo3")  # the folder
    assert [s.id for s in shown(model)] == ["local_000003"]
    model.set_search("local_000002")  # the id
    assert [s.id for s in shown(model)] == ["local_000002"]
    model.set_search("")
    assert model.rowCount() == 3


def test_unknown_times_sort_below_every_known_one_either_way(table):
    model, _ = table
    model.append([session(1), session(2, known_time=False), session(3)])
    model.resort()
    assert [s.id for s in shown(model)] == ["local_000003", "local_000001", "local_000002"]
    model.sort(COL_LAST, ASCENDING)
    assert [s.id for s in shown(model)] == ["local_000002", "local_000001", "local_000003"]


def test_a_cell_answers_every_role_at_once_as_it_does_one_at_a_time(table):
    """Qt's delegate asks for a cell's roles all at once (multiData), the
    tests and screen readers one at a time (data): the answers, and the
    painted table, are the same."""
    model, view = table

    class OneAtATime(SessionModel):
        def multiData(self, index, roles) -> None:  # noqa: N802 - Qt's name
            QAbstractTableModel.multiData(self, index, roles)  # Qt's own: data() for each role

    sessions = [session(1, title=None), session(2, status=CORRUPT), session(3, status=TRANSCRIPT_ONLY)]
    model.append(sessions)
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            for role in (*Qt.ItemDataRole, M.SESSION_ROLE):
                asked = QModelRoleData(role)
                model.multiData(index, QModelRoleDataSpan(asked))
                one = model.data(index, role)
                assert asked.data() == one or (isinstance(one, QIcon) and asked.data().cacheKey() == one.cacheKey())
    other = OneAtATime()
    other.append(sessions)
    images = []
    for shown_model in (model, other):
        view.setModel(shown_model)
        view.resize(900, 200)
        images.append(view.grab().toImage())
    assert images[0] == images[1]
