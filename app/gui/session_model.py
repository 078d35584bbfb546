"""The session table: a thin Qt model over the scan's Session records, and a
proxy that filters by status and search text and sorts newest first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont

from app.core import display, reasons
from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED, TRANSCRIPT_ONLY, Session
from app.gui import resources

# What a person reads first comes first: what it is, and what happened to it.
COL_STATUS, COL_TITLE, COL_REASONS, COL_LAST, COL_CWD, COL_ACCOUNT, COL_SIZE = range(7)
HEADERS = ("Status", "Title", "What happened", "Last activity", "Project folder", "Account", "Size")
SESSION_ROLE = Qt.ItemDataRole.UserRole + 1
# The record statuses and the transcripts without a record; deleted last, and
# hidden until asked for: a session the user deleted is no loss to show.
KINDS = (HEALTHY, ORPHANED, CORRUPT, TRANSCRIPT_ONLY, DELETED)
SHOWN_AT_FIRST = frozenset(KINDS) - {DELETED}
KIND_WORDS = {TRANSCRIPT_ONLY: "Transcript only"}


def kind_word(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.capitalize())

Index = QModelIndex | QPersistentModelIndex


def friendly_time(ms: float | None, now: datetime | None = None) -> str:
    """Local time, the way a person says it: "Today 14:05", "Yesterday 09:12",
    "Mon 3 Nov 18:40", "12 Mar 2025"."""
    if ms is None:
        return "unknown"
    try:
        moment = datetime.fromtimestamp(ms / 1000)
    except (OverflowError, OSError, ValueError):
        return "unknown"
    now = now or datetime.now()
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"Today {moment:%H:%M}"
    if days == 1:
        return f"Yesterday {moment:%H:%M}"
    if 0 < days < 7 or (moment.year == now.year and days >= 0):
        return f"{moment:%a} {moment.day} {moment:%b %H:%M}"
    return f"{moment.day} {moment:%b %Y}"


def human_size(n: int | None) -> str:
    return display.human_size(n, unknown="–")


class SessionModel(QAbstractTableModel):
    """Rows are Session records, in the order they arrived from the scan."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[Session] = []
        self._sort: tuple[int, Qt.SortOrder] = (COL_LAST, Qt.SortOrder.DescendingOrder)
        self._icons = {status: resources.icon(f"status-{status}") for status in KINDS}
        self._italic = QFont()
        self._italic.setItalic(True)

    # ------------------------------------------------------------ contents

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def append(self, sessions: Iterable[Session]) -> None:
        sessions = list(sessions)
        if not sessions:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(sessions) - 1)
        self._rows.extend(sessions)
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows themselves, in one list.sort: letting the proxy sort
        10,000 rows would cost some 140,000 calls of data() from C++ into
        Python, a visible stall at every batch.  Selected rows stay selected."""
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [(self._rows[i.row()], i.column()) for i in persistent]
        descending = order == Qt.SortOrder.DescendingOrder
        self._rows.sort(key=lambda s: self._sort_key(s, column), reverse=descending)
        position = {id(s): row for row, s in enumerate(self._rows)}
        self.changePersistentIndexList(persistent, [self.index(position[id(s)], c) for s, c in held])
        self.layoutChanged.emit()

    def resort(self) -> None:
        """Sort again as last asked (after new rows came in, or flags changed)."""
        self.sort(*self._sort)

    def session(self, row: int) -> Session:
        return self._rows[row]

    def counts(self) -> dict[str, int]:
        out = {status: 0 for status in KINDS}
        for s in self._rows:
            out[s.status] += 1
        return out

    # ------------------------------------------------------------- Qt API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(s, col)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and col == COL_STATUS:
            return display.headline(s)  # a screen reader says the status word, then what it means
        if role == SESSION_ROLE:
            return s
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATUS:
            return self._icons[s.status]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(s, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == COL_TITLE and not s.title:
            return self._italic
        return None

    @staticmethod
    def _text(s: Session, col: int) -> str:
        if col == COL_STATUS:
            return kind_word(s.status)
        if col == COL_TITLE:
            return s.title or "(no title)"
        if col == COL_LAST:
            return friendly_time(s.last_activity_ms)
        if col == COL_CWD:
            return s.cwd or ""
        if col == COL_ACCOUNT:
            return display.account_words(s)
        if col == COL_SIZE:
            return human_size(s.size)
        return display.headline(s)

    @staticmethod
    def _sort_key(s: Session, col: int) -> Any:
        # Unknown times and sizes sort below every known one.
        if col == COL_LAST:
            return s.last_activity_ms if s.last_activity_ms is not None else float("-inf")
        if col == COL_SIZE:
            return s.size if s.size is not None else -1
        if col == COL_STATUS:
            return KINDS.index(s.status)
        return SessionModel._text(s, col).casefold()

    @staticmethod
    def _tooltip(s: Session, col: int) -> str | None:
        """The whole of what a cell may show cut short, and what lies behind it."""
        if col in (COL_REASONS, COL_STATUS):
            verdict = s.checklist[-1].text if s.checklist else display.headline(s)
            codes = "\n".join(f"{code}: {reasons.describe(code)}" for code in s.reasons)
            return verdict + (f"\n\nIn detail:\n{codes}" if codes else "")
        if col == COL_ACCOUNT:
            if not s.is_record:
                return "A conversation that no session record points to."
            return f"Account {s.account}, organisation {s.org}" + (
                " (the account Claude Desktop is signed in to)." if s.active else
                " (not the account Claude Desktop is signed in to: Move to active account… copies it there).")
        if col == COL_TITLE:
            return f"{s.title or '(no title)'}\n{s.id}"
        if col == COL_CWD:
            return s.cwd or None
        if col == COL_LAST:
            return display.local_time(s.last_activity_ms, unknown="unknown")
        return None


class SessionFilter(QSortFilterProxyModel):
    """Shows the sessions whose status is switched on and that match the
    search text (title, cwd or id, ignoring case).  It filters; the source
    model sorts (see SessionModel.sort), so the proxy keeps the source order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._statuses = set(SHOWN_AT_FIRST)
        self._needle = ""
        self.setDynamicSortFilter(True)

    def set_status_shown(self, status: str, shown: bool) -> None:
        self.beginFilterChange()
        (self._statuses.add if shown else self._statuses.discard)(status)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._needle = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        s = self.sourceModel().session(source_row)  # type: ignore[attr-defined]
        if s.status not in self._statuses:
            return False
        if not self._needle:
            return True
        return any(self._needle in (text or "").casefold() for text in (s.title, s.cwd, s.id))

    def session_at(self, proxy_row: int) -> Session:
        return self.index(proxy_row, 0).data(SESSION_ROLE)
