"""The task list panel: a status filter, the table, and a context menu per task.

Actions that change work (retry, cancel, priority) are signals: the window
owns the engine. Opening files goes through QDesktopServices (the desktop's
own handler, gui/desktop.py), so nothing here reads or writes files.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from batchgui.core.models import Priority, Task, TaskStatus
from batchgui.gui.desktop import open_path
from batchgui.gui.task_model import COLUMNS, RESULT, TaskTableModel

_FILTERS = {
    "All": None,
    "Waiting": (TaskStatus.PENDING, TaskStatus.RETRY_WAIT),
    "Running": (TaskStatus.RUNNING,),
    "Completed": (TaskStatus.COMPLETED,),
    "Failed": (TaskStatus.FAILED,),
    "Skipped": (TaskStatus.SKIPPED,),
    "Cancelled": (TaskStatus.CANCELLED,),
}


class TaskPanel(QGroupBox):
    #: the user asked to retry / cancel these tasks
    retry_requested = Signal(list)
    cancel_requested = Signal(list)
    #: a stop point: pause the batch once this task ends
    pause_after_requested = Signal(object)
    #: (tasks, Priority) chosen from the menu
    priority_requested = Signal(list, object)
    #: the user asked for a task's details (double-click, Enter, the menu)
    details_requested = Signal(object)
    #: the current task changed (None: no task selected)
    current_changed = Signal(object)
    #: one line for the status bar
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tasks", parent)
        self.model = TaskTableModel(self)
        self.filter_combo = QComboBox(self)
        self.filter_combo.setObjectName("statusFilter")
        self.filter_combo.addItems(list(_FILTERS))
        self.filter_combo.setAccessibleName("Show tasks")
        self.filter_combo.setToolTip("Show only the tasks in this state")
        self.filter_combo.currentTextChanged.connect(
            lambda text: self.model.set_status_filter(_FILTERS[text])
        )
        self.table = QTableView(self)
        self.table.setObjectName("taskList")
        self.table.setModel(self.model)
        # no sort until the user asks: the tasks come in scan order, already by path
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.activated.connect(self._activated)  # Enter, and double-click
        self.table.doubleClicked.connect(self._activated)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)  # else Qt wraps at "/" and cuts the end off
        self.table.setAccessibleName("Tasks")
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.current_changed.emit(
                self.model.task_at(current.row()) if current.isValid() else None
            )
        )
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((220, 160, 70, 70, 80)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(RESULT, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        show = QLabel("&Show", self)
        show.setBuddy(self.filter_combo)
        top.addWidget(show)
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def _activated(self, index) -> None:
        if index.isValid():
            self.details_requested.emit(self.model.task_at(index.row()))

    def selected_tasks(self) -> list[Task]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [self.model.task_at(row) for row in sorted(rows)]

    def _menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        tasks = self.selected_tasks()
        if not tasks:
            return
        menu = self.build_menu(tasks)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def build_menu(self, tasks: list[Task]) -> QMenu:
        menu = QMenu(self)
        first = tasks[0]
        self._add(menu, "Details", lambda: self.details_requested.emit(first), len(tasks) == 1)
        self._add(menu, "Open file", lambda: self._open(first.path), len(tasks) == 1)
        self._add(
            menu,
            "Open output",
            lambda: self._open(first.outputs[0]),
            len(tasks) == 1 and bool(first.outputs),
        )
        self._add(menu, "Show in folder", lambda: self._open(first.path.parent), len(tasks) == 1)
        menu.addSeparator()
        retryable = [t for t in tasks if t.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)]
        self._add(menu, "Retry", lambda: self.retry_requested.emit(retryable), bool(retryable))
        live = [t for t in tasks if not t.status.is_final]
        self._add(menu, "Cancel", lambda: self.cancel_requested.emit(live), bool(live))
        self._add(
            menu,
            "Pause after this task",
            lambda: self.pause_after_requested.emit(first),
            len(tasks) == 1 and not first.status.is_final,
        )
        priority = menu.addMenu("Priority")
        waiting = [t for t in tasks if t.status in (TaskStatus.PENDING, TaskStatus.RETRY_WAIT)]
        priority.setEnabled(bool(waiting))
        for level in reversed(Priority):
            self._add(
                priority,
                level.name.capitalize(),
                # triggered(bool) passes `checked` first: without a parameter of its
                # own for it, it filled `level` and every choice meant LOW
                lambda _checked=False, level=level: self.priority_requested.emit(waiting, level),
                True,
            )
        return menu

    def _open(self, path) -> None:
        problem = open_path(path)
        if problem:
            self.message.emit(problem)

    def _add(self, menu: QMenu, text: str, slot, enabled: bool) -> QAction:
        action = menu.addAction(text)
        action.setEnabled(enabled)
        action.triggered.connect(slot)
        return action
