"""The dialogs around a repair: the plan to confirm, the summary after, and
the list of backups."""

from __future__ import annotations

import html
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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

from app.core import adopt, backups, conversation_files, display, engine, plans, rebuild, repair
from app.core.kinds import Kind
from app.gui.session_model import human_size

# What will happen to each session, as the plan says it (the future), and
# what did, as the summary says it (the past).
WILL = {repair.PROMOTE: "Will be brought back", repair.REPLACE: "Will be brought back (newer copy)",
        repair.NORMALIZE: "Will be fixed", repair.LEAVE: "Will stay as it is",
        repair.SKIP_DELETED: "Will stay deleted", repair.SKIP_LINK: "Will stay as it is (a link)",
        repair.NOTHING: "Nothing to do", "none": "Nothing to do", adopt.ADOPT: "Will be copied to this account",
        rebuild.REBUILD: "Will get a new record", rebuild.LINK: "Will be linked to its conversation",
        conversation_files.COPY_CONVERSATION: "Its conversation will be put back",
        conversation_files.SET_ASIDE_STUB: "The empty copy hiding it will be set aside",
        conversation_files.INSTALL_MIRROR: "The conversation you copied will be installed",
        conversation_files.MIRROR_IN_PLACE: "Already installed",
        conversation_files.MIRROR_REFUSED: "Will not be installed"}
ACTION_WORDS = WILL  # the plan's words, by action (the CLI has its own, shorter)
DID = {repair.PROMOTE: "Brought back", repair.REPLACE: "Brought back (newer copy)", repair.NORMALIZE: "Fixed",
       adopt.ADOPT: "Copied to this account", rebuild.REBUILD: "Got a new record",
       rebuild.LINK: "Linked to its conversation",
       conversation_files.COPY_CONVERSATION: "Its conversation was put back",
       conversation_files.SET_ASIDE_STUB: "The empty copy hiding it was set aside",
       conversation_files.INSTALL_MIRROR: "The conversation you copied was installed"}


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
    noun: str  # "this repair", "this move"


WORDS = {
    Kind.REPAIR: Words("Repair sessions", "will be repaired", "Repair {n}", "Repairing", "repaired",
                       "Repair finished", "Undo this repair",
                       "Start Claude Desktop again to see the repaired sessions in its sidebar.", "repair"),
    Kind.ADOPT: Words("Move to the active account", "will be copied into the account Claude Desktop is signed in "
                      "to (the originals stay where they are)", "Copy {n}", "Copying", "copied", "Move finished",
                      "Undo this move", "Start Claude Desktop again to see them in its sidebar.", "move"),
    Kind.REBUILD: Words("Rebuild sessions", "will get back a record, the link to their conversation, or their "
                        "conversation where Claude Desktop looks for it",
                        "Rebuild {n}", "Rebuilding", "rebuilt", "Rebuild finished", "Undo this rebuild",
                        "Start Claude Desktop again to see the rebuilt sessions in its sidebar.", "rebuild"),
}
MIRROR_WORDS = Words("Install a copied conversation", "will get the conversation you copied from its SSH host",
                     "Install", "Installing", "installed", "Install finished", "Undo this install",
                     "Start Claude Desktop again and open the session.", "install")


def words_for(plan: plans.Plan) -> Words:
    if any(a.action == conversation_files.INSTALL_MIRROR for a in plan.actions):
        return MIRROR_WORDS
    return WORDS[plan.kind]


def outcome_words(words: Words) -> dict[str, str]:
    """What happened to each session, in the past tense, for this kind of run."""
    return {engine.DONE: words.done.capitalize(), engine.IDENTICAL: "Already done",
            engine.SOURCE_KEPT: f"{words.done.capitalize()} (a copy kept)", engine.FAILED: "Failed",
            plans.SKIPPED: "Left as it was", engine.CANCELLED: "Not done", plans.PLANNED: f"Would be {words.done}"}


OUTCOME_WORDS = outcome_words(WORDS[Kind.REPAIR])


