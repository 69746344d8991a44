"""Keeping the store in step with a running engine, in small batched transactions.

    engine events (loop thread) ─► mark the task (or batch) dirty
    every 250 ms, and at once when a batch ends ─► rows made on the loop
        (Store.task_rows, batch_rows), a slice per loop turn ─► Store.save_changes on the
        store's writer thread (one transaction)

So a thousand tasks finishing in a second cost four commits, not a thousand
fsyncs; a kill loses at most the last 250 ms of state, and those tasks simply
run again on resume. A failed write (disk full, read-only) is reported once
through `on_error` and retried with the next flush; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable

from batchgui.core.models import Batch, BatchStatus, Task, TaskStatus
from batchgui.core.processor import BatchProcessor
from batchgui.store.db import StoreError
from batchgui.store.store import MadeRow, Row, Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
ROWS_PER_TURN = 2000  # rows made per loop turn (~7 ms): the loop is the GUI thread
# Why rows are made here and not on the writer thread: tried (values taken on the loop,
# rows and JSON made on the writer), the writer's Python then held the GIL in long
# runs and the window's largest stall went from 22-24 ms to 43-56 ms (bench_gui,
# 100,000 tasks), with no gain in throughput. Sliced here, the loop decides when.


class BatchJournal:
    """Saves one batch's changes (or, without `batch`, every batch's on the engine)."""

    def __init__(
        self,
        store: Store,
        processor: BatchProcessor,
        on_error: Callable[[str], None] | None = None,
        *,
        batch: Batch | None = None,
    ) -> None:
        self._store = store
        self._on_error = on_error
        self._batch = batch
        self._dirty_tasks: dict[int, Task] = {}
        self._dirty_batches: dict[str, Batch] = {}
        self._wake = asyncio.Event()
        self._error: str | None = None
        self._closing = False
        events = processor.events
        disconnect_tasks = events.connect_task_changes(self._task_changed)
        batch_signals = (events.batch_added, events.batch_paused, events.batch_resumed)
        for signal in batch_signals:
            signal.connect(self._batch_changed)
        events.batch_finished.connect(self._batch_finished)

        def disconnect() -> None:
            disconnect_tasks()
            for signal in batch_signals:
                signal.disconnect(self._batch_changed)
            events.batch_finished.disconnect(self._batch_finished)

        self._disconnect: Callable[[], None] | None = disconnect
        self._flusher = asyncio.get_running_loop().create_task(self._run())

    @property
    def error(self) -> str | None:
        return self._error

    def _task_changed(self, task: Task) -> None:
        if self._batch is None or task.batch is self._batch:
            self._dirty_tasks[task.id] = task

    def _batch_changed(self, batch: Batch) -> None:
        if self._batch is None or batch is self._batch:
            self._dirty_batches[batch.id] = batch

    def _batch_finished(self, batch: Batch) -> None:
        if self._batch is None or batch is self._batch:
            self._dirty_batches[batch.id] = batch
            self._wake.set()  # the end of a batch is committed at once

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        # results remembered for incremental runs count too: the last ones come
        # after the last task's change (a run's final flush once dropped them)
        if not self._dirty_tasks and not self._dirty_batches and not self._store.results.pending():
            return
        tasks, self._dirty_tasks = self._dirty_tasks, {}
        batches, self._dirty_batches = self._dirty_batches, {}
        store = self._store
        changed = [t for t in tasks.values() if t.batch is not None]
        task_rows: list[Row] = []
        for start in range(0, len(changed), ROWS_PER_TURN):
            if start:  # tens of thousands of rows at once would hold up the window
                await asyncio.sleep(0)
            task_rows.extend(store.task_rows(changed[start : start + ROWS_PER_TURN]))
        batch_rows = store.batch_rows(list(batches.values()))
        made_rows = _made_rows(changed, batches.values())
        try:
            await store.save_changes(batch_rows, task_rows, made_rows)
        except StoreError as exc:
            # keep what failed; newer changes to the same task win
            self._dirty_tasks = {**tasks, **self._dirty_tasks}
            self._dirty_batches = {**batches, **self._dirty_batches}
            if self._error is None:
                self._error = str(exc)
                log.info("saving progress failed: %s", exc)  # the front end says it to the user
                if self._on_error is not None:
                    self._on_error(str(exc))
            return
        self._error = None

    async def aclose(self) -> None:
        """Stop the periodic flush after writing everything that changed."""
        self._closing = True
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._flusher
        await self.flush()
        if self._disconnect is not None:
            self._disconnect()  # nothing more of the engine's reaches this journal
            self._disconnect = None


def _made_rows(tasks: list[Task], batches: Iterable[Batch]) -> list[MadeRow]:
    """The files batchgui made: each finished task's outputs (hashed in the worker)
    and each finished batch's own outputs (a manifest, hashed on the writer)."""
    rows: list[MadeRow] = []
    for task in tasks:
        if task.output_hashes and task.status in (TaskStatus.COMPLETED, TaskStatus.SKIPPED):
            source = os.fsencode(task.path)
            rows.extend(
                (os.fsencode(path), digest, source) for path, digest in task.output_hashes.items()
            )
    for batch in batches:
        if batch.outputs and batch.status in (BatchStatus.FINISHED, BatchStatus.CANCELLED):
            rows.extend((os.fsencode(path), None, None) for path in batch.outputs)
    return rows
