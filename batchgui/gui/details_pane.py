"""The details pane: everything known about the selected task, copyable.

    selection in the task list / double-click / Enter ─► show_task(task, batch)
    bridge's tasks_changed ─► refresh() when the shown task is among them

Top: the file, its folder, and a form (status, attempts, priority, times,
why skipped, duplicate of). Below, tabs of read-only text a user can select
and copy (and a Copy button for the whole tab): the status history (from
gui/task_history.py), the full error, the command's standard error and
standard output (their last 8 KiB, kept with the task), the command line run.
Then the outputs, each openable; opening goes through gui/desktop.py, which
says so when the system has no program for a file.

It reads only what is in memory (the task, the batch, the history): no file
work on the GUI thread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from batchgui.core.models import Batch, Task, TaskStatus
from batchgui.gui.desktop import open_path, show_in_folder
from batchgui.gui.names import shown, shown_line
from batchgui.gui.task_history import TaskHistory
from batchgui.operations.command import command_line
from batchgui.session import units

_TABS = ("History", "Error", "Standard error", "Standard output", "Command")


def when(at: float | None) -> str:
    """A wall-clock time: "14:03:27" today, "2026-11-30 14:03:27" before."""
    if at is None:
        return "–"
    stamp = time.localtime(at)
    if time.strftime("%Y-%m-%d", stamp) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", stamp)
    return time.strftime("%Y-%m-%d %H:%M:%S", stamp)


class DetailsPane(QWidget):
    #: one line for the status bar (a file the system could not open)
    message = Signal(str)

    def __init__(self, history: TaskHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.history = history
        self.task: Task | None = None
        self.batch: Batch | None = None

        self.title = QLabel("Select a task to see its details", self)
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.folder = self._selectable("detailsFolder")
        self.fields: dict[str, QLabel] = {}
        form = QGridLayout()  # two columns of fields: the pane is a short strip
        names = ("Status", "Attempts", "Priority", "Duration", "Started", "Finished", "Note")
        for place, name in enumerate(names):
            label = self._selectable(f"details{name}")
            self.fields[name] = label
            row, column = divmod(place, 2)
            if name == "Note":
                form.addWidget(QLabel(name, self), row, 0)
                form.addWidget(label, row, 1, 1, 3)
                continue
            form.addWidget(QLabel(name, self), row, column * 2)
            form.addWidget(label, row, column * 2 + 1)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("detailsTabs")
        self.texts: dict[str, QPlainTextEdit] = {}
        for name in _TABS:
            text = QPlainTextEdit(self)
            text.setObjectName("details" + name.title().replace(" ", ""))
            text.setReadOnly(True)
            text.setAccessibleName(name)
            text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            text.setTabChangesFocus(True)  # Tab moves on, as everywhere else
            self.texts[name] = text
            self.tabs.addTab(text, name)
        copy = QPushButton("Copy", self)
        copy.setObjectName("detailsCopy")
        copy.setToolTip("Copy the text of the open tab")
        copy.clicked.connect(self.copy_tab)

        self.outputs = QListWidget(self)
        self.outputs.setObjectName("detailsOutputs")
        self.outputs.setAccessibleName("Outputs")
        self.outputs.setMinimumHeight(40)
        self._output_paths: list[Path] = []  # the outputs listed, row by row
        self.outputs.itemActivated.connect(
            lambda item: self._open(self._output_paths[self.outputs.row(item)], False)
        )
        self.open_button = QPushButton("Open", self)
        self.open_button.setObjectName("detailsOpen")
        self.open_button.setToolTip("Open the selected output with the system's program")
        self.open_button.clicked.connect(lambda: self._open_selected(False))
        self.show_button = QPushButton("Show in folder", self)
        self.show_button.setObjectName("detailsShowInFolder")
        self.show_button.setToolTip("Open the folder that holds the selected output")
        self.show_button.clicked.connect(lambda: self._open_selected(True))

        # side by side: what the task is on the left, its texts on the right
        output_row = QHBoxLayout()
        output_row.addWidget(QLabel("Outputs", self))
        output_row.addStretch(1)
        output_row.addWidget(self.open_button)
        output_row.addWidget(self.show_button)
        facts = QVBoxLayout()
        facts.addWidget(self.title)
        facts.addWidget(self.folder)
        facts.addLayout(form)
        facts.addLayout(output_row)
        facts.addWidget(self.outputs, 1)
        texts = QVBoxLayout()
        texts.addWidget(self.tabs, 1)
        tab_row = QHBoxLayout()
        tab_row.addStretch(1)
        tab_row.addWidget(copy)
        texts.addLayout(tab_row)
        layout = QHBoxLayout(self)
        layout.addLayout(facts, 2)
        layout.addLayout(texts, 3)
        self.show_task(None, None)

    def _selectable(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    # --- what is shown -------------------------------------------------------------------
    def show_task(self, task: Task | None, batch: Batch | None) -> None:
        self.task, self.batch = task, batch
        self.refresh()

    def refresh(self) -> None:
        task = self.task
        if task is None:
            self.title.setText("Select a task to see its details")
            self.folder.setText("")
            for label in self.fields.values():
                label.setText("")
            for text in self.texts.values():
                text.setPlainText("")
            self.outputs.clear()
            self._output_paths = []
            self._enable_output_buttons()
            return
        self.title.setText(shown_line(task.name))
        self.folder.setText(shown_line(task.path.parent))
        f = self.fields
        f["Status"].setText(_status_text(task))
        crashes = f", {task.crashes} lost with a worker" if task.crashes else ""
        f["Attempts"].setText(f"{task.attempts}{crashes}")
        f["Priority"].setText(task.priority.name.capitalize())
        f["Started"].setText(when(task.started_at))
        f["Finished"].setText(when(task.finished_at) if task.status.is_final else "–")
        if task.status is TaskStatus.RUNNING and task.started_at is not None:
            f["Duration"].setText(units.duration(task.running_s(time.time())))
        else:
            f["Duration"].setText("–" if task.duration_s is None else f"{task.duration_s:.2f} s")
        f["Note"].setText(shown_line(_note(task)))
        self._set_text("History", _history_text(self.history, task))
        kind = f"{units.words(task.error_kind.value)}: " if task.error_kind else ""
        self._set_text("Error", f"{kind}{task.error}" if task.error else "")
        self._set_text("Standard error", str(task.data.get("stderr_tail", "")))
        self._set_text("Standard output", str(task.data.get("stdout_tail", "")))
        self._set_text("Command", self._command(task))
        if self._output_paths != task.outputs:
            self._output_paths = list(task.outputs)  # what Open opens: the real names
            self.outputs.clear()
            for path in self._output_paths:
                self.outputs.addItem(QListWidgetItem(shown_line(path)))
            if self._output_paths:
                self.outputs.setCurrentRow(0)
        self._enable_output_buttons()

    def _set_text(self, tab: str, value: str) -> None:
        value = shown(value)  # a file name in it may not be UTF-8 (gui/names.py)
        text = self.texts[tab]
        if text.toPlainText() != value:  # leave a selection alone when nothing changed
            text.setPlainText(value)

    def _command(self, task: Task) -> str:
        batch = self.batch
        if batch is None or "command" not in batch.options:
            return ""
        out_dir = task.out_dir or batch.out_root
        return command_line(batch.options, task.path, out_dir, task.root)

    def _enable_output_buttons(self) -> None:
        has = self.outputs.count() > 0
        self.open_button.setEnabled(has)
        self.show_button.setEnabled(has)

    # --- actions -------------------------------------------------------------------------
    def copy_tab(self) -> None:
        text = self.texts[_TABS[self.tabs.currentIndex()]].toPlainText()
        QGuiApplication.clipboard().setText(text)
        self.message.emit(f"Copied {_TABS[self.tabs.currentIndex()].lower()}")

    def _open_selected(self, folder: bool) -> None:
        row = self.outputs.currentRow()
        if 0 <= row < len(self._output_paths):
            self._open(self._output_paths[row], folder)

    def _open(self, path: Path, folder: bool) -> None:
        problem = show_in_folder(path) if folder else open_path(path)
        if problem:
            self.message.emit(problem)


def _status_text(task: Task) -> str:
    text = task.status.value.replace("_", " ")
    if task.status is TaskStatus.RUNNING and task.paused_at is not None:
        return "paused (frozen by Pause)"
    if task.status is TaskStatus.RUNNING and task.progress > 0:
        return f"{text} {task.progress:.0%}"
    return text


def _note(task: Task) -> str:
    if task.duplicate_of is not None:
        return f"Same content as {os.fsdecode(task.duplicate_of)}"
    if task.reason:
        return f"Skipped: {task.reason.replace('_', ' ')}"
    return ""


def _history_text(history: TaskHistory, task: Task) -> str:
    lines = []
    for step in history.of(task):
        line = f"{when(step.at)}  attempt {step.attempt}: {step.what.replace('_', ' ')}"
        if step.error:
            line += f" ({step.error})"
        lines.append(line)
    if not lines and not task.status.is_final:
        lines.append("waiting for a worker")
    return "\n".join(lines)