def _table(headers: list[str], rows: list[list[str]], tips: list[list[str]] | None = None) -> QTableWidget:
    """One line a session, so that a long plan shows as many as the screen
    holds; what a cell cannot show whole ends in "…", and its tooltip has it all."""
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setTabKeyNavigation(False)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(tips[r][c] if tips else text)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    table.resizeColumnsToContents()
    for c in range(len(headers) - 1):
        table.setColumnWidth(c, min(table.columnWidth(c), 300))
    # The last column takes what is left, no more: its long reasons end in "…"
    # (the tooltip has them) rather than under a sideways scroll bar.
    header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    return table


def fit_to_content(dialog: QDialog, table: QTableWidget, width: int = 820) -> None:
    """As tall as the table's rows need, up to what the screen has room for."""
    screen = dialog.screen()
    room = screen.availableGeometry() if screen is not None else None
    rows = sum(table.rowHeight(r) for r in range(table.rowCount())) + table.horizontalHeader().height() + 4
    other = dialog.sizeHint().height() - table.sizeHint().height()
    height = other + rows
    if room is not None:
        width, height = min(width, room.width() - 24), min(height, room.height() - 48)
    table.setMinimumHeight(min(rows, max(height - other, 120)))
    dialog.resize(width, max(height, 240))


class ConfirmRepairDialog(QDialog):
    """What will happen to each session, in plain words (the technical
    reason one click away), and that backups are kept.  Enter confirms,
    Escape cancels."""

    def __init__(self, plan: plans.Plan, backup_root: Path, parent: QWidget | None = None,
                 notes: list[str] | None = None, technical: bool = False):
        super().__init__(parent)
        to_do = plan.to_do
        words = words_for(plan)
        self.setWindowTitle(words.title)
        layout = QVBoxLayout(self)
        # Why this plan is shown again (it changed since it was confirmed).
        self.notes = QLabel("<br>".join(f"<b>{html.escape(n)}</b>" for n in notes or []))
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(notes))
        layout.addWidget(self.notes)
        left = len(plan.actions) - len(to_do)
        intro = QLabel(f"<b>{len(to_do)} session{'s' * (len(to_do) != 1)} {words.will}.</b> "
                       + (f"{left} will stay exactly as {'they are' if left != 1 else 'it is'}." if left else ""))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        ordered = sorted(plan.actions, key=lambda a: not a.changes_files)
        rows = [[WILL.get(a.action, a.action), a.session.title or "(no title)", display.headline(a.session)]
                for a in ordered]
        self._why = {False: [r[2] for r in rows], True: [a.reason for a in ordered]}
        self.table = _table(["What will happen", "Session", "Why"], rows,
                            [[r[0], f"{r[1]}\n{a.id}", a.reason] for r, a in zip(rows, ordered, strict=True)])
        self.table.setAccessibleName("The plan")
        self.table.setAccessibleDescription(f"{display.counted(len(rows), 'session')}: what will happen to each, "
                                            "and why")
        layout.addWidget(self.table, 1)
        self.details = QCheckBox("Show the technical reasons (files, codes)")
        self.details.toggled.connect(self._show_details)
        self.details.setChecked(technical)
        layout.addWidget(self.details)
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
        self.repair_button.setAutoDefault(True)
        # Switching the reasons must not leave another button highlighted: the
        # highlighted one is the one Enter presses.
        self.details.toggled.connect(lambda _on: self.repair_button.setDefault(True))
        self.repair_button.setAccessibleDescription(
            f"Carry out the plan: {display.counted(len(to_do), 'session')} {words.will}")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.repair_button.setFocus()  # Enter confirms, whatever the table would make of it
        fit_to_content(self, self.table)

    def _show_details(self, on: bool) -> None:
        """The Why column in plain words, or the technical reason (files, codes)."""
        for row, text in enumerate(self._why[on]):
            item = self.table.item(row, 2)
            if item is not None:
                item.setText(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        # Enter confirms, even with the table focused; but a button that has
        # the focus (Cancel, after a Tab) is the highlighted one, and Enter
        # presses it: never one button shown and another pressed.
        focused = self.focusWidget()
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.repair_button.isEnabled()
                and (not isinstance(focused, QPushButton) or focused is self.repair_button)):
            self.accept()
            return
        super().keyPressEvent(event)


