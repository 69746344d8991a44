"""One batch's life on an engine, the same under the window and the CLI.

    BatchSession(store, data_dir, batch) ─► lock()          (another batchgui has it:
        │                                                    StoreError, one line)
        ├─► start(processor, spec, save=...)  saved in the store (a new batch),
        │       its results remembered for incremental runs, submitted
        ├─► ... the front end waits, pauses, stops (session/stopping.py) ...
        └─► close()  the results still being remembered are written, the lock
                     released; safe to call twice, and after a failed start

The engine's journal (store/journal.py) belongs to the front end: the window
keeps one for all its batches, the CLI one per run. Closing the session before
the journal makes sure the last results reach the store with its final flush.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from batchgui.core.models import Batch
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import BatchProcessor
from batchgui.scan.incremental import operation_key
from batchgui.session.recorder import ResultRecorder
from batchgui.store import BatchLock, Store


class BatchSession:
    def __init__(self, store: Store | None, data_dir: Path, batch: Batch) -> None:
        self.store = store
        self.data_dir = data_dir
        self.batch = batch
        self._lock: BatchLock | None = None
        self._recorder: ResultRecorder | None = None

    def lock(self) -> BatchSession:
        """Hold the batch's lock (blocking; StoreError if another process has it)."""
        if self._lock is None and self.store is not None:
            self._lock = BatchLock(self.data_dir, self.batch.id).acquire()
        return self

    async def start(self, processor: BatchProcessor, spec: OperationSpec, *, save: bool) -> None:
        """Save (a new batch), lock, remember results, submit. StoreError if the batch
        cannot be saved or locked: it is then not started."""
        if self.store is not None:
            if save:
                await asyncio.to_thread(self.store.create_batch, self.batch)
            await asyncio.to_thread(self.lock)
            if spec.incremental:
                key = operation_key(spec.name, self.batch.options)
                self._recorder = ResultRecorder(processor, self.batch, self.store.results, key)
        processor.submit(self.batch, spec)

    async def close(self) -> None:
        if self._recorder is not None:
            await self._recorder.flush()
        self.release()

    def release(self) -> None:
        """Let go of the lock (the batch may be resumed elsewhere from now on)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
