"""One batch's life on an engine, the same under the window and the CLI.

    prepare_batch(settings, spec, store[, scanned])    blocking: a worker thread
        │   scan (or the preview's scan result), filters, duplicates, unchanged
        │   files, planned outputs checked, the output folder made ─► a Batch
        ▼
    BatchSession(store, data_dir, batch)
        ├─► lock()            another batchgui has it: StoreError, one line
        ├─► start(processor, spec, save=...)   saved in the store (a new batch),
        │       locked, its journal started (state flushed every 250 ms), its
        │       results remembered for incremental runs, submitted
        ├─► pause() / drain() / resume() / stop(mode) / wait()   the front end's
        │       buttons and signals (stop: session/stopping.py)
        └─► close()   the results still being remembered, then the journal's
                      last flush, then the lock released; safe to call twice,
                      and after a failed start

The session owns the lock, the journal and the recorder; the front end owns
the engine (the window runs several batches on one) and the store (one per
process). Closing the recorder before the journal makes sure the last results
reach the store with the final flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from batchgui.core.models import Batch, Priority
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import BatchProcessor
from batchgui.scan.duplicates import Duplicates
from batchgui.scan.incremental import operation_key
from batchgui.scan.prepare import prepare
from batchgui.scan.safety import ready_to_resume
from batchgui.scan.walk import Entry, absolute
from batchgui.session.recorder import ResultRecorder
from batchgui.session.settings import RunSettings, StopMode
from batchgui.session.stopping import stop
from batchgui.session.units import plural, visible
from batchgui.store import BatchJournal, BatchLock, Store


def prepare_batch(
    settings: RunSettings,
    spec: OperationSpec,
    store: Store | None,
    *,
    scanned: tuple[list[Entry], Duplicates] | None = None,
) -> Batch:
    """The batch these settings describe, ready to save and start. Blocking (it walks
    and hashes): off the event loop. `scanned`: what a preview already found for the
    same sources and filters, used instead of walking and hashing again.

    Raises ValueError (a bad filter), InputError (unusable paths, an unsafe output
    folder), StoreError, or OSError (the output folder cannot be made)."""
    options = settings.options
    check_here(spec, settings)
    out = absolute(settings.out)
    prepared = prepare(
        list(settings.sources),
        settings.filters.build(),
        out,
        spec=spec,
        options=options,
        on_exists=settings.on_exists,
        priority=Priority.parse(settings.priority),
        dedupe=settings.dedupe,
        force=settings.force,
        cache=store.results if store is not None and spec.incremental else None,
        made=store,
        op_key=operation_key(spec.name, options),
        scanned=scanned,
    )
    if spec.per_file_outputs or spec.finalize is not None:
        out.mkdir(parents=True, exist_ok=True)
    batch = Batch(
        spec.name,
        prepared.plan.tasks,
        options,
        mode=settings.engine_mode,
        out_root=out,
        base=prepared.plan.base,
        timeout_s=settings.timeout_s if settings.timeout_s is not None else spec.default_timeout_s,
        rate_per_s=settings.rate_per_s,
        settings=settings.to_json(),
    )
    batch.replaceable = prepared.batch_replaceable
    batch.left_out = left_out(prepared.entries)
    return batch


def check_here(spec: OperationSpec, settings: RunSettings) -> None:
    """What the operation needs of this computer (a command's program installed),
    unless the batch runs on a cluster; ValueError, one line."""
    if spec.preflight is not None and settings.cluster is None:
        spec.preflight(settings.options)


def ready_to_run_again(batch: Batch, spec: OperationSpec, store: Store | None) -> None:
    """A stored batch about to run again here (resume, retry): the existing-file rules
    (scan/safety.py), and what the operation needs of this computer (check_here).
    Blocking; ValueError (InputError among them) or StoreError, one line."""
    ready_to_resume(batch, spec, store)
    check_here(spec, RunSettings.of_batch(batch))


def left_out(entries: list[Entry]) -> dict[str, tuple[int, str]]:
    """The entries a scan left out, by reason: how many, and the first as an example."""
    found: dict[str, tuple[int, str]] = {}
    for entry in entries:
        if entry.reason is not None:
            count, example = found.get(entry.reason, (0, ""))
            if not example:
                name = entry.path.name + ("/" if entry.is_dir else "")
                example = f"{name}: {entry.detail}" if entry.detail else name
            found[entry.reason] = (count + 1, example)
    return found


def nothing_to_process(batch: Batch) -> str:
    """Why a batch has no task: nothing found, or what left each file out."""
    found = sum(count for count, _ in batch.left_out.values())
    if not found:
        return "nothing to process: no files in the paths given"
    reasons = "; ".join(
        f"{reason}: {count} (such as {visible(example)})"
        for reason, (count, example) in sorted(batch.left_out.items(), key=lambda kv: -kv[1][0])
    )
    return f"nothing to process: {plural(found, 'file')} found, all left out: {reasons}"


class BatchSession:
    def __init__(
        self,
        store: Store | None,
        data_dir: Path,
        batch: Batch,
        *,
        on_store_error: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.batch = batch
        self._on_store_error = on_store_error
        self._lock: BatchLock | None = None
        self._journal: BatchJournal | None = None
        self._recorder: ResultRecorder | None = None
        self._processor: BatchProcessor | None = None

    @property
    def store_error(self) -> str | None:
        """Why the latest save of progress failed (None: saving works)."""
        return self._journal.error if self._journal is not None else None

    def lock(self) -> BatchSession:
        """Hold the batch's lock (blocking; StoreError if another process has it)."""
        if self._lock is None and self.store is not None:
            self._lock = BatchLock(self.data_dir, self.batch.id).acquire()
        return self

    async def start(
        self, processor: BatchProcessor, spec: OperationSpec, *, save: bool, paused: bool = False
    ) -> None:
        """Save (a new batch), lock, journal, remember results, submit. StoreError if
        the batch cannot be saved or locked: it is then not started."""
        if self.store is not None:
            if save:
                await asyncio.to_thread(self.store.create_batch, self.batch)
            await asyncio.to_thread(self.lock)
            self._journal = BatchJournal(
                self.store, processor, on_error=self._on_store_error, batch=self.batch
            )
            if spec.incremental:
                key = operation_key(spec.name, self.batch.options)
                self._recorder = ResultRecorder(processor, self.batch, self.store.results, key)
        self._processor = processor
        processor.submit(self.batch, spec, paused=paused)

    # --- control (on the loop thread) --------------------------------------------------
    def _engine(self) -> BatchProcessor:
        if self._processor is None:
            raise RuntimeError(f"batch {self.batch.id} has not been started")
        return self._processor

    def pause(self) -> bool:
        """Freeze running work where the system allows; False: it drains instead."""
        return self._engine().pause(self.batch)

    def drain(self) -> None:
        """Let running tasks finish; start no new ones."""
        self._engine().drain(self.batch)

    def resume(self) -> None:
        self._engine().resume(self.batch)

    async def stop(self, mode: StopMode, *, give_up: asyncio.Event | None = None) -> None:
        """Save, drain or kill (session/stopping.py)."""
        await stop(self._engine(), self.batch, mode, give_up=give_up)

    async def wait(self) -> Batch:
        return await self._engine().wait(self.batch)

    async def flush(self) -> None:
        """Save what changed now (a front end about to read the store)."""
        if self._journal is not None:
            await self._journal.flush()

    async def close(self) -> None:
        if self._recorder is not None:
            await self._recorder.aclose()
            self._recorder = None
        if self._journal is not None:
            await self._journal.aclose()
        self.release()

    def release(self) -> None:
        """Let go of the lock (the batch may be resumed elsewhere from now on)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
