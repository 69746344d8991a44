"""The pending tasks of one batch, in dispatch order.

Order: higher `Priority` first; within a priority, first in, first out. With
only four priorities, one FIFO deque per level does it in O(1): pop from the
highest level that has a live entry. Every entry carries `seq`, a counter
shared by all queues, so heads of different batches compare by
(-priority, arrival) and FIFO also holds across batches at equal priority.

Re-prioritising or removing a task marks its entry dead (it is dropped when
it reaches the front) and, for a new priority, appends a fresh entry: the
change takes effect at the next pop and the task goes to the back of its new
level. Pushing 100,000 tasks is a deque extend, not 100,000 heap pushes.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from batchgui.core.models import Priority, Task

_seq = itertools.count()
_LEVELS = sorted(Priority, reverse=True)  # URGENT first


class TaskQueue:
    def __init__(self) -> None:
        self._levels: dict[Priority, deque[list[Any]]] = {p: deque() for p in _LEVELS}
        self._entries: dict[int, list[Any]] = {}  # task id -> [seq, task or None when dead]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, task: Task) -> bool:
        return task.id in self._entries

    def push(self, task: Task) -> None:
        self.extend([task])

    def extend(self, tasks: list[Task]) -> None:
        entries = self._entries
        for task in tasks:
            old = entries.get(task.id)
            if old is not None:
                old[1] = None
            entry = [next(_seq), task]
            entries[task.id] = entry
            self._levels[task.priority].append(entry)

    def remove(self, task: Task) -> bool:
        entry = self._entries.pop(task.id, None)
        if entry is None:
            return False
        entry[1] = None
        return True

    def reprioritise(self, task: Task, priority: Priority) -> None:
        task.priority = priority
        if task.id in self._entries:
            self.push(task)

    def _front(self) -> tuple[Priority, list[Any]] | None:
        for level in _LEVELS:
            queue = self._levels[level]
            while queue and queue[0][1] is None:
                queue.popleft()
            if queue:
                return level, queue[0]
        return None

    def peek(self) -> Task | None:
        front = self._front()
        return None if front is None else front[1][1]

    def head_key(self) -> tuple[int, int] | None:
        """(negated priority, seq) of the next task: comparable across batches."""
        front = self._front()
        return None if front is None else (-int(front[0]), front[1][0])

    def pop(self) -> Task | None:
        front = self._front()
        if front is None:
            return None
        level, entry = front
        self._levels[level].popleft()
        task: Task = entry[1]
        del self._entries[task.id]
        return task
