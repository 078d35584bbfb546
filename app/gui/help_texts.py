"""What the Help menu says: how Session Rescue works, and what it is (the
About box, with the program's own SHA-256, read by a worker)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from app import __version__
from app.core import selfcheck
from app.core.display import neutralise
from app.gui.tasks import Tasks

HOW_IT_WORKS = """<h3>How Session Rescue works</h3>
<p>Claude Desktop sometimes loses Code sessions: they vanish from its list, or open on
"Session not found on disk" or "No messages yet". Usually the work is still on your computer:
Claude could not save the session properly, or it looks for the conversation in the wrong
place. Session Rescue finds every session, says in plain words what happened to each, and
brings back the ones it can.</p>
<p><b>Healthy</b>: Claude Desktop lists it and opens it. <b>Orphaned</b>: lost, but it can be
brought back. <b>Corrupt</b>: nothing is left that could bring it back; it is left exactly as
it is (its conversation can often still be read, and exported). <b>Deleted</b>: you deleted it
in Claude Desktop; it is hidden unless you ask, and never brought back. <b>Transcript only</b>:
a conversation with no session in Claude's list (after a reinstall, or one started in a
terminal). Select a session to see, step by step, why it does or does not open.</p>
<p><b>Repair</b> brings back lost sessions. <b>Rebuild</b> gives a conversation without a
session a new one, or gives a session back the link to its conversation. <b>Move to active
account</b> copies sessions left under another account into the one you are signed in to.
Every change shows its plan first and asks. Every file it changes is copied to the backup
folder before anything happens, and <i>Tools → Undo last change</i> puts every byte back.</p>
<p>Quit Claude Desktop fully first, including its icon by the clock: it keeps sessions in
memory and would overwrite a repair.</p>
<p style="color:gray">For the technically minded: Claude Desktop keeps one record per session,
<code>local_&lt;id&gt;.json</code>, and saves it by writing <code>local_&lt;id&gt;.json.tmp</code>
and renaming it; on Windows Store installs that rename often fails (<i>EXDEV: cross-device
link not permitted</i>). The conversations themselves are Claude Code's transcripts, in
<code>~/.claude/projects</code>. <i>Show files and details</i> shows each session's files and
codes.</p>"""


def about(backup_root: Path, check: selfcheck.Fingerprint | None = None) -> str:
    """The About box's text; ``check`` is None while the SHA-256 is being read."""
    return (f"<h3>Session Rescue {__version__}</h3><p>Brings back Claude Desktop's lost Code sessions, without "
            f"ever losing a byte.</p>{_fingerprint(check)}"
            f"<p>Backups: <code>{html.escape(str(backup_root))}</code></p>")


def _fingerprint(check: selfcheck.Fingerprint | None) -> str:
    if check is None:
        return "<p>SHA-256 of this program: working it out…</p>"
    if check.path is None:
        return ("<p>Running from source: there is no single program file to check. (The downloaded "
                "SessionRescue shows its SHA-256 here.)</p>")
    where = f"<code>{html.escape(neutralise(str(check.path)))}</code>"
    if check.sha256 is None:
        return f"<p>This program: {where}<br>Its SHA-256 could not be read ({html.escape(str(check.problem))}).</p>"
    return (f"<p>This program: {where}<br>SHA-256: <code>{check.sha256}</code></p>"
            "<p>The same as in the release's <code>SHA256SUMS.txt</code>? Then this is the file that was "
            "published.</p>")


def _read_fingerprint(report: Any) -> selfcheck.Fingerprint:
    return selfcheck.fingerprint()


class AboutBox(QMessageBox):
    """The About box.  It opens at once; the program's SHA-256 (45 MB to read)
    fills in when a worker has it, and the window never waits for it."""

    def __init__(self, parent: QWidget, tasks: Tasks, backup_root: Path):
        super().__init__(parent)
        self._backup_root = backup_root
        self.setWindowTitle("About Session Rescue")
        icon = parent.windowIcon()  # as QMessageBox.about does
        self.setIconPixmap(icon.pixmap(icon.actualSize(QSize(64, 64))))
        self.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the SHA-256 can be copied
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        check = selfcheck.known()
        self.setText(about(backup_root, check))
        if check is None:
            tasks.start(_read_fingerprint, on_result=self.show_fingerprint, on_error=self.show_problem)

    @Slot(object)
    def show_fingerprint(self, check: selfcheck.Fingerprint) -> None:
        self.setText(about(self._backup_root, check))

    @Slot(str)
    def show_problem(self, message: str) -> None:
        self.setText(about(self._backup_root, selfcheck.Fingerprint(selfcheck.own_executable(), None, message)))
