"""The pending tasks of one batch, in dispatch order.

Order: higher `Priority` first; within a priority, first in, first out. A
heap of `(-priority, seq, task)` gives that: `heapq` pops the smallest key,
so the priority is negated (URGENT=3 becomes -3 and comes out first) and
`seq`, a counter taken on every push, breaks ties by arrival.

Re-prioritising a task pushes a fresh entry and marks the old one dead (it is
dropped when it reaches the top), so a change costs O(log n) and takes effect
at the next pop. A re-prioritised task goes to the back of its new level.
"""

from __future__ import annotations

import heapq
import itertools

from batchgui.core.models import Priority, Task

_DEAD = None
# One counter for every queue, so FIFO also holds across batches at equal priority.
_seq = itertools.count()


class TaskQueue:
    def __init__(self) -> None:
        self._heap: list[list] = []
        self._entries: dict[int, list] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, task: Task) -> bool:
        return task.id in self._entries

    def push(self, task: Task) -> None:
        if task.id in self._entries:
            self._entries.pop(task.id)[2] = _DEAD
        entry = [-int(task.priority), next(_seq), task]
        self._entries[task.id] = entry
        heapq.heappush(self._heap, entry)

    def extend(self, tasks: list[Task]) -> None:
        """Push many at once: one O(n) heapify instead of n pushes."""
        for task in tasks:
            if task.id in self._entries:
                self._entries.pop(task.id)[2] = _DEAD
            entry = [-int(task.priority), next(_seq), task]
            self._entries[task.id] = entry
            self._heap.append(entry)
        heapq.heapify(self._heap)

    def remove(self, task: Task) -> bool:
        entry = self._entries.pop(task.id, None)
        if entry is None:
            return False
        entry[2] = _DEAD
        return True

    def reprioritise(self, task: Task, priority: Priority) -> None:
        task.priority = priority
        if task.id in self._entries:
            self.push(task)

    def peek(self) -> Task | None:
        heap = self._heap
        while heap and heap[0][2] is _DEAD:
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def head_key(self) -> tuple[int, int] | None:
        """The (negated priority, seq) of the next task: comparable across batches."""
        if self.peek() is None:
            return None
        return self._heap[0][0], self._heap[0][1]

    def pop(self) -> Task | None:
        task = self.peek()
        if task is None:
            return None
        heapq.heappop(self._heap)
        del self._entries[task.id]
        return task
