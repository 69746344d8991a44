"""Thread mode: blocking operations on a pool of daemon threads.

    run(jobs) ─► WorkerThreads.submit(run_unit) ─► one thread runs the unit's
                 calls in order ─► concurrent Future ─► wrap_future ─► outcomes

Why not ThreadPoolExecutor: its threads are joined at interpreter exit, so
one operation stuck in a read would keep batchgui from ever exiting, and it
cannot grow past `max_workers` to replace a thread that timed out. These
threads are daemons, and a new one starts whenever none is idle; the engine's
worker limit, not the pool, bounds how many run at once.

A frozen job (Pause: its external command stopped with SIGSTOP) does not use
up its time limit. A timed-out call cannot be killed: its cancel flag is set
(a cooperative operation returns), the engine marks it `timeout` and frees its slot, and the
thread finishes in the background without holding up the batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.memory import MemoryGuard
from batchgui.core.operation import TaskContext
from batchgui.core.runners.base import (
    NOT_BEGUN,
    Job,
    Outcome,
    Result,
    Runner,
    error_result,
    execute_call,
    failed,
    outcome_of,
)

log = logging.getLogger(__name__)

_FROZEN_POLL_S = 0.1


class WorkerThreads:
    """A minimal executor of daemon threads that grows on demand."""

    def __init__(self, name: str = "batchgui-worker") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future[Any]:
        if self._closed:
            raise RuntimeError("worker threads are shut down")
        future: cf.Future[Any] = cf.Future()
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            else:
                thread = threading.Thread(
                    target=self._work, daemon=True, name=f"{self._name}-{len(self._threads) + 1}"
                )
                self._threads.append(thread)
                thread.start()
        self._queue.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            del item, future, fn, args
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Idle threads exit; busy ones exit after their current call."""
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)


def run_unit_in_thread(
    calls: list[tuple[Job, TaskContext]], memory: MemoryGuard | None = None
) -> list[Result]:
    results: list[Result] = []
    for index, (job, ctx) in enumerate(calls):
        if job.frozen:
            # Pause came before its turn in this unit: Pause starts nothing new, so
            # it and the rest go back to the queue, and what the unit did is told now
            results.extend(NOT_BEGUN for _ in calls[index:])
            break
        if job.cancel_requested:
            results.append(
                (
                    "err",
                    "cancelled before it started",
                    ErrorKind.CANCELLED.value,
                    True,
                    0.0,
                    None,
                    {},
                )
            )
            continue
        task = job.task
        if memory is None:
            results.append(execute_call(job.spec, task.path, job.out_dir, job.options, ctx))
            continue
        try:
            with memory.watching(job):
                result = execute_call(job.spec, task.path, job.out_dir, job.options, ctx)
        except MemoryError as exc:  # raised by the guard just as the call returned
            result = error_result(exc, False, 0.0)
        results.append(result)
    return results


def _memory_verdict(job: Job, outcome: Outcome) -> Outcome:
    """A task stopped by the memory cap together with others may be innocent: retry it."""
    if job.memory_interrupted:
        outcome.error = f"stopped: the process passed its memory limit ({outcome.error})"
        outcome.permanent = job.memory_interrupted == 1
        job.memory_interrupted = 0
    return outcome


class ThreadRunner(Runner):
    mode = "thread"

    def __init__(
        self, threads: WorkerThreads | None = None, memory_limit: int | None = None
    ) -> None:
        self._threads = threads or WorkerThreads()
        self._memory = MemoryGuard(memory_limit) if memory_limit else None

    async def run(self, jobs: list[Job]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        calls = [(job, self._context(job, loop)) for job in jobs]
        future = asyncio.wrap_future(self._threads.submit(run_unit_in_thread, calls, self._memory))
        timeout = jobs[0].timeout_s if len(jobs) == 1 else None
        if timeout is None:
            return self._outcomes(jobs, await future)
        job, start = jobs[0], time.monotonic()
        while True:  # the limit counts running time: time frozen (its command stopped) is added
            now = time.monotonic()
            left = start + timeout + job.frozen_s(now) - now
            if left <= 0 and not job.frozen:
                break
            done, _ = await asyncio.wait({future}, timeout=_FROZEN_POLL_S if job.frozen else left)
            if done:
                return self._outcomes(jobs, future.result())
        job.cancel_event.set()  # a cooperative operation stops; its thread is left behind
        future.add_done_callback(_log_abandoned(job))
        return [failed(ErrorKind.TIMEOUT, f"timed out after {timeout:g} s")]

    @staticmethod
    def _outcomes(jobs: list[Job], results: list[Result]) -> list[Outcome]:
        return [_memory_verdict(j, outcome_of(r)) for j, r in zip(jobs, results, strict=True)]

    @staticmethod
    def _context(job: Job, loop: asyncio.AbstractEventLoop) -> TaskContext:
        on_progress = None
        if job.on_progress is not None:
            report, task = job.on_progress, job.task

            def on_progress(fraction: float) -> None:
                loop.call_soon_threadsafe(report, task, fraction)

        return TaskContext(
            job.cancel_event,
            on_progress,
            job.set_child,
            root=job.task.root,
            seq=job.task.seq,
            thawed=job.thawed,
            guard=job.guard,
            batch_id=job.task.batch.id if job.task.batch else None,
        )

    async def aclose(self, kill: bool = False) -> None:
        self._threads.shutdown()


def _log_abandoned(job: Job) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            log.info(
                "timed-out task %s finished late in its thread; its result was dropped",
                job.task.path,
            )

    return done
