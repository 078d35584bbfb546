"""What a user does next with a session's conversation, whatever its
status: save it as a document (Markdown, or a web page), or copy the command
that goes on with it in a terminal (the way around a session Claude Desktop
will not open).  The work is core's (app.core.export, app.core.resume); the
export runs in a worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from app.core import display
from app.core.choices import HTML, MARKDOWN
from app.core.records import Session
from app.core.transcripts import conversation_of
from app.gui import jobs
from app.gui.tasks import Tasks

# app.core.export and app.core.resume are imported when the user asks for
# them: the window asks can_export() of every selection, from its start on.
# So are the file dialog and the message box: Qt makes each type, and its
# many enums, when first asked for it.
if TYPE_CHECKING:
    from app.core.resume import Resume

FILTERS = {MARKDOWN: "Markdown document (*.md)", HTML: "Web page (*.html)"}


class ConversationActions(QObject):
    status = Signal(str)
    exported = Signal(str)  # the file written
    failed = Signal(str)

    def __init__(self, window: QWidget, tasks: Tasks):
        super().__init__(window)
        self._window = window
        self._tasks = tasks

    @staticmethod
    def can_export(session: Session | None) -> bool:
        return session is not None and conversation_of(session) is not None

    def export(self, session: Session, path: str | None = None) -> None:
        """Ask where (unless ``path``), then write it off the UI thread."""
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        from app.core import export

        if path is None:
            start = Path.home() / "Documents"
            start = start if start.is_dir() else Path.home()
            path, chosen = QFileDialog.getSaveFileName(
                self._window, f"Export “{session.title or session.id}”",
                str(start / export.suggested_file_name(session)), ";;".join(FILTERS.values()))
            if not path:
                return
            if chosen == FILTERS[HTML] and not path.lower().endswith((".html", ".htm")):
                path += ".html"
                # The dialog asked about the name typed, not this one: ask now.
                if os.path.lexists(path) and QMessageBox.question(
                        self._window, "Export", f"{Path(path).name} already exists. Replace it?") \
                        != QMessageBox.StandardButton.Yes:
                    self.status.emit("Nothing was exported.")
                    return
        fmt = HTML if path.lower().endswith((".html", ".htm")) else MARKDOWN
        self.status.emit(f"Exporting the conversation to {path}…")
        self._tasks.start(jobs.export_conversation, session, path, fmt, on_result=self._on_exported,
                          on_error=self._on_failed)

    @Slot(object)
    def _on_exported(self, payload: tuple[str, int]) -> None:
        path, messages = payload
        self.status.emit(f"Exported {display.counted(messages, 'message')} to {path}.")
        self.exported.emit(path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.status.emit(message)
        self.failed.emit(message)
        QMessageBox.warning(self._window, "Export", message)

    def copy_resume_command(self, session: Session, platform: str = sys.platform) -> Resume:
        """Put the command that continues the session in a terminal on the
        clipboard, and say what it is for; or say why there is none."""
        from PySide6.QtWidgets import QMessageBox

        from app.core import resume

        found = resume.resume_command(session, platform)
        if found.command is None:
            QMessageBox.information(self._window, "Go on in a terminal", found.reason or "No command can be given.")
            return found
        QGuiApplication.clipboard().setText(found.command)
        where = "PowerShell" if found.shell == resume.POWERSHELL else "a terminal"
        self.status.emit(f"Copied the command to go on with “{session.title or session.id}” in {where}.")
        box = QMessageBox(QMessageBox.Icon.Information, "Go on in a terminal",
                          f"This command is now on the clipboard. Paste it in {where} to go on with this "
                          "conversation in Claude Code, in its own folder:", QMessageBox.StandardButton.Ok,
                          self._window)
        box.setInformativeText(found.command + (f"\n\n{found.note}" if found.note else ""))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()
        return found
