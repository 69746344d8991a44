"""Plain-Python signals: how the engine tells the world what happened.

A `Signal` holds receivers and calls each with the arguments of `send`. The
engine owns one `EngineEvents` and sends every event from the asyncio loop's
thread (the thread that runs `BatchProcessor`), never from a worker thread or
process; a receiver may therefore read engine state without locks, but must
return quickly: the GUI bridge only records what changed and repaints on a
timer. A receiver that raises is logged and disconnected from nothing: the
engine carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Signal:
    __slots__ = ("_receivers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Callable[..., Any]] = []

    def connect(self, receiver: Callable[..., Any]) -> Callable[..., Any]:
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Callable[..., Any]) -> None:
        self._receivers.remove(receiver)

    def __bool__(self) -> bool:
        return bool(self._receivers)

    def send(self, *args: Any) -> None:
        for receiver in tuple(self._receivers):
            try:
                receiver(*args)
            except Exception:
                log.exception("receiver %r of %s failed", receiver, self.name)


class EngineEvents:
    """Every state change, each sent on the event-loop thread.

    Task events carry the `Task`; batch events carry the `Batch`.
    """

    def __init__(self) -> None:
        self.batch_added = Signal("batch_added")  # (batch) submitted to the engine
        self.task_started = Signal("task_started")  # (task) handed to a worker
        self.task_progress = Signal("task_progress")  # (task) task.progress changed
        self.task_completed = Signal("task_completed")  # (task)
        self.task_failed = Signal("task_failed")  # (task) final failure, error set
        self.task_retrying = Signal("task_retrying")  # (task, delay_s) waiting to retry
        self.task_requeued = Signal("task_requeued")  # (task) back to pending, no charge
        self.task_skipped = Signal("task_skipped")  # (task) reason set
        self.task_cancelled = Signal("task_cancelled")  # (task)
        self.task_reprioritised = Signal("task_reprioritised")  # (task)
        self.batch_paused = Signal("batch_paused")  # (batch)
        self.batch_resumed = Signal("batch_resumed")  # (batch)
        self.batch_finished = Signal("batch_finished")  # (batch) every task final

    def connect_task_changes(
        self, receiver: Callable[[Any], Any], *, progress: bool = False
    ) -> Callable[[], None]:
        """`receiver(task)` after any change of a task's state (and, with
        `progress`, of its progress): one place that knows the list. Returns
        what disconnects it again."""
        signals = [
            self.task_started,
            self.task_completed,
            self.task_failed,
            self.task_requeued,
            self.task_skipped,
            self.task_cancelled,
            self.task_reprioritised,
        ]
        if progress:
            signals.append(self.task_progress)
        for signal in signals:
            signal.connect(receiver)

        def retrying(task: Any, _delay: float) -> None:
            receiver(task)

        self.task_retrying.connect(retrying)

        def disconnect() -> None:
            for signal in signals:
                signal.disconnect(receiver)
            self.task_retrying.disconnect(retrying)

        return disconnect
