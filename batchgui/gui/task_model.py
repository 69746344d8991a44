"""The task list's model: every task of the shown batch, sorted and filtered here.

A QAbstractTableModel over a plain list of Task objects (no item per cell,
no QSortFilterProxyModel: with 100,000 rows a proxy's Python `data()` calls
take seconds; sorting the list in the model takes milliseconds). The bridge
calls `tasks_changed(tasks)` at most 20 times a second; the model turns that
into one dataChanged per contiguous run of visible rows, or a re-sort/refilter
when a sorted or filtered column may have moved.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication

from batchgui.core.models import Task, TaskStatus
from batchgui.gui.colours import readable
from batchgui.gui.icons import status_icon
from batchgui.gui.names import shown, shown_line
from batchgui.session import units

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "Status", "Priority", "Attempts", "Duration", "Output / error")
NAME, STATUS, PRIORITY, ATTEMPTS, DURATION, RESULT = range(len(COLUMNS))

_STATUS_ORDER = {s: i for i, s in enumerate(TaskStatus)}


def _sort_key(column: int):
    if column == NAME:
        return lambda t: t.name.lower()
    if column == STATUS:
        return lambda t: _STATUS_ORDER[t.status]
    if column == PRIORITY:
        return lambda t: -int(t.priority)
    if column == ATTEMPTS:
        return lambda t: t.attempts
    if column == DURATION:
        return lambda t: t.duration_s if t.duration_s is not None else -1.0
    return lambda t: (t.error or "") + " ".join(os.fsdecode(p) for p in t.outputs)


class TaskTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list[Task] = []
        self._rows: list[Task] = []  # what is shown: filtered and sorted
        self._row_of: dict[int, int] = {}  # task id -> row
        self._filter: frozenset[TaskStatus] | None = None
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._error_colour: tuple[int, QBrush] | None = None  # (background it suits, brush)

    # --- feeding ------------------------------------------------------------------
    def set_tasks(self, tasks: Iterable[Task]) -> None:
        self.beginResetModel()
        self._all = list(tasks)
        self._rebuild()
        self.endResetModel()

    def tasks(self) -> list[Task]:
        return list(self._all)

    def tasks_changed(self, tasks: Iterable[Task]) -> None:
        """Repaint these tasks' rows; re-sort or re-filter if their place may change."""
        changed = [self._row_of[t.id] for t in tasks if t.id in self._row_of]
        moving = self._filter is not None or (self._sort is not None and self._sort[0] != NAME)
        if moving:
            self.layoutAboutToBeChanged.emit()
            persistent = self.persistentIndexList()
            held = [
                (self._rows[i.row()] if i.row() < len(self._rows) else None, i.column())
                for i in persistent
            ]
            self._rebuild()
            self.changePersistentIndexList(
                persistent,
                [
                    self.index(self._row_of[t.id], col)
                    if t is not None and t.id in self._row_of
                    else QModelIndex()
                    for t, col in held
                ],
            )
            self.layoutChanged.emit()
            return
        for first, last in _runs(sorted(changed)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def set_status_filter(self, statuses: Iterable[TaskStatus] | None) -> None:
        self.beginResetModel()
        self._filter = frozenset(statuses) if statuses is not None else None
        self._rebuild()
        self.endResetModel()

    def task_at(self, row: int) -> Task:
        return self._rows[row]

    def _rebuild(self) -> None:
        rows = (
            self._all
            if self._filter is None
            else [t for t in self._all if t.status in self._filter]
        )
        if self._sort is not None:
            column, order = self._sort
            rows = sorted(
                rows, key=_sort_key(column), reverse=order == Qt.SortOrder.DescendingOrder
            )
        self._rows = list(rows)
        self._row_of = {t.id: i for i, t in enumerate(self._rows)}

    # --- Qt's side ------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order) if column >= 0 else None  # -1: scan order
        self._rebuild()
        self.layoutChanged.emit()

    def _error_brush(self) -> QBrush:
        """Red, as dark or light as the palette's background needs to read it."""
        base = QGuiApplication.palette().base().color()
        if self._error_colour is None or self._error_colour[0] != base.rgb():
            self._error_colour = (base.rgb(), QBrush(readable(QColor(200, 40, 40), base)))
        return self._error_colour[1]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        task = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown_line(_display(task, column))
        if role == Qt.ItemDataRole.DecorationRole and column == STATUS:
            return status_icon(task.status, task.paused_at is not None)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == NAME:
                return shown(task.path)
            if column == RESULT:
                return shown(_display(task, RESULT))
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and column == RESULT
            and task.error
            and task.status is TaskStatus.FAILED
        ):
            return self._error_brush()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (ATTEMPTS, DURATION):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(task: Task, column: int) -> str:
    if column == NAME:
        return task.name
    if column == STATUS:
        text = task.status.value.replace("_", " ")
        if task.status is TaskStatus.RUNNING and task.paused_at is not None:
            text = "paused"  # frozen by Pause: not working, its clock stopped
        if task.status is TaskStatus.RUNNING and task.progress > 0:
            return f"{text} {task.progress:.0%}"
        if task.reason:
            return f"{text} ({task.reason.replace('_', ' ')})"
        return text
    if column == PRIORITY:
        return task.priority.name.lower()
    if column == ATTEMPTS:
        return str(task.attempts)
    if column == DURATION:
        if task.status is TaskStatus.RUNNING and task.started_at:
            return f"{task.running_s(time.time()):.1f} s"
        return "" if task.duration_s is None else f"{task.duration_s:.2f} s"
    if task.error and task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        kind = units.words(task.error_kind.value) if task.error_kind else "Error"
        return f"{kind}: {task.error}"
    if task.error and task.status in (TaskStatus.RETRY_WAIT, TaskStatus.PENDING):
        return f"will retry after: {task.error}"
    if task.outputs:
        first = os.fsdecode(task.outputs[0].name)
        return first if len(task.outputs) == 1 else f"{first} (+{len(task.outputs) - 1})"
    if task.duplicate_of is not None:
        return f"same as {os.fsdecode(task.duplicate_of.name)}"
    return ""


def _runs(rows: list[int]) -> Iterable[tuple[int, int]]:
    """[1, 2, 3, 7, 8] -> (1, 3), (7, 8)"""
    if not rows:
        return
    start = prev = rows[0]
    for row in rows[1:]:
        if row == prev + 1:
            prev = row
        else:
            yield start, prev
            start = prev = row
    yield start, prev
