"""The chain's step list in the Run panel: add, edit, remove and reorder steps.

    each row is one step, written as on the command line's --step:
        "image format=webp max_width=2048", "small: image max_width=320", "checksum"
    any change ─► check(): operations/pipeline parses and checks the steps
        (unknown operation or option, a step that cannot take what the one
        before writes) ─► the problem under the list, and its step marked
    steps_json() / set_steps_json() ─► the chain's `steps` option

Checking reads no file: it only asks the operations about their options and
the names of what they write.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from batchgui.gui.colours import readable
from batchgui.operations.pipeline import parse_branches, specs_from_steps, steps_from_specs

_WHERE = re.compile(r"(?:branch (\S+): )?step (\d+)")


class StepsEditor(QWidget):
    #: the steps changed (the option's value)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setObjectName("stepsList")
        self.list.setAccessibleName("Steps")
        self.list.setToolTip(
            "One step per row, run on what the row above wrote: OP KEY=VALUE ... "
            "(add 'keep' to keep its files; 'NAME: ...' makes variants). Double-click to edit."
        )
        self.list.setMaximumHeight(110)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.itemChanged.connect(self._edited)
        self.new_step = QLineEdit(self)
        self.new_step.setObjectName("newStepEdit")
        self.new_step.setAccessibleName("New step")
        self.new_step.setPlaceholderText("e.g. image format=webp max_width=2048")
        self.new_step.setToolTip("A step to add at the end, as the command line's --step")
        self.new_step.returnPressed.connect(self.add_typed)
        add = self._button("Add", "addStepButton", "Add this step at the end", self.add_typed)
        remove = self._button("Remove", "removeStepButton", "Remove the selected step", self.remove)
        up = self._button(
            "Up", "stepUpButton", "Run the selected step earlier", lambda: self.move_step(-1)
        )
        down = self._button(
            "Down", "stepDownButton", "Run the selected step later", lambda: self.move_step(1)
        )
        self.problem = QLabel(self)
        self.problem.setObjectName("stepsProblem")
        self.problem.setWordWrap(True)
        # room for two lines from the start: the panel is laid out once, not per message
        self.problem.setMinimumHeight(self.problem.fontMetrics().lineSpacing() * 2 + 6)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 0, 0, 3, 3)
        layout.addWidget(remove, 0, 3)
        layout.addWidget(up, 1, 3)
        layout.addWidget(down, 2, 3)
        layout.addWidget(self.new_step, 3, 0, 1, 3)
        layout.addWidget(add, 3, 3)
        layout.addWidget(self.problem, 4, 0, 1, 4)
        self.check()

    def _button(self, text: str, name: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # --- the value ---------------------------------------------------------------------
    def specs(self) -> list[str]:
        return [self.list.item(i).text().strip() for i in range(self.list.count())]

    def steps_json(self) -> str:
        """The steps option; "" when a row cannot be read (check() says why)."""
        try:
            return steps_from_specs([s for s in self.specs() if s])
        except ValueError:
            return ""

    def set_steps_json(self, text: str) -> None:
        try:
            lines = specs_from_steps(text)
        except (ValueError, TypeError, AttributeError):
            lines = []
        self.list.blockSignals(True)
        self.list.clear()
        for line in lines:
            self.list.addItem(self._item(line))
        self.list.blockSignals(False)
        self.check()

    def _item(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    # --- editing -----------------------------------------------------------------------
    def add_typed(self) -> None:
        text = self.new_step.text().strip()
        if text:
            self.list.addItem(self._item(text))
            self.new_step.clear()
            self.list.setCurrentRow(self.list.count() - 1)
            self._edited()

    def remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._edited()

    def move_step(self, by: int) -> None:
        row = self.list.currentRow()
        target = row + by
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self._edited()

    def _edited(self, *_: object) -> None:
        self.check()
        self.changed.emit()

    def check(self) -> str:
        """Check the steps; the problem (or "") is shown under the list and its
        step marked."""
        with QSignalBlocker(self.list):  # marking a row is not an edit
            return self._check()

    def _check(self) -> str:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setForeground(QBrush())
            item.setToolTip("")
        specs = [s for s in self.specs() if s]
        if not specs:
            problem = "Add the first step"
        else:
            try:
                parse_branches(steps_from_specs(specs))
                problem = ""
            except ValueError as exc:
                problem = str(exc)
        self.problem.setText(problem)
        row = self._row_of(problem)
        if row is not None:
            item = self.list.item(row)
            base = QGuiApplication.palette().base().color()
            item.setForeground(QBrush(readable(QColor(200, 40, 40), base)))
            item.setToolTip(problem)
        return problem

    def _row_of(self, problem: str) -> int | None:
        """The row of the step a problem names ("branch small: step 2 (image): …")."""
        match = _WHERE.search(problem)
        if match is None:
            return None
        branch, number = match.group(1) or "", int(match.group(2))
        seen = 0
        for row in range(self.list.count()):
            words = self.list.item(row).text().split()
            mine = words[0][:-1] if words and words[0].endswith(":") else ""
            if mine == branch:
                seen += 1
                if seen == number:
                    return row
        return None
