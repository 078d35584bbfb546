"""The preview of one session: who it is, and what is in each of its files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import display, reasons
from app.core.backfill import Link
from app.core.contents import FileView
from app.core.records import Session
from app.core.transcripts import conversation_of
from app.gui.rich_text import escape
from app.gui.session_model import friendly_time, human_size

# The JSON's colours are made when its tab can first be seen (FileTab.in_sight):
# with the files and details hidden, as at first, the window starts without
# them.  The Conversation tab's view, and the reader of its pages, wait for
# the first session that has a conversation.
if TYPE_CHECKING:
    from app.core.conversation import Page
    from app.gui.conversation_view import ConversationView
    from app.gui.json_highlighter import JsonHighlighter

HIGHLIGHT_LIMIT = 1_000_000  # characters: past this, colouring costs more than it helps
TAB_NAMES = {"json": "Record (.json)", "tmp": "Unsaved copy (.json.tmp)"}
# Claude Desktop's way from the record to the conversation (app.core.opens), step by step.
STEP_NAMES = {"deleted": "Deleted", "loads": "The record loads", "listed": "In the account Claude Desktop shows",
              "conversation": "Its conversation", "host": "Its SSH host", "trusted": "Its folder is trusted",
              "verdict": "So"}
MARKS = {True: ("✓", "#2f9e44"), False: ("✗", "#c8372d"), None: ("?", "#868e96")}


def _mono_editor() -> QPlainTextEdit:
    """A read-only editor for a file's text, in the proportional font until
    _in_mono_font gives it the fixed-pitch one."""
    editor = QPlainTextEdit()
    editor.setReadOnly(True)
    editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                   | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    return editor


def _in_mono_font(*editors: QPlainTextEdit) -> None:
    """The system's fixed-pitch font for ``editors``, given once they can be
    seen: finding it (and Qt making the font database's class and its enums)
    is over a millisecond of the window's start, for a file tab hidden at first."""
    from PySide6.QtGui import QFontDatabase

    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    for editor in editors:
        editor.setFont(font)


class FileTab(QWidget):
    """One file: its problem (if any), its text, and the bytes around a fault."""

    show_all = Signal(str)

    def __init__(self, view: FileView):
        super().__init__()
        self.kind = view.kind
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setObjectName("problem")
        layout.addWidget(self.problem)
        self.editor = _mono_editor()
        layout.addWidget(self.editor, 1)
        self.around_label = QLabel("The bytes around that point (▶ marks its row):")
        self.around = _mono_editor()
        self.around.setMaximumHeight(110)
        layout.addWidget(self.around_label)
        layout.addWidget(self.around)
        self.more = QPushButton()
        self.more.clicked.connect(lambda: self.show_all.emit(self.kind))
        row = QHBoxLayout()
        row.addWidget(self.more)
        row.addStretch(1)
        layout.addLayout(row)
        self._highlighter: JsonHighlighter | None = None
        self._colourable = False  # JSON short enough to colour
        self._seen = False  # its tab can be seen (in_sight)
        self.set_view(view)

    def set_view(self, view: FileView) -> None:
        fatal = [c for c in view.problems if c not in reasons.INFORMATIONAL]
        if view.problems:
            where = (f" Line {view.error_line}, column {view.error_column}."
                     if view.error_line is not None and fatal else "")
            verdict = "Claude Desktop will not load this file" if fatal else "This file loads"
            lines = "".join(f"<li><b>{escape(c)}</b>: {escape(reasons.describe(c))}</li>"
                            for c in view.problems)
            detail = f"<br>{escape(view.detail)}" if view.detail else ""
            self.problem.setText(f"<b>{verdict}.</b>{where}<ul style='margin:2px'>{lines}</ul>{detail}")
            self.problem.show()
        else:
            self.problem.setText("Loads in Claude Desktop.")
            self.problem.show()
        if self._highlighter is not None:
            self._highlighter.setDocument(None)
            self._highlighter = None
        self.editor.setPlainText(view.text)
        self._colourable = view.pretty and len(view.text) <= HIGHLIGHT_LIMIT
        self._colour()
        self.around_label.setVisible(view.around is not None)
        self.around.setVisible(view.around is not None)
        self.around.setPlainText(view.around or "")
        self.more.setVisible(not view.complete)
        self.more.setText(f"Show all ({view.full_length:,} characters; the first {len(view.text):,} are shown)")

    def in_sight(self) -> None:
        """Its tab can now be seen (the files and details are shown): its text
        is in the fixed-pitch font, and its JSON coloured, from now on.
        Before, no one would see either: the font's look-up, the
        highlighter's pass over the text, and its module, can wait till then."""
        if not self._seen:
            _in_mono_font(self.editor, self.around)
        self._seen = True
        self._colour()

    def _colour(self) -> None:
        if self._seen and self._colourable and self._highlighter is None:
            from app.gui.json_highlighter import JsonHighlighter

            self._highlighter = JsonHighlighter(self.editor.document(), self.palette())


class DiffView(QWidget):
    """The .json and the .json.tmp side by side, differing lines marked."""

    def __init__(self, rows: list[tuple[str | None, str | None, str]]):
        from PySide6.QtGui import QTextCursor, QTextFormat  # here: Qt makes their many enums when first asked
        from PySide6.QtWidgets import QTextEdit  # (for ExtraSelection: a window may never show a difference)

        from app.gui.json_highlighter import is_dark

        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        changed = sum(1 for *_, tag in rows if tag != "equal")
        differ = f"{display.counted(changed, 'line')} differ{'s' * (changed == 1)}"
        layout.addWidget(QLabel(f"{differ}. Left: .json, right: .json.tmp."))
        split = QSplitter(Qt.Orientation.Horizontal)
        self.left, self.right = _mono_editor(), _mono_editor()
        _in_mono_font(self.left, self.right)
        split.addWidget(self.left)
        split.addWidget(self.right)
        layout.addWidget(split, 1)
        self.left.setPlainText("\n".join("" if a is None else a for a, _, _ in rows))
        self.right.setPlainText("\n".join("" if b is None else b for _, b, _ in rows))
        dark = is_dark(self.palette())
        colours = {"replace": "#5c4a12" if dark else "#fff3bf", "delete": "#5c1f1f" if dark else "#ffe3e3",
                   "insert": "#1f4d2b" if dark else "#d3f9d8"}
        for editor, side in ((self.left, 0), (self.right, 1)):
            marks = []
            for line, row in enumerate(rows):
                if row[2] == "equal" or row[side] is None:
                    continue
                mark = QTextEdit.ExtraSelection()
                mark.format.setBackground(QColor(colours[row[2]]))
                mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                cursor = QTextCursor(editor.document().findBlockByNumber(line))
                mark.cursor = cursor
                marks.append(mark)
            editor.setExtraSelections(marks)
        # Scroll together.
        self.left.verticalScrollBar().valueChanged.connect(self.right.verticalScrollBar().setValue)
        self.right.verticalScrollBar().valueChanged.connect(self.left.verticalScrollBar().setValue)


def _record_rows(s: Session, technical: bool) -> list[tuple[str, str]]:
    """What a person wants to know first; with ``technical``, the files and codes behind it."""
    rows = [("Project folder", s.cwd or "unknown"), ("Last activity", friendly_time(s.last_activity_ms)),
            ("Started", friendly_time(s.created_at_ms)), ("Account", display.account_words(s)),
            ("Model", s.model or "unknown"),
            ("Turns", "unknown" if s.completed_turns is None else str(s.completed_turns))]
    if technical:
        rows += [("Session id", s.id), ("Account id", f"{s.account} / {s.org}"),
                 ("Conversation file", _transcript_place(s)),
                 ("Status", f"{s.status} ({', '.join(s.reasons) or 'no problems'})"), ("Size", human_size(s.size))]
    return rows


def why(s: Session) -> str:
    """The first step of the walk that fails, as one sentence (or the
    verdict, when none does): what the preview says first."""
    failing = next((step for step in s.checklist if step.ok is False and step.name != "verdict"), None)
    return (failing or s.checklist[-1]).text if s.checklist else ""


def checklist_html(s: Session) -> str:
    """The walk as a short checklist, each step marked ✓, ✗ or ? (not known here)."""
    if not s.checklist:
        return ""
    rows = []
    for step in s.checklist:
        mark, colour = MARKS[step.ok]
        rows.append(f"<tr><td style='color:{colour}; padding-right:6px'><b>{mark}</b></td>"
                    f"<td style='padding-right:8px'><b>{escape(STEP_NAMES.get(step.name, step.name))}</b></td>"
                    f"<td>{escape(step.text)}</td></tr>")
    return (f"<p style='margin:4px 0'><b>Why:</b> {escape(why(s))}</p>"
            f"<table style='margin-bottom:6px'>{''.join(rows)}</table>")


def checklist_words(s: Session) -> str:
    """The checklist as a screen reader says it: one plain sentence a step."""
    said = {True: "yes", False: "no", None: "not known"}
    steps = [f"{STEP_NAMES.get(step.name, step.name)}: {said[step.ok]}. {step.text}" for step in s.checklist]
    return " ".join([f"Why: {why(s)}", *steps]) if steps else ""


def _transcript_place(s: Session) -> str:
    if s.conversation and s.conversation != s.transcript_path:
        return f"{s.conversation} (not where Claude Desktop looks)" if not s.opens else s.conversation
    if s.transcript_path:
        return "found: " + s.transcript_path
    return "not found" + (f" ({s.cli_session_id}.jsonl)" if s.cli_session_id else " (the record does not name one)")


def _transcript_rows(s: Session, technical: bool) -> list[tuple[str, str]]:
    info = s.transcript
    assert info is not None
    turns = str(info.turns) if info.turns_exact else f"at least {info.turns} (only its start and end were read)"
    rows = [("What it is", "A conversation that no session record points to, so Claude Desktop's list does not "
                           "show it. Rebuild… makes a record for it." if reasons.STUB not in s.reasons else
             "A file with no conversation in it: there is nothing to bring back."),
            ("Project folder", info.cwd or "unknown"),
            ("First message", friendly_time(info.first_ms)), ("Last message", friendly_time(info.last_ms)),
            ("Model", info.model or "unknown"), ("Turns", turns)]
    if technical:
        rows += [("Transcript id", s.id), ("Title from", info.title_source or "nothing (no title found)"),
                 ("File", info.path), ("Size", human_size(info.size))]
    return rows


def _rows_html(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><td style='padding-right:10px'><b>{escape(k)}</b></td>"
                   f"<td>{escape(v)}</td></tr>" for k, v in rows)


class PreviewPane(QWidget):
    """The selected session in plain words (why it does or does not open,
    and its conversation); its files and codes one click away, under *Show
    files and details*, which the window remembers."""

    show_all = Signal(str)  # "json" or "tmp"
    page_wanted = Signal(str, int)  # a Conversation tab wants (transcript path, byte offset)
    install_mirror = Signal(str)  # session id: the user has a copy of this SSH session's conversation
    export_wanted = Signal()  # the shown session's conversation, saved as a document
    resume_wanted = Signal()  # the command that goes on with it in a terminal
    technical_changed = Signal(bool)

    def __init__(self, technical: bool = False):
        super().__init__()
        self.technical = technical
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.header.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.header.setContentsMargins(0, 0, 6, 0)
        self.header.setAccessibleName("About the selected session")
        # The header (the checklist and the details) scrolls on a small screen,
        # and the user can give it, or the tabs below, more of the room.
        header_area = QScrollArea()
        header_area.setWidget(self.header)
        header_area.setWidgetResizable(True)
        header_area.setFrameShape(QFrame.Shape.NoFrame)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(header_area, 1)
        top_layout.addLayout(self._build_buttons())
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("The session's conversation and files")
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(top)
        self.split.addWidget(self.tabs)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.split.setChildrenCollapsible(False)
        layout.addWidget(self.split, 1)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.session: Session | None = None
        self.session_id: str | None = None
        self.transcript_path: str | None = None
        self.conversation: ConversationView | None = None
        self._link: Link | None = None
        self.clear()

    def _build_buttons(self) -> QHBoxLayout:
        self.mirror_button = QPushButton("Install copied file…")
        self.mirror_button.setToolTip("Give Session Rescue the copy of this SSH session's conversation you fetched "
                                      "from its host: it is checked, shown in a plan and installed where Claude "
                                      "Desktop reads it (backed up, and it can be undone)")
        self.mirror_button.setAccessibleDescription(self.mirror_button.toolTip())
        self.mirror_button.clicked.connect(self._mirror_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save this conversation as a document (Markdown, or a web page), whatever "
                                      "its status")
        self.export_button.setAccessibleDescription(self.export_button.toolTip())
        self.export_button.clicked.connect(self.export_wanted)
        self.resume_button = QPushButton("Copy resume command")
        self.resume_button.setToolTip("Copy the command that goes on with this conversation in Claude Code, in a "
                                      "terminal: a way around a session Claude Desktop will not open")
        self.resume_button.setAccessibleDescription(self.resume_button.toolTip())
        self.resume_button.clicked.connect(self.resume_wanted)
        self.details_button = QToolButton()
        self.details_button.setText("Show files and details")
        self.details_button.setCheckable(True)
        self.details_button.setChecked(self.technical)
        self.details_button.setToolTip("Show the session's files (its record as JSON), its id, its codes and where "
                                       "its conversation is kept")
        self.details_button.setAccessibleDescription(self.details_button.toolTip())
        self.details_button.toggled.connect(self.set_technical)
        row = QHBoxLayout()
        row.addWidget(self.mirror_button)
        row.addWidget(self.export_button)
        row.addWidget(self.resume_button)
        row.addStretch(1)
        row.addWidget(self.details_button)
        return row

    def clear(self, message: str = "Select a session to see what is in it.") -> None:
        self.session = None
        self.session_id = None
        self.transcript_path = None
        self.mirror_button.hide()
        self.export_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.header.setText(f"<i>{escape(message)}</i>")
        self.header.setAccessibleDescription(message)
        self._clear_tabs()

    def _clear_tabs(self) -> None:
        self.conversation = None
        while self.tabs.count():
            widget = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if widget is not None:
                widget.deleteLater()

    @Slot(bool)
    def set_technical(self, on: bool) -> None:
        """Show or hide the files and the details (codes, ids, paths)."""
        if on == self.technical:
            return
        self.technical = on
        self.details_button.setChecked(on)
        if self.session is not None:
            self._show_header(self.session)
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if tab is not self.conversation:
                self.tabs.setTabVisible(i, on)
                if on and isinstance(tab, FileTab):
                    tab.in_sight()
        self.technical_changed.emit(on)

    def show_session(self, s: Session, link: Link | None = None) -> None:
        """The header at once; the files follow when read (show_views).
        ``link``: the backfill proposal this session is part of, if any."""
        self.session, self.session_id, self._link = s, s.id, link
        # The conversation as it is on disk: where Claude Desktop looks, or
        # where it is instead (an old sandbox folder, the real one a stub hides).
        self.transcript_path = s.conversation or s.transcript_path
        self.mirror_button.setVisible(reasons.SSH_MIRROR_MISSING in s.reasons)
        readable = conversation_of(s) is not None
        self.export_button.setEnabled(readable)
        self.resume_button.setEnabled(readable)
        self._show_header(s)
        self._clear_tabs()
        self._add_conversation()
        if s.is_record:
            self._add_file_tab(QLabel("Reading the files…"), "…")

    def _show_header(self, s: Session) -> None:
        rows = _transcript_rows(s, self.technical) if s.transcript is not None else _record_rows(s, self.technical)
        link = self._link
        if link is not None:
            if s.is_record:
                rows.append(("Its conversation", f"probably {link.transcript.path} (Rebuild… links it back)"))
            else:
                rows.append(("Its session", f"probably “{link.session.title or '(no title)'}”, which lost its "
                                            "link (Rebuild… links it back instead of making a second record)"))
            rows.append(("Evidence", "; ".join(link.evidence)))
        title = escape(s.title or "(no title)")
        self.header.setText(f"<p style='font-size:large'><b>{title}</b></p>{checklist_html(s)}"
                            f"<table>{_rows_html(rows)}</table>")
        self.header.setAccessibleDescription(" ".join([s.title or "(no title)", checklist_words(s),
                                                       *(f"{k}: {v}." for k, v in rows)]))

    def _add_file_tab(self, widget: QWidget, name: str) -> None:
        index = self.tabs.addTab(widget, name)
        self.tabs.setTabVisible(index, self.technical)
        if self.technical and isinstance(widget, FileTab):
            widget.in_sight()

    def _add_conversation(self) -> None:
        if not self.transcript_path:
            s = self.session
            # A session with no turns yet has no conversation to lose: Claude Desktop says the same.
            fresh = s is not None and s.is_record and s.opens is not False and not s.completed_turns
            self.tabs.addTab(QLabel("  No messages yet." if fresh else "  Its conversation is not on this computer."),
                             "Conversation")
            return
        from app.gui.conversation_view import ConversationView

        self.conversation = ConversationView(self.transcript_path)
        self.conversation.page_wanted.connect(self.page_wanted)
        self.tabs.insertTab(0, self.conversation, "Conversation")
        self.tabs.setCurrentIndex(0)
        self.conversation.start()

    @Slot()
    def _mirror_clicked(self) -> None:
        if self.session_id is not None:
            self.install_mirror.emit(self.session_id)

    @Slot(int)
    def _tab_shown(self, index: int) -> None:
        # Lazily: a transcript is read only once its tab is looked at.
        if self.conversation is not None and self.tabs.widget(index) is self.conversation:
            self.conversation.start()

    def show_page(self, path: str, page: Page) -> None:
        if self.conversation is not None and self.conversation.path == path:
            self.conversation.add_page(page)

    def show_views(self, session_id: str, views: dict[str, FileView],
                   diff: list[tuple[str | None, str | None, str]] | None) -> None:
        if session_id != self.session_id:
            return  # the user has moved on
        for i in reversed(range(self.tabs.count())):  # the files' placeholder goes; the conversation stays
            widget = self.tabs.widget(i)
            if widget is not None and widget is not self.conversation and self.tabs.tabText(i) == "…":
                self.tabs.removeTab(i)
                widget.deleteLater()
        for kind in ("json", "tmp"):
            view = views.get(kind)
            if view is None:
                continue
            tab = FileTab(view)
            tab.show_all.connect(self.show_all)
            self._add_file_tab(tab, TAB_NAMES[kind])
        if diff is not None:
            self._add_file_tab(DiffView(diff), "Difference")
        if not views:
            self._add_file_tab(QLabel("This session has no files left."), "–")

    def show_full(self, session_id: str, view: FileView) -> None:
        if session_id != self.session_id:
            return
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if isinstance(tab, FileTab) and tab.kind == view.kind:
                tab.set_view(view)

    def file_tab(self, kind: str) -> FileTab | None:
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if isinstance(tab, FileTab) and tab.kind == kind:
                return tab
        return None
