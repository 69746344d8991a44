"""Remembering what a batch made, for incremental runs (scan/incremental.py reads it).

    engine event task_completed (loop thread) ─► a worker thread: re-stat the
        file; unchanged since the scan? ─► its content hash (known, or hashed
        now) ─► cache.remember_hash + remember_result ─► the store writes them
        with the journal's next flush (store/cache.py)
    flush() ─► waits until every completed task so far is remembered

A file that changed while it was processed is not remembered: its result
belongs to content that no longer exists.
"""

from __future__ import annotations

import asyncio
import logging

from batchgui.core.files import content_hash, fingerprint_of
from batchgui.core.models import Batch, Task
from batchgui.core.processor import BatchProcessor
from batchgui.scan.incremental import ResultCache

log = logging.getLogger(__name__)


class ResultRecorder:
    """Remembers each completed task of a batch in the cache, hashing on a thread."""

    def __init__(
        self, processor: BatchProcessor, batch: Batch, cache: ResultCache, op_key: str
    ) -> None:
        self._batch, self._cache, self._op_key = batch, cache, op_key
        self._pending: set[asyncio.Future[None]] = set()
        self._signal = processor.events.task_completed
        self._signal.connect(self._completed)

    def _completed(self, task: Task) -> None:
        if task.batch is not self._batch or task.fingerprint is None:
            return
        future = asyncio.ensure_future(asyncio.to_thread(self._record, task))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _record(self, task: Task) -> None:
        try:
            now = fingerprint_of(task.path)
            if now != task.fingerprint:
                log.info("%s changed while it was processed; its result is not reused", task.path)
                return
            digest = task.content_hash or content_hash(task.path)
        except OSError as exc:
            log.warning("cannot remember the result for %s: %s", task.path, exc)
            return
        self._cache.remember_hash(task.path, now, digest)
        self._cache.remember_result(digest, self._op_key, task.outputs, task.data)

    async def flush(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Remember what is still being hashed, then stop listening to the engine
        (the window's engine outlives each batch's session)."""
        self._signal.disconnect(self._completed)
        await self.flush()
