"""The Conversation tab: a session's transcript, read as a conversation.

Pages come from app.core.conversation, read by a worker; this widget only
asks for them (``page_wanted``) and renders what arrives.  The first page is
asked for when the tab is first shown, the next one when the reader scrolls
near the end (or presses "Load more"), so a 200 MB transcript shows its start
at once and is never read whole.  Tool calls, their results and the model's
thinking are collapsed to one line each; a click opens or closes one.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.core import display
from app.core.conversation import IMAGE, THINKING, TOOL_RESULT, TOOL_USE, Block, Message, Page
from app.core.display import human_size, local_time
from app.gui.rich_text import escape

NEAR_END = 200  # pixels from the bottom at which the next page is fetched


def _text_html(text: str) -> str:
    return f"<div style='white-space:pre-wrap'>{escape(text)}</div>"


def _first_line(text: str, width: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


class ConversationView(QWidget):
    """One transcript, a page at a time."""

    page_wanted = Signal(str, int)  # (transcript path, byte offset)

    def __init__(self, path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = path
        self.messages: list[Message] = []
        self.expanded: set[tuple[int, int]] = set()
        self.next_offset = 0
        self.file_size: int | None = None  # not `size`: QWidget.size() is the widget's
        self.done = False
        self.loading = False
        self.waiting_for: int | None = None  # the offset of the page asked for
        self.unreadable = 0
        self.error: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._toggle)
        self.browser.verticalScrollBar().valueChanged.connect(self._scrolled)
        layout.addWidget(self.browser, 1)
        row = QHBoxLayout()
        self.status = QLabel("Reading the transcript…")
        self.more = QPushButton("Load more")
        self.more.clicked.connect(self.load_more)
        self.more.hide()
        row.addWidget(self.status, 1)
        row.addWidget(self.more)
        layout.addLayout(row)

    # ------------------------------------------------------------- loading

    def start(self) -> None:
        """Ask for the first page (once)."""
        if not self.messages and not self.loading and not self.done:
            self._ask(0)

    def load_more(self) -> None:
        if not self.loading and not self.done:
            self._ask(self.next_offset)

    def _ask(self, offset: int) -> None:
        self.loading = True
        self.waiting_for = offset
        self.more.setEnabled(False)
        self.page_wanted.emit(self.path, offset)

    @Slot(int)
    def _scrolled(self, value: int) -> None:
        bar = self.browser.verticalScrollBar()
        if value >= bar.maximum() - NEAR_END:
            self.load_more()

    def add_page(self, page: Page) -> None:
        """Show a page that a worker read.  A page nobody is waiting for (asked
        by an earlier view of the same transcript, before the user came back
        to it) is dropped: shown, it would repeat messages."""
        if page.start != self.waiting_for:
            return
        self.waiting_for = None
        self.loading = False
        self.file_size = page.size
        self.next_offset = page.end
        self.done = page.done
        self.unreadable += page.unreadable_lines
        self.error = page.error
        first = len(self.messages)
        self.messages.extend(page.messages)
        if first == 0:
            self.browser.setHtml(self._html(0))
        elif page.messages:
            # Appended, not re-laid out: the reader's place stays where it is.
            self.browser.append(self._html(first))
        self._update_status()
        bar = self.browser.verticalScrollBar()
        if not self.done and bar.maximum() == 0:
            self.load_more()  # the page did not fill the view: there is room for more

    def _update_status(self) -> None:
        if self.error:
            self.status.setText(self.error)
        else:
            read = f"{human_size(self.next_offset)} of {human_size(self.file_size)}"
            whole = human_size(self.file_size)
            messages = display.counted(len(self.messages), "message")
            text = (f"{messages}; all of the transcript ({whole})" if self.done
                    else f"{messages} from the first {read}; scroll down for more")
            if self.unreadable:
                text += f"; {display.counted(self.unreadable, 'line')} could not be read (cut short, or not JSON)"
            self.status.setText(text)
        self.more.setVisible(not self.done)
        self.more.setEnabled(not self.loading)

    # ----------------------------------------------------------- rendering

    def _html(self, first: int) -> str:
        if not self.messages and self.done:
            return "<p><i>This transcript holds no messages to show.</i></p>"
        return "".join(self._message_html(i, m) for i, m in enumerate(self.messages[first:], first))

    def _message_html(self, index: int, message: Message) -> str:
        when = local_time(message.time_ms, unknown="")
        if message.role == "summary":
            return f"<p style='color:gray'><i>Summary: {escape(message.blocks[0].text)}</i></p>"
        if message.role == "title":
            return f"<p style='color:gray'><i>Renamed to: {escape(message.blocks[0].text)}</i></p>"
        if message.role == "note":
            return f"<p style='color:gray'><i>{escape(message.blocks[0].text)}</i></p>"
        parts = []
        if not message.only_tools:
            who = "You" if message.role == "user" else "Claude"
            colour = "#2b6cb0" if message.role == "user" else "#b4531f"
            model = f" · {escape(message.model)}" if message.model else ""
            parts.append(f"<p style='margin-top:10px'><b style='color:{colour}'>{who}</b>"
                         f"<span style='color:gray'> {when}{model}</span></p>")
        for b, block in enumerate(message.blocks):
            parts.append(self._block_html(index, b, block))
        return "".join(parts)

    def _block_html(self, m: int, b: int, block: Block) -> str:
        if block.kind not in (TOOL_USE, TOOL_RESULT, THINKING):
            if block.kind == IMAGE:
                return "<p style='color:gray'><i>[an image]</i></p>"
            cut = (f"<p style='color:gray'><i>… {block.length - len(block.text):,} more characters not shown"
                   "</i></p>") if block.cut else ""
            return _text_html(block.text) + cut
        is_open = (m, b) in self.expanded
        arrow = "▾" if is_open else "▸"
        if block.kind == TOOL_USE:
            label = f"Tool call: {escape(block.name or 'tool')}"
        elif block.kind == TOOL_RESULT:
            lines = block.text.count("\n") + 1 if block.text else 0
            label = ("Tool error" if block.is_error else "Tool result") + f" ({lines:,} line{'s' * (lines != 1)})"
        else:
            label = "Thinking"
        hint = "" if is_open else f" <span style='color:gray'>{escape(_first_line(block.text))}</span>"
        head = f"<p style='margin:2px 0 2px 16px'><a href='toggle:{m}:{b}'>{arrow} {label}</a>{hint}</p>"
        if not is_open:
            return head
        more = f"\n… {block.length - len(block.text):,} more characters not shown" if block.cut else ""
        body = (f"<pre style='margin-left:24px; background:rgba(127,127,127,0.12)'>"
                f"{escape(block.text + more)}</pre>")
        return head + body

    @Slot(QUrl)
    def _toggle(self, url: QUrl) -> None:
        text = url.toString()
        if not text.startswith("toggle:"):
            return
        try:
            _, m, b = text.split(":")
            key = (int(m), int(b))
        except ValueError:
            return
        self.expanded.symmetric_difference_update({key})
        bar = self.browser.verticalScrollBar()
        place = bar.value()
        self.browser.setHtml(self._html(0))
        bar.setValue(place)
