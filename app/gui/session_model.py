"""The session table: a Qt model over the scan's Session records that
filters them by status and search text and sorts them, newest first."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from functools import partial
from itertools import compress, repeat
from operator import and_, attrgetter
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
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
# The roles _value answers, as plain ints: it compares a role with them for
# every cell a paint draws, and comparing with an enum member costs ten times
# as much (a screenful is some 550 such calls).
_DISPLAY, _DESCRIPTION, _DECORATION, _TOOLTIP, _ALIGNMENT, _FONT = map(int, (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleDescriptionRole, Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.FontRole))
_RIGHT_ALIGNED = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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


# Only rows move or go: the columns (their widths) are left as they are.
_LAYOUT_SIGNATURE = ("QList<QPersistentModelIndex>", "QAbstractItemModel::LayoutChangeHint")
_ROWS_ONLY = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
_KIND_ORDER: defaultdict[str, int] = defaultdict(lambda: len(KINDS), {kind: i for i, kind in enumerate(KINDS)})
_NO_TIME = float("-inf")
TOP = 2_000  # the rows kept in order while a scan streams in: a few screens' worth
_status = attrgetter("status")


class View(NamedTuple):
    """How the table shows the sessions: sorted by ``column`` in ``order``;
    those of ``statuses`` whose title, folder or id holds ``needle`` (casefolded)."""

    column: int
    order: Qt.SortOrder
    statuses: frozenset[str]
    needle: str

    @property
    def descending(self) -> bool:
        return self.order == Qt.SortOrder.DescendingOrder


FIRST_VIEW = View(COL_LAST, Qt.SortOrder.DescendingOrder, SHOWN_AT_FIRST, "")  # newest first


class Arranged(NamedTuple):
    """The whole table worked out for one view: every session in order with
    its sort key, the rows shown with theirs, and how many of each kind."""

    view: View
    sessions: list[Session]
    keys: list[Any]
    rows: list[Session]
    row_keys: list[Any]
    counts: Counter[str]


def haystack(s: Session) -> str:
    """What a search looks in: the title, folder and id, casefolded."""
    return f"{s.title or ''}\0{s.cwd or ''}\0{s.id}".casefold()


def sort_keys(sessions: list[Session], column: int) -> list[Any]:
    """Each session's sort key for ``column``, in one pass (in C, for the
    columns of numbers).  Unknown times and sizes sort below every known one;
    words sort ignoring case."""
    if column in (COL_LAST, COL_SIZE):
        keys = list(map(attrgetter("last_activity_ms" if column == COL_LAST else "size"), sessions))
        if None in keys:
            unknown = _NO_TIME if column == COL_LAST else -1
            keys = [unknown if k is None else k for k in keys]
        return keys
    if column == COL_STATUS:
        return list(map(_KIND_ORDER.__getitem__, map(_status, sessions)))
    text = SessionModel.text
    return [text(s, column).casefold() for s in sessions]


def in_order(sessions: list[Session], keys: list[Any], descending: bool) -> None:
    """Sort ``sessions`` and their ``keys`` alike, in place and in C.  list.sort
    calls its key once per item, in order, so the next of ``keys`` is each
    one's; sorted, the keys are then in the same order.  Those already in
    order are one run, into which the sort merges the rest."""
    sessions.sort(key=partial(next, iter(keys)), reverse=descending)
    keys.sort(reverse=descending)


def shown_mask(view: View, sessions: list[Session], statuses: Iterable[str] | None = None,
               haystacks: dict[int, str] | None = None) -> list[bool]:
    """Which of ``sessions`` ``view`` shows (``statuses``: theirs, if known;
    ``haystacks``: what a search looks in, by id(session), if known).  In C:
    no Python call per session, but for a search without ``haystacks``."""
    keep: Iterator[Any] = map(view.statuses.__contains__, map(_status, sessions) if statuses is None else statuses)
    if view.needle:
        texts = map(haystack, sessions) if haystacks is None else map(haystacks.__getitem__, map(id, sessions))
        keep = map(and_, keep, map(str.__contains__, texts, repeat(view.needle)))
    return list(keep)


def arrange(view: View, sessions: list[Session], haystacks: dict[int, str] | None = None) -> Arranged:
    """``sessions`` arranged for ``view``, from scratch.  A scan's worker does
    this once the scan is done, so that the window only takes the lists: with
    100,000 sessions it is some 100 ms of work, which the UI thread would
    spend frozen (here it is done in pieces, between which the window turns)."""
    sessions = list(sessions)
    keys = sort_keys(sessions, view.column)
    in_order(sessions, keys, view.descending)
    statuses = list(map(_status, sessions))
    mask = shown_mask(view, sessions, statuses, haystacks)
    return Arranged(view, sessions, keys, list(compress(sessions, mask)), list(compress(keys, mask)),
                    Counter(statuses))


class SessionModel(QAbstractTableModel):
    """The session table.  It holds every session the scan found, and its rows
    are those its View shows, in its order (newest first at first).

    It sorts and filters itself, a whole list at a time and in C where it
    can: a QSortFilterProxyModel calls filterAcceptsRow from C++ into Python
    once per row at every change, and data() twice per comparison to sort;
    with 100,000 sessions each new batch, switch or keystroke would freeze the
    window for a third of a second or more."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._view = FIRST_VIEW
        self._all: list[Session] = []  # every session, with its sort key:
        self._keys: list[Any] = []
        self._all_in_order = True  # (not while a scan streams in: only the rows are kept in order then)
        self._rows: list[Session] = []  # the sessions shown, with their sort keys
        self._row_keys: list[Any] = []
        self._fresh = 0  # where the rows begin that came in since they were last put in order
        self._counts: Counter[str] = Counter()
        self._haystacks: dict[int, str] = {}  # id(session): what a search looks in
        self._icons = {status: resources.icon(f"status-{status}") for status in KINDS}
        self._italic = QFont()
        self._italic.setItalic(True)

    # ------------------------------------------------------------ contents

    def view(self) -> View:
        return self._view

    def clear(self) -> None:
        self.beginResetModel()
        self._all, self._keys, self._rows, self._row_keys = [], [], [], []
        self._all_in_order, self._fresh = True, 0
        self._counts, self._haystacks = Counter(), {}
        self.endResetModel()

    def append(self, sessions: Iterable[Session]) -> None:
        """Add ``sessions``; those shown come in at the end (resort() puts
        them in their place)."""
        sessions = list(sessions)
        if not sessions:
            return
        keys = sort_keys(sessions, self._view.column)
        self._all += sessions
        self._keys += keys
        self._all_in_order = False
        self._counts.update(map(_status, sessions))
        self._haystacks.update({id(s): haystack(s) for s in sessions})
        mask = shown_mask(self._view, sessions, haystacks=self._haystacks)
        rows = list(compress(sessions, mask))
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows += rows
            self._row_keys += compress(keys, mask)
            self.endInsertRows()

    def resort(self) -> None:
        """Put the rows that came in at the end in their place, as a scan
        streams in: among the first TOP rows, which are kept in order (those
        a person sees first: the newest), or just below them, in the order they
        came, until the scan is done and settle() orders every row.  Sorting
        them all at every batch would freeze the window for some 40 ms each
        time once there are 100,000."""
        rows, keys, fresh = self._rows, self._row_keys, self._fresh
        if fresh == len(rows):
            return
        if fresh <= TOP:  # every row is in order, and there are few: they are sorted, the new ones merged in
            with self._rows_moving([range(len(rows))]):
                in_order(rows, keys, self._view.descending)
        else:
            with self._rows_moving([range(TOP), range(fresh, len(rows))]):
                some, some_keys = rows[:TOP] + rows[fresh:], keys[:TOP] + keys[fresh:]
                in_order(some, some_keys, self._view.descending)
                rows[:TOP], rows[fresh:] = some[:TOP], some[TOP:]
                keys[:TOP], keys[fresh:] = some_keys[:TOP], some_keys[TOP:]
        self._fresh = len(rows)

    def settle(self, more: Iterable[Session] = (), arranged: Arranged | None = None) -> None:
        """The scan is done: add ``more``, and take in what its last steps
        changed in every session (status, reasons, the active account's
        flag): the counts, the sort keys, the rows shown and their order.
        ``arranged``: all of that, worked out by the scan's worker for the
        view it started with; taken if the view is still that one."""
        more = list(more)
        self._haystacks.update({id(s): haystack(s) for s in more})
        if arranged is None or arranged.view != self._view or len(arranged.sessions) != len(self._all) + len(more):
            arranged = arrange(self._view, self._all + more, self._haystacks)
        with self._rows_moving():
            _, self._all, self._keys, self._rows, self._row_keys, self._counts = arranged
            self._all_in_order, self._fresh = True, len(self._rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column``.  Selected rows stay selected."""
        if column != self._view.column:
            self._keys = sort_keys(self._all, column)
            self._all_in_order = False
        elif order != self._view.order:
            self._all_in_order = False
        self._show(self._view._replace(column=column, order=order))

    def set_status_shown(self, status: str, shown: bool) -> None:
        statuses = self._view.statuses
        self._show(self._view._replace(statuses=statuses | {status} if shown else statuses - {status}))

    def set_search(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._view.needle:
            self._show(self._view._replace(needle=needle))

    def session_at(self, row: int) -> Session:
        """The session shown in ``row``."""
        return self._rows[row]

    def rows_of(self, ids: Collection[str]) -> list[tuple[int, str]]:
        """(row, id) of each session shown whose id is one of ``ids``."""
        return [(row, s.id) for row, s in enumerate(self._rows) if s.id in ids]

    def counts(self) -> dict[str, int]:
        """How many sessions of each kind there are, shown or not."""
        return {status: self._counts[status] for status in KINDS}

    def total(self) -> int:
        return len(self._all)

    def _show(self, view: View) -> None:
        """Show what ``view`` shows, in its order."""
        with self._rows_moving():
            if not self._all_in_order:
                in_order(self._all, self._keys, view.descending)
                self._all_in_order = True
            self._view = view
            mask = shown_mask(view, self._all, haystacks=self._haystacks)
            self._rows, self._row_keys = list(compress(self._all, mask)), list(compress(self._keys, mask))
            self._fresh = len(self._rows)

    @contextlib.contextmanager
    def _rows_moving(self, within: list[range] | None = None) -> Iterator[None]:
        """Around a change of which rows are shown, or of their order: the
        persistent indexes (the selection, the current row) follow their
        sessions, or go if theirs is no longer shown.  ``within``: the rows
        move only among these rows (and so only these are looked through)."""
        self.layoutAboutToBeChanged[_LAYOUT_SIGNATURE].emit([], _ROWS_ONLY)  # type: ignore[index]  # (the stubs)
        persistent = self.persistentIndexList()
        if within is not None:
            persistent = [i for i in persistent if any(i.row() in rows for rows in within)]
        held = [(self._rows[i.row()], i.column()) for i in persistent]
        try:
            yield
        finally:
            if persistent:
                where = {id(self._rows[row]): row for rows in within for row in rows} if within is not None else \
                    dict(zip(map(id, self._rows), range(len(self._rows)), strict=True))
                self.changePersistentIndexList(persistent, [
                    self.index(where[id(s)], column) if id(s) in where else QModelIndex() for s, column in held])
            self.layoutChanged[_LAYOUT_SIGNATURE].emit([], _ROWS_ONLY)  # type: ignore[index]

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
        return self._value(self._rows[index.row()], index.column(), role)

    def multiData(self, index: Index, roles: Any) -> None:  # noqa: N802 - Qt's name
        """What a cell's painting asks for, every role at once (Qt's delegate
        asks for seven; ``roles`` is a QModelRoleDataSpan, a sequence of
        QModelRoleData, though PySide's stubs do not say so).  One call into
        Python per cell, not seven: each call from C++ waits for the
        interpreter lock, and while a scan's worker runs, a wait can be long
        (a screenful took 47 ms to paint then, and now takes 11)."""
        if not index.isValid():
            for role_data in roles:
                role_data.clearData()
            return
        s, col = self._rows[index.row()], index.column()
        for role_data in roles:
            role_data.setData(self._value(s, col, role_data.role()))

    def _value(self, s: Session, col: int, role: int) -> Any:
        if role == _DISPLAY:
            return self.text(s, col)
        if role == _DESCRIPTION and col == COL_STATUS:
            return display.headline(s)  # a screen reader says the status word, then what it means
        if role == SESSION_ROLE:
            return s
        if role == _DECORATION and col == COL_STATUS:
            return self._icons[s.status]
        if role == _TOOLTIP:
            return self._tooltip(s, col)
        if role == _ALIGNMENT and col == COL_SIZE:
            return _RIGHT_ALIGNED
        if role == _FONT and col == COL_TITLE and not s.title:
            return self._italic
        return None

    @staticmethod
    def text(s: Session, col: int) -> str:
        """What the cell of ``s`` in column ``col`` says."""
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
