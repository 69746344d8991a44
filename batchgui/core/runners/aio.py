"""Async mode: coroutine operations awaited on the engine's own event loop.

The unit runs inside the asyncio task the scheduler created for it; each
call is awaited in turn under `asyncio.timeout`, whose clock Pause stops
while the job is frozen. Cancelling a running job
cancels that task (the operation's `finally` kills its child processes), and
the CancelledError is absorbed here so the rest of the unit carries on.
A blocking (non-async) operation asked to run in async mode is handed to
the thread runner instead: blocking the loop would freeze everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.operation import TaskContext, invoke_async
from batchgui.core.runners.base import (
    Job,
    Outcome,
    Runner,
    error_result,
    failed,
    hash_outputs,
    outcome_of,
    requeued,
)
from batchgui.core.runners.threads import ThreadRunner

_NO_LIMIT = contextlib.nullcontext()  # stateless: one for every call without a time limit


class AsyncRunner(Runner):
    mode = "async"

    def __init__(self, blocking: ThreadRunner) -> None:
        self._blocking = blocking
        self._current: dict[Job, asyncio.Task[Any]] = {}
        self._deadlines: dict[Job, asyncio.Timeout] = {}
        self._time_left: dict[Job, float] = {}  # frozen jobs: seconds left of their limit

    async def run(self, jobs: list[Job]) -> list[Outcome]:
        if not jobs[0].spec.is_async:
            return await self._blocking.run(jobs)
        me = asyncio.current_task()
        assert me is not None
        outcomes: list[Outcome] = []
        for index, job in enumerate(jobs):
            if job.frozen:  # Pause came before its turn: it and the rest go back to the queue
                outcomes.extend(requeued() for _ in jobs[index:])
                break
            if job.cancel_requested:
                outcomes.append(failed(ErrorKind.CANCELLED, "cancelled before it started"))
                continue
            self._current[job] = me
            try:
                outcomes.append(await self._call(job))
            finally:
                del self._current[job]
        return outcomes

    async def _call(self, job: Job) -> Outcome:
        task = job.task
        ctx = TaskContext(
            job.cancel_event,
            _progress_reporter(job),
            job.set_child,
            root=task.root,
            seq=task.seq,
            thawed=job.thawed,
            guard=job.guard,
            batch_id=job.task.batch.id if job.task.batch else None,
        )
        start = time.perf_counter()
        # no limit, no asyncio.timeout (a few microseconds a task; freeze and thaw
        # find no deadline to move)
        deadline = asyncio.timeout(job.timeout_s) if job.timeout_s is not None else None
        if deadline is not None:
            self._deadlines[job] = deadline
        try:
            async with deadline or _NO_LIMIT:
                outputs, data = await invoke_async(
                    job.spec, task.path, job.out_dir, job.options, ctx
                )
        except TimeoutError as exc:
            if deadline is not None and deadline.expired():
                return failed(ErrorKind.TIMEOUT, f"timed out after {job.timeout_s:g} s")
            return outcome_of(error_result(exc, False, time.perf_counter() - start))
        except asyncio.CancelledError:
            if not job.cancel_requested:
                raise  # the engine itself is shutting down
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            return failed(ErrorKind.CANCELLED, "cancelled while running")
        except Exception as exc:
            return outcome_of(error_result(exc, job.cancel_requested, time.perf_counter() - start))
        finally:
            self._deadlines.pop(job, None)
            self._time_left.pop(job, None)
        seconds = time.perf_counter() - start
        hashes = await asyncio.to_thread(hash_outputs, outputs) if outputs else {}
        return Outcome(outputs=outputs, data=data, duration_s=seconds, output_hashes=hashes)

    def freeze(self, jobs: list[Job]) -> None:
        self._blocking.freeze([job for job in jobs if not job.spec.is_async])
        mine = [job for job in jobs if job.spec.is_async]
        super().freeze(mine)
        loop = asyncio.get_running_loop()
        for job in mine:  # a limit counts running time: stop its clock while frozen
            deadline = self._deadlines.get(job)
            when = deadline.when() if deadline is not None else None
            if deadline is not None and when is not None:
                self._time_left[job] = when - loop.time()
                deadline.reschedule(None)

    def thaw(self, jobs: list[Job]) -> None:
        self._blocking.thaw([job for job in jobs if not job.spec.is_async])
        mine = [job for job in jobs if job.spec.is_async]
        super().thaw(mine)
        loop = asyncio.get_running_loop()
        for job in mine:
            left = self._time_left.pop(job, None)
            deadline = self._deadlines.get(job)
            if left is not None and deadline is not None:
                deadline.reschedule(loop.time() + max(0.0, left))

    def cancel(self, job: Job) -> None:
        if not job.spec.is_async:
            return  # the thread runner's flag is already set
        running = self._current.get(job)
        if running is not None:
            running.cancel()

    async def aclose(self, kill: bool = False) -> None:
        if kill:
            for running in set(self._current.values()):
                running.cancel()


def _progress_reporter(job: Job) -> Callable[[float], None] | None:
    if job.on_progress is None:
        return None
    report, task = job.on_progress, job.task
    return lambda fraction: report(task, fraction)
