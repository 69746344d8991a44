"""Process mode: CPU-bound operations in spawned worker processes.

    run(jobs) ─► _Pool.executor (ProcessPoolExecutor, spawn) ─► worker:
                 run_unit_in_process writes "pid, task, child, start" into its
                 slot of a shared array before each call and clears it after
    watchdog (on the loop, every 50 ms while work is out) reads the slots,
                 forwards each task's progress (ctx.progress) to the engine, and:
                 a task past its timeout, or cancelled, gets its worker (and the
                 worker's child process group) SIGKILLed

A worker that dies breaks the whole ProcessPoolExecutor: every future of the
pool fails with BrokenProcessPool, and the executor kills the other workers.
The slots say which task each worker was running when that happened:
- we killed it (timeout, cancel): that task gets its verdict, all others are
  innocent and re-run free;
- exactly one task was running: it is the culprit and is charged a crash;
- several were running: each suspect is re-run alone in a one-worker pool, so
  a second death names the culprit without charging the innocent;
- tasks waiting in a broken unit, or done but whose results died with it,
  re-run free.
Pause freezes a task by stopping its worker and its command's process group
(SIGSTOP) and resume continues both (SIGCONT); a frozen task's time limit
stands still. A fresh pool replaces a broken one for the next unit. Raising the worker limit
past the pool's size starts a bigger pool; the old one drains and shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.memory import MemoryGuard
from batchgui.core.operation import OperationSpec, TaskContext, spec_of
from batchgui.core.platform import processes as platform_processes
from batchgui.core.platform import workers
from batchgui.core.runners import DEFAULT_MEMORY_LIMIT
from batchgui.core.runners.base import (
    Job,
    Outcome,
    Result,
    Runner,
    describe_exception,
    error_result,
    execute_call,
    failed,
    killed_outcome,
    outcome_of,
    requeued,
)

log = logging.getLogger(__name__)

# per slot: worker pid, running task id (0: idle), child process group (0: none),
# progress of the running task in ten-thousandths (-1: none reported)
_FIELDS = 4
_WATCH_INTERVAL_S = 0.05
_MAX_BLIND_BREAKS = 3  # pools that die with no task running: workers cannot start

# --- inside a worker process -------------------------------------------------

_slots: Any = None
_starts: Any = None
_slot = -1
_memory_guard: MemoryGuard | None = None  # where the system cannot cap memory


def _init_worker(slots: Any, starts: Any, parent: int, memory_limit: int | None) -> None:
    global _slots, _starts, _slot
    # Ctrl-C in a terminal reaches the whole process group; the main process
    # decides what happens to running work, so workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a library's warning about a file (Pillow's "Corrupt EXIF data") would reach the
    # terminal raw: a worker has no log; the task's verdict says what matters. An
    # operation that turns a warning into an error (catch_warnings) still gets it.
    warnings.simplefilter("ignore")
    workers.die_with_parent(parent)
    if memory_limit and not workers.cap_memory(memory_limit):
        # no system cap here (macOS refuses RLIMIT_AS, Windows has none, the
        # portable strategy): a watchdog on this worker's own RSS raises the
        # MemoryError in the running call instead (core/memory.py)
        global _memory_guard
        _memory_guard = MemoryGuard(memory_limit)
    with slots.get_lock():
        raw = slots.get_obj()
        for index in range(len(raw) // _FIELDS):
            if raw[index * _FIELDS] == 0:
                raw[index * _FIELDS] = os.getpid()
                _slot = index
                break
    _slots, _starts = slots.get_obj(), starts


def _record_child(pgid: int | None) -> None:
    if _slot >= 0:
        _slots[_slot * _FIELDS + 2] = pgid or 0


def _record_progress(fraction: float) -> None:
    if _slot >= 0:
        _slots[_slot * _FIELDS + 3] = round(fraction * 10_000)


def run_unit_in_process(calls: list[tuple[Any, ...]]) -> list[Result]:
    results = []
    base = _slot * _FIELDS
    for task_id, func, src, out_dir, root, options, guard, batch_id, seq in calls:
        if _slot >= 0:
            _slots[base + 2] = 0
            _slots[base + 3] = -1
            _starts[_slot] = time.monotonic()
            _slots[base + 1] = task_id
        ctx = TaskContext(
            on_progress=_record_progress,
            on_child=_record_child,
            root=root,
            guard=guard,
            batch_id=batch_id,
            seq=seq,
        )
        results.append(_call(spec_of(func), src, out_dir, options, ctx))
        if _slot >= 0:
            _slots[base + 1] = 0
    return results


class _Watched:
    """What the memory watchdog marks when it stops a call (core/memory.py)."""

    memory_interrupted = 0


def _call(
    spec: OperationSpec, src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> Result:
    if _memory_guard is None:
        return execute_call(spec, src, out_dir, options, ctx)
    try:
        with _memory_guard.watching(_Watched()):
            return execute_call(spec, src, out_dir, options, ctx)
    except MemoryError as exc:  # raised by the watchdog just as the call returned
        return error_result(exc, False, 0.0)


# --- in the main process -------------------------------------------------------


class _Pool:
    """One ProcessPoolExecutor and the shared slots its workers report into."""

    def __init__(
        self, mp: multiprocessing.context.BaseContext, size: int, memory_limit: int | None = None
    ) -> None:
        self.size = size
        self.slots = mp.Array("q", size * _FIELDS)
        self.starts = mp.Array("d", size, lock=False)
        self.executor = ProcessPoolExecutor(
            size,
            mp_context=mp,
            initializer=_init_worker,
            initargs=(self.slots, self.starts, os.getpid(), memory_limit),
        )
        self.jobs: dict[int, Job] = {}  # task id -> job, while its unit is out
        self.killed: dict[int, ErrorKind] = {}  # task id -> why we killed its worker
        self.collateral: set[int] = set()  # task ids whose commands died with the pool
        self.descendants: set[int] = set()  # processes the workers had started when one died
        self.frozen: dict[int, tuple[int, int]] = {}  # task id -> (worker pid, child pgid) stopped
        self.units = 0
        self.broken = False
        self._verdict: dict[int, str] | None = None

    def progress(self) -> Iterator[tuple[int, float]]:
        """(task id, fraction) for every running task that has reported progress."""
        raw: Any = self.slots.get_obj()  # a ctypes array of c_longlong: ints
        for index in range(self.size):
            base = index * _FIELDS
            task_id, permyriad = raw[base + 1], raw[base + 3]
            if task_id and permyriad >= 0:
                yield task_id, permyriad / 10_000

    def running(self) -> Iterator[tuple[int, int, int, float]]:
        """(pid, task id, child pgid, start) for every worker inside a call."""
        raw: Any = self.slots.get_obj()
        for index in range(self.size):
            base = index * _FIELDS
            pid, task_id, child = raw[base], raw[base + 1], raw[base + 2]
            if pid and task_id:
                yield pid, task_id, child, self.starts[index]

    def verdict(self) -> dict[int, str]:
        """After the pool broke: task id -> 'culprit' or 'suspect'."""
        if self._verdict is None:
            running = {task_id for _, task_id, _, _ in self.running()}
            if self.killed:
                self._verdict = {}  # our own kill broke it: nobody else is to blame
            elif len(running) == 1:
                self._verdict = dict.fromkeys(running, "culprit")
            else:
                self._verdict = dict.fromkeys(running, "suspect")
        return self._verdict

    def kill(self, pid: int, task_id: int, child: int, why: ErrorKind) -> None:
        self.killed[task_id] = why
        self._note_descendants()  # before the pool breaks and its workers' children orphan
        if child:
            platform_processes.kill_tree(child)
        platform_processes.kill_process(pid)
        self._wake_executor()
        # The pool breaks now and the executor terminates its other workers
        # with SIGTERM, which a stopped process would hold until continued.
        self.thaw_all()

    def freeze(self, job: Job) -> bool:
        for pid, task_id, child, _ in self.running():
            if task_id == job.task.id and task_id not in self.killed:
                platform_processes.freeze_process(pid)
                if child:
                    platform_processes.freeze_tree(child)
                self.frozen[task_id] = (pid, child)
                return True
        return False

    def thaw(self, task_id: int) -> None:
        pid, child = self.frozen.pop(task_id, (0, 0))
        if child:
            platform_processes.thaw_tree(child)
        if pid:
            platform_processes.thaw_process(pid)

    def thaw_all(self) -> None:
        for task_id in list(self.frozen):
            self.thaw(task_id)
            job = self.jobs.get(task_id)
            if job is not None:
                job.mark_thawed()

    def _wake_executor(self) -> None:
        """Make the executor look at its workers again. CPython 3.11 wakes its
        manager thread before it spawns a worker for a new call, so the manager
        can be waiting on a list without the newest worker; if that is the one
        we killed, and no other worker ends, the death goes unnoticed and the
        pool never breaks. A wake-up makes it rebuild the list."""
        wakeup = getattr(self.executor, "_executor_manager_thread_wakeup", None)
        if wakeup is not None:
            with contextlib.suppress(OSError):
                wakeup.wakeup()

    def kill_commands(self) -> None:
        """The pool broke, so all its workers die: so must the commands they started
        (each in its own session, beyond the reach of the worker's death)."""
        for _, task_id, child, _ in list(self.running()):
            if child:
                self.collateral.add(task_id)
                platform_processes.kill_tree(child)
        # a command a worker started but had not yet recorded in its slot (frozen or
        # killed in between) is found among what the workers had started
        for descendant in self.descendants:
            platform_processes.kill_process(descendant)

    def _note_descendants(self) -> None:
        import psutil

        for pid, _, _, _ in list(self.running()):
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(pid).children(recursive=True):
                    self.descendants.add(child.pid)

    def kill_all(self) -> None:
        for pid, task_id, child, _ in list(self.running()):
            self.kill(pid, task_id, child, ErrorKind.CANCELLED)


class ProcessRunner(Runner):
    mode = "process"

    def __init__(
        self,
        capacity: int,
        start_method: str = "spawn",
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        # never fork: the parent may run Qt or threads (docs/ARCHITECTURE.md: threads and processes)
        if start_method == "fork":
            raise ValueError("process mode never forks; use spawn or forkserver")
        self._mp = multiprocessing.get_context(start_method)
        self._capacity = max(1, capacity)
        self._memory_limit = memory_limit
        self._pool: _Pool | None = None
        self._pools: list[_Pool] = []
        self._watchdog: asyncio.Task[None] | None = None
        self._isolation: asyncio.Lock | None = None
        self._blind_breaks = 0
        self._closing: set[asyncio.Task[Any]] = set()

    def set_capacity(self, workers: int) -> None:
        self._capacity = max(1, workers)

    async def run(self, jobs: list[Job]) -> list[Outcome]:
        pool = self._pool
        if pool is None or pool.broken or pool.size < self._capacity:
            if pool is not None:
                self._retire(pool)
            pool = self._pool = self._new_pool(self._capacity)
        return await self._run_in(pool, jobs)

    def _new_pool(self, size: int) -> _Pool:
        pool = _Pool(self._mp, size, self._memory_limit)
        self._pools.append(pool)
        return pool

    def _retire(self, pool: _Pool) -> None:
        if pool.units == 0 and pool in self._pools:
            self._pools.remove(pool)
            # The pool object must outlive its workers' start-up: they open its
            # shared slots' semaphore, which goes away with the object.
            closing = asyncio.get_running_loop().create_task(_shut_down(pool))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _run_in(self, pool: _Pool, jobs: list[Job]) -> list[Outcome]:
        calls = [
            (
                j.task.id,
                j.spec.func,
                j.task.path,
                j.task.out_dir,
                j.task.root,
                j.options,
                j.guard,
                j.task.batch.id if j.task.batch else None,
                j.task.seq,
            )
            for j in jobs
        ]
        for job in jobs:
            pool.jobs[job.task.id] = job
        pool.units += 1
        self._ensure_watchdog()
        try:
            results = await asyncio.wrap_future(pool.executor.submit(run_unit_in_process, calls))
        except BrokenProcessPool:
            pool.broken = True
            return await self._after_break(pool, jobs)
        except Exception as exc:  # the call could not be sent (an option that does not pickle)
            log.exception("could not hand %d task(s) to a worker process", len(jobs))
            return [
                failed(
                    ErrorKind.ERROR,
                    f"could not start in a worker process: {describe_exception(exc)}",
                )
                for _ in jobs
            ]
        finally:
            pool.units -= 1
            for job in jobs:
                pool.jobs.pop(job.task.id, None)
            if pool is not self._pool:
                self._retire(pool)
        self._blind_breaks = 0
        # a worker can answer before our SIGKILL reaches it, with the error its killed
        # command gave ("killed by SIGKILL"): the reason it was killed is the outcome
        # ... and once batchgui has killed a worker of this pool, the pool is being
        # torn down (its other workers terminated, their commands killed): an error
        # another task reports from it is that teardown, not the task's fault, so
        # it runs again, uncharged
        torn_down = bool(pool.killed) or bool(pool.collateral)
        return [
            killed_outcome(pool.killed[job.task.id], job)
            if job.task.id in pool.killed
            else requeued()
            if torn_down and r[0] != "ok"
            else outcome_of(r)
            for job, r in zip(jobs, results, strict=True)
        ]

    async def _after_break(self, pool: _Pool, jobs: list[Job]) -> list[Outcome]:
        verdict = pool.verdict()
        pool.kill_commands()
        if not verdict and not pool.killed:
            self._blind_breaks += 1
            if self._blind_breaks > _MAX_BLIND_BREAKS:
                return [
                    failed(
                        ErrorKind.CRASHED,
                        "worker processes die before running anything; see the log",
                    )
                    for _ in jobs
                ]
        outcomes = []
        for job in jobs:
            task_id = job.task.id
            if task_id in pool.killed:
                outcomes.append(killed_outcome(pool.killed[task_id], job))
            elif verdict.get(task_id) == "culprit":
                outcomes.append(
                    Outcome(
                        error="the worker process died while processing this file",
                        kind=ErrorKind.CRASHED,
                    )
                )
            elif verdict.get(task_id) == "suspect":
                outcomes.append(await self._run_alone(job))
            else:
                outcomes.append(requeued())
        return outcomes

    async def _run_alone(self, job: Job) -> Outcome:
        """Re-run a crash suspect in a pool of its own: if that one dies, it was this task."""
        if self._isolation is None:
            self._isolation = asyncio.Lock()
        async with self._isolation:
            if job.cancel_requested:
                return failed(ErrorKind.CANCELLED, "cancelled before it started")
            if job.guard is not None:  # what its first run wrote, it may replace
                job.guard.allow_since(job.task.started_at)
            pool = self._new_pool(1)
            try:
                [outcome] = await self._run_in(pool, [job])
            finally:
                self._retire(pool)
        return outcome

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while any(pool.units for pool in self._pools):
            self._enforce(time.monotonic())
            await asyncio.sleep(_WATCH_INTERVAL_S)

    def _enforce(self, now: float, only: Job | None = None) -> None:
        if only is None:
            self._forward_progress()
        for pool in self._pools:
            for pid, task_id, child, start in list(pool.running()):
                job = pool.jobs.get(task_id)
                if job is None or task_id in pool.killed or (only and job is not only):
                    continue
                if job.cancel_requested:
                    pool.kill(pid, task_id, child, ErrorKind.CANCELLED)
                elif (
                    job.timeout_s is not None
                    and not job.frozen
                    and now - start - job.frozen_s(now) > job.timeout_s
                ):
                    pool.kill(pid, task_id, child, ErrorKind.TIMEOUT)

    def _forward_progress(self) -> None:
        for pool in self._pools:
            for task_id, fraction in pool.progress():
                job = pool.jobs.get(task_id)
                if job is None or job.on_progress is None or job.task.progress == fraction:
                    continue
                job.on_progress(job.task, fraction)

    def cancel(self, job: Job) -> None:
        self._enforce(time.monotonic(), only=job)

    def freeze(self, jobs: list[Job]) -> None:
        """SIGSTOP each job's worker process and its command's process group."""
        for job in jobs:
            for pool in self._pools:
                if job.task.id in pool.jobs and pool.freeze(job):
                    job.mark_frozen()
                    break

    def thaw(self, jobs: list[Job]) -> None:
        for job in jobs:
            for pool in self._pools:
                if job.task.id in pool.frozen:
                    pool.thaw(job.task.id)
            job.mark_thawed()

    async def aclose(self, kill: bool = False) -> None:
        pools, self._pools, self._pool = list(self._pools), [], None
        for pool in pools:
            if kill:
                pool.kill_all()
            pool.thaw_all()  # a stopped worker would never finish or exit
        await asyncio.gather(*(_shut_down(pool) for pool in pools), *self._closing)


async def _shut_down(pool: _Pool) -> None:
    # joining the workers blocks; keep it off the loop (it may be the GUI thread)
    await asyncio.to_thread(pool.executor.shutdown, wait=True, cancel_futures=True)
