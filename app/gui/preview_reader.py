"""What fills the preview pane, read by workers: a record's files when it is
selected, a transcript a page at a time as its Conversation tab asks, and a
whole file when the user asks to see all of it.  An answer about a session
the user has since left is dropped (PreviewPane checks the session id)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.core.backfill import Link
from app.core.records import Session
from app.gui import jobs
from app.gui.preview import PreviewPane
from app.gui.tasks import Tasks


class PreviewReader(QObject):
    shown = Signal(str)  # session id: its files are shown (a transcript's header, which is all it has)
    status = Signal(str)  # a line for the status bar
    failed = Signal(str)

    def __init__(self, pane: PreviewPane, tasks: Tasks, parent: QObject | None = None):
        super().__init__(parent)
        self.pane = pane
        self._tasks = tasks
        self._session: Session | None = None
        self._offered: tuple | None = None  # what read_session read already (offer)
        pane.show_all.connect(self._read_whole_file)
        pane.page_wanted.connect(self._read_page)

    def offer(self, payload: tuple | None) -> None:
        """What jobs.read_session read of a session just now (a scan reads its
        first row's): shown at once if that session is the next one shown,
        until it is withdrawn (None)."""
        self._offered = payload

    def show(self, session: Session, link: Link | None, again: bool = False) -> None:
        """Show ``session``: its header at once, its files once read.
        ``link``: the backfill proposal it is part of, if any.  The one shown
        already is shown again only when asked (``again``: its verdict came
        after it was shown)."""
        if session.id == self.pane.session_id and not again:
            return
        offered, self._offered = self._offered, None
        self._session = session
        self.pane.show_session(session, link)
        if not session.is_record:  # no files to read: its conversation loads when its tab shows
            self.shown.emit(session.id)
            return
        if offered is not None and offered[0] == session.id:
            self._on_read(offered)
            return
        self._tasks.start(jobs.read_session, session, on_result=self._on_read, on_error=self._on_failed)

    @Slot(object)
    def _on_read(self, payload) -> None:
        session_id, views, diff = payload
        if session_id != self.pane.session_id:
            return
        self.pane.show_views(session_id, views, diff)
        self.shown.emit(session_id)

    @Slot(str, int)
    def _read_page(self, path: str, offset: int) -> None:
        self._tasks.start(jobs.read_page, path, offset, on_result=self._on_page, on_error=self._on_failed)

    @Slot(object)
    def _on_page(self, payload) -> None:
        path, _offset, page = payload
        self.pane.show_page(path, page)

    @Slot(str)
    def _read_whole_file(self, kind: str) -> None:
        if self._session is None or self._session.id != self.pane.session_id:
            return
        self.status.emit("Reading the whole file…")
        self._tasks.start(jobs.read_whole_file, self._session, kind, on_result=self._on_whole_file,
                          on_error=self._on_failed)

    @Slot(object)
    def _on_whole_file(self, payload) -> None:
        session_id, view = payload
        self.pane.show_full(session_id, view)
        self.status.emit(f"Showing all {view.full_length:,} characters of {Path(view.path).name}.")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)
