"""The dialogs around a repair: the plan to confirm, the summary after, and
the list of backups."""

from __future__ import annotations

import html
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import adopt, backups, conversation_files, engine, plans, rebuild, repair
from app.core.kinds import Kind
from app.gui.session_model import human_size

ACTION_WORDS = {repair.PROMOTE: "Bring back", repair.REPLACE: "Replace with newer copy",
                repair.NORMALIZE: "Fix and keep", repair.LEAVE: "Leave as is", repair.SKIP_DELETED: "Leave (deleted)",
                repair.SKIP_LINK: "Leave (a link)", repair.NOTHING: "Nothing to do",
                adopt.ADOPT: "Copy to active account", rebuild.REBUILD: "Make a new record",
                rebuild.LINK: "Link its transcript", conversation_files.COPY_CONVERSATION: "Copy its conversation",
                conversation_files.SET_ASIDE_STUB: "Set the empty stub aside",
                conversation_files.INSTALL_MIRROR: "Install the copied conversation"}


class Words(NamedTuple):
    """How the dialogs speak of one kind of plan."""

    title: str  # the confirmation's window title
    will: str  # "... will be repaired"
    button: str  # the confirm button, with {n}
    doing: str  # the progress dialog's title
    done: str  # the outcome word
    finished: str  # the summary's window title
    undo: str  # the summary's undo button
    after: str  # what to do next


WORDS = {
    Kind.REPAIR: Words("Repair sessions", "will be repaired", "Repair {n}", "Repairing", "repaired",
                       "Repair finished", "Undo this repair",
                       "Start Claude Desktop again to see the repaired sessions in its sidebar."),
    Kind.ADOPT: Words("Move to the active account", "will be copied into the account Claude Desktop is signed in "
                      "to (the originals stay where they are)", "Copy {n}", "Copying", "copied", "Move finished",
                      "Undo this move", "Start Claude Desktop again to see them in its sidebar."),
    Kind.REBUILD: Words("Rebuild sessions", "will get a record made from their transcript, their lost link back, "
                        "or their conversation where Claude Desktop looks for it",
                        "Rebuild {n}", "Rebuilding", "rebuilt", "Rebuild finished", "Undo this rebuild",
                        "Start Claude Desktop again to see the rebuilt sessions in its sidebar."),
}
OUTCOME_WORDS = {engine.DONE: "Repaired", engine.IDENTICAL: "Already repaired",
                 engine.SOURCE_KEPT: "Repaired (copy kept)", engine.FAILED: "Failed", plans.SKIPPED: "Left as is",
                 engine.CANCELLED: "Cancelled", plans.PLANNED: "Would be repaired"}


def _table(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(True)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    for c in range(len(headers) - 1):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.resizeRowsToContents()
    return table


class ConfirmRepairDialog(QDialog):
    """What will happen to each session, and that backups are kept."""

    def __init__(self, plan: plans.Plan, backup_root: Path, parent: QWidget | None = None,
                 notes: list[str] | None = None):
        super().__init__(parent)
        to_do = plan.to_do
        words = WORDS[plan.kind]
        self.setWindowTitle(words.title)
        layout = QVBoxLayout(self)
        # Why this plan is shown again (it changed since it was confirmed).
        self.notes = QLabel("<br>".join(f"<b>{html.escape(n)}</b>" for n in notes or []))
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(notes))
        layout.addWidget(self.notes)
        intro = QLabel(f"<b>{len(to_do)} session{'s' * (len(to_do) != 1)} {words.will}.</b> "
                       f"{len(plan.actions) - len(to_do)} will be left exactly as they are.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        rows = [[ACTION_WORDS.get(a.action, a.action), a.session.title or a.id, a.reason]
                for a in sorted(plan.actions, key=lambda a: not a.changes_files)]
        self.table = _table(["What happens", "Session", "Why"], rows)
        layout.addWidget(self.table, 1)
        note = QLabel(f"Every file that is changed or removed is copied first to<br><code>"
                      f"{html.escape(str(backup_root))}</code>, each new file is recorded there, and all of it "
                      "can be undone from <i>Tools → Undo last change</i>. Claude Desktop must stay closed until "
                      "it is done.")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.repair_button = buttons.addButton(words.button.format(n=len(to_do)),
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.repair_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 420)


