"""The one way engine events reach widgets: recorded as they come, delivered on a timer.

    BatchProcessor events ─► EngineBridge._mark (a set insert, nothing else)
    QTimer every 50 ms ─► tasks_changed(list of tasks) + stats_changed()
                        + batch_finished(batch) for batches that ended

The engine runs on the qasync loop, which is the Qt main thread, so events
arrive on the GUI thread already; the bridge's job is to coalesce: a
thousand tasks finishing in a second cost twenty repaints, never more
(at most 20 widget updates per second, docs/ARCHITECTURE.md). Signals are named for what
happened; receivers live in the main thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from batchgui.core.models import Batch, Task
from batchgui.core.processor import BatchProcessor

UPDATE_INTERVAL_MS = 50  # 20 updates a second at most


class EngineBridge(QObject):
    #: tasks whose state changed since the last update (each task once), a list: sent
    #: as an object (Signal(list) converted every element, ~1.3 ms per 5,000 tasks)
    tasks_changed = Signal(object)
    #: statistics may have changed (sent with every update while work runs)
    stats_changed = Signal()
    #: a batch ended (every task final); sent once per batch
    batch_finished = Signal(object)
    #: a batch was paused or resumed
    batch_state_changed = Signal(object)

    def __init__(self, processor: BatchProcessor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dirty: dict[int, Task] = {}
        self._finished: list[Batch] = []
        self._states: list[Batch] = []
        events = processor.events
        events.connect_task_changes(self._mark, progress=True)
        events.batch_finished.connect(self._batch_ended)
        events.batch_paused.connect(self._batch_state)
        events.batch_resumed.connect(self._batch_state)
        self._timer = QTimer(self)
        self._timer.setInterval(UPDATE_INTERVAL_MS)
        self._timer.timeout.connect(self._deliver)
        self._timer.start()
        self.updates = 0  # how many updates were delivered (tests and benchmarks)

    def _mark(self, task: Task) -> None:
        self._dirty[task.id] = task

    def _batch_ended(self, batch: Batch) -> None:
        self._finished.append(batch)

    def _batch_state(self, batch: Batch) -> None:
        self._states.append(batch)

    def _deliver(self) -> None:
        if not (self._dirty or self._finished or self._states):
            return
        tasks, self._dirty = list(self._dirty.values()), {}
        finished, self._finished = self._finished, []
        states, self._states = self._states, []
        self.updates += 1
        if tasks:
            self.tasks_changed.emit(tasks)
        self.stats_changed.emit()
        for batch in states:
            self.batch_state_changed.emit(batch)
        for batch in finished:
            self.batch_finished.emit(batch)

    def stop(self) -> None:
        self._timer.stop()
