"""What happened to a task, step by step, for the details pane.

    engine events (not coalesced) ─► TaskHistory ─► steps[task id]:
        (wall time, what, attempt, error) for every step off the plain path:
        a retry scheduled, a run put back in the queue, a second attempt
        started, a failure, a cancel; and the end of a task that had any of them

A task that ran once and completed has no steps here: its start, end and
duration are on the task itself, and the pane builds its history from them.
Recording only the unusual keeps 100,000 plain tasks free of any cost beyond
one attribute test each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from batchgui.core.models import Task, TaskStatus
from batchgui.core.processor import BatchProcessor


@dataclass(frozen=True)
class Step:
    at: float  # wall clock
    what: str
    attempt: int
    error: str | None = None


class TaskHistory:
    def __init__(self, processor: BatchProcessor) -> None:
        self.steps: dict[int, list[Step]] = {}
        events = processor.events
        events.task_started.connect(self._started)
        events.task_retrying.connect(self._retrying)
        events.task_requeued.connect(self._requeued)
        events.task_failed.connect(self._ended)
        events.task_cancelled.connect(self._ended)
        events.task_completed.connect(self._ended)

    def _add(self, task: Task, what: str, error: str | None = None) -> None:
        self.steps.setdefault(task.id, []).append(Step(time.time(), what, task.attempts, error))

    def _started(self, task: Task) -> None:
        if task.attempts > 1 or task.id in self.steps:
            self._add(task, "started")

    def _retrying(self, task: Task, delay_s: float) -> None:
        self._add(task, f"failed, retrying in {delay_s:.1f} s", task.error)

    def _requeued(self, task: Task) -> None:
        self._add(task, "back in the queue (not charged)")

    def _ended(self, task: Task) -> None:
        if task.status is not TaskStatus.COMPLETED or task.id in self.steps:
            self._add(task, task.status.value, task.error)

    def of(self, task: Task) -> list[Step]:
        """Every known step: the recorded ones, or the plain path from the task's times."""
        recorded = self.steps.get(task.id)
        if recorded:
            return list(recorded)
        steps = []
        if task.started_at is not None:
            steps.append(Step(task.started_at, "started", max(1, task.attempts)))
        if task.status.is_final and task.finished_at is not None:
            steps.append(Step(task.finished_at, task.status.value, task.attempts, task.error))
        return steps