class SummaryDialog(QDialog):
    """How the run went, in plain words (the technical details one click
    away), where the backups are, and the way back (which asks first)."""

    OPEN_FOLDER, UNDO = 10, 11

    def __init__(self, report: plans.Report, parent: QWidget | None = None, kind: Kind = Kind.REPAIR,
                 notes: list[str] | None = None, words: Words | None = None,
                 plain: dict[str, str] | None = None, technical: bool = False):
        """``plain``: what happened to each session, in a few words, by id
        (display.headline of the plan's sessions): the Why column's words
        until the technical details are asked for."""
        super().__init__(parent)
        words = words or WORDS[kind]
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
        self.changed = counts[engine.DONE] + counts[engine.SOURCE_KEPT]
        self.headline = QLabel(self._headline(counts, words))
        layout.addWidget(self.headline)
        self._add_table(report, words, plain or {}, layout)
        self.details = QCheckBox("Show the technical details (files, codes)")
        self.details.toggled.connect(self._show_details)
        self.details.setChecked(technical)
        layout.addWidget(self.details)
        if report.backup_dir:
            where = QLabel(f"Backups of every file this {words.noun} touched are in<br><code>"
                           f"{html.escape(report.backup_dir)}</code>")
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            where.setWordWrap(True)
            layout.addWidget(where)
        if self.changed:
            layout.addWidget(QLabel(words.after))
        layout.addWidget(self._buttons(report, words))
        fit_to_content(self, self.table)

    def _headline(self, counts: dict[str, int], words: Words) -> str:
        parts = [f"<b>{self.changed} {words.done}</b>"]
        if counts[engine.IDENTICAL]:
            parts.append(f"{counts[engine.IDENTICAL]} already done")
        parts.append(f"{counts[plans.SKIPPED]} left as they were")
        if counts[engine.FAILED]:
            parts.append(f"<b style='color:#c8372d'>{counts[engine.FAILED]} failed</b>")
        if counts[engine.CANCELLED]:
            parts.append(f"{counts[engine.CANCELLED]} not done")
        return ", ".join(parts) + "."

    def _add_table(self, report: plans.Report, words: Words, plain: dict[str, str], layout: QVBoxLayout) -> None:
        shown = [r for r in report.results if r.outcome != plans.SKIPPED] + \
                [r for r in report.results if r.outcome == plans.SKIPPED]
        said = outcome_words(words)
        # Why a session failed or was not done is said as it is: plain words would hide it.
        self._why = {False: [r.detail if r.outcome in (engine.FAILED, engine.CANCELLED) else plain.get(r.id) or r.detail
                             for r in shown],
                     True: [r.detail for r in shown]}
        rows = [[DID.get(r.action, said[r.outcome]) if r.outcome == engine.DONE else said.get(r.outcome, r.outcome),
                 r.title or "(no title)", why] for r, why in zip(shown, self._why[False], strict=True)]
        self.table = _table(["What happened", "Session", "Why"], rows,
                            [[row[0], f"{row[1]}\n{r.id}", r.detail] for row, r in zip(rows, shown, strict=True)])
        self.table.setAccessibleName(f"What the {words.noun} did")
        self.table.setAccessibleDescription(f"{display.counted(len(rows), 'session')}: what happened to each, "
                                            "and why")
        layout.addWidget(self.table, 1)

    def _buttons(self, report: plans.Report, words: Words) -> QDialogButtonBox:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open backup folder")
        self.undo_button = QPushButton(words.undo)
        self.undo_button.setAccessibleDescription(
            f"Asks first, then puts back the {display.counted(self.changed, 'session')} this {words.noun} changed")
        if report.backup_dir:
            buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
            self.open_button.clicked.connect(lambda: self.done(self.OPEN_FOLDER))
        if report.run_id and self.changed:
            buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ActionRole)
            self.undo_button.clicked.connect(lambda: self.done(self.UNDO))
        buttons.rejected.connect(self.reject)
        return buttons

    def _show_details(self, on: bool) -> None:
        for row, text in enumerate(self._why[on]):
            item = self.table.item(row, 2)
            if item is not None:
                item.setText(text)


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