class SummaryDialog(QDialog):
    """How the repair went, where the backups are, and the way back."""

    OPEN_FOLDER, UNDO = 10, 11

    def __init__(self, report: plans.Report, parent: QWidget | None = None, kind: Kind = Kind.REPAIR,
                 notes: list[str] | None = None):
        super().__init__(parent)
        words = WORDS[kind]
        self.setWindowTitle(words.finished)
        counts = report.summary()
        layout = QVBoxLayout(self)
        # What happened around the run (an interrupted run undone first, a
        # damaged one left alone, Claude Desktop starting midway): said first.
        self.notes = QLabel("<br>".join(html.escape(n) for n in [*(notes or []), *([report.stopped]
                                                                                    if report.stopped else [])]))
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(self.notes.text()))
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notes)
        repaired = counts[engine.DONE] + counts[engine.SOURCE_KEPT]
        parts = [f"<b>{repaired} {words.done}</b>", f"{counts[engine.IDENTICAL]} already done",
                 f"{counts[plans.SKIPPED]} left as they are"]
        if counts[engine.FAILED]:
            parts.append(f"<b style='color:#c8372d'>{counts[engine.FAILED]} failed</b>")
        if counts[engine.CANCELLED]:
            parts.append(f"{counts[engine.CANCELLED]} not done")
        self.headline = QLabel(", ".join(parts) + ".")
        layout.addWidget(self.headline)
        shown = [r for r in report.results if r.outcome != plans.SKIPPED] + \
                [r for r in report.results if r.outcome == plans.SKIPPED]
        outcome_words = {**OUTCOME_WORDS, engine.DONE: words.done.capitalize()}
        self.table = _table(["Result", "Session", "Details"],
                            [[outcome_words.get(r.outcome, r.outcome), r.title or r.id, r.detail] for r in shown])
        layout.addWidget(self.table, 1)
        if report.backup_dir:
            where = QLabel(f"Backups of every file this repair touched are in<br><code>"
                           f"{html.escape(report.backup_dir)}</code>")
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            where.setWordWrap(True)
            layout.addWidget(where)
        if repaired:
            layout.addWidget(QLabel(words.after))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open backup folder")
        self.undo_button = QPushButton(words.undo)
        if report.backup_dir:
            buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
            self.open_button.clicked.connect(lambda: self.done(self.OPEN_FOLDER))
        if report.run_id and repaired:
            buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ActionRole)
            self.undo_button.clicked.connect(lambda: self.done(self.UNDO))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 420)


class BackupsDialog(QDialog):
    """Every past run, newest first; undo one, or open its folder."""

    OPEN_FOLDER, UNDO = 10, 11

    def __init__(self, root: Path, infos: list[backups.RunInfo], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Backups")
        self.infos = list(reversed(infos))
        layout = QVBoxLayout(self)
        label = QLabel(f"Backups are kept in <code>{html.escape(str(root))}</code>." if infos else
                       f"No repair has been made yet. Backups will be kept in <code>{html.escape(str(root))}</code>.")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label)
        self.table = _table(["Made", "What", "Status", "Sessions", "Files", "Size", "Run"],
                            [[i.created_local, i.kind or "unknown", i.status, str(i.sessions), str(i.files),
                              human_size(i.size), i.run_id] for i in self.infos])
        for row, info in enumerate(self.infos):
            if info.problem:  # a damaged run says why, where the user looks
                for col in range(self.table.columnCount()):
                    item = self.table.item(row, col)
                    if item is not None:
                        item.setToolTip(f"Damaged: {info.problem}. It is never used for an undo.")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.undo_button = buttons.addButton("Undo this run", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.clicked.connect(lambda: self.done(self.OPEN_FOLDER))
        self.undo_button.clicked.connect(lambda: self.done(self.UNDO))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table.itemSelectionChanged.connect(self._update)
        if self.infos:
            self.table.selectRow(0)
        self._update()
        self.resize(700, 360)

    def selected(self) -> backups.RunInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.infos[rows[0].row()] if rows else None

    def _update(self) -> None:
        info = self.selected()
        self.open_button.setEnabled(info is not None)
        self.undo_button.setEnabled(info is not None and info.status in backups.UNDOABLE)
