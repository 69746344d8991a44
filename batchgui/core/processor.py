"""The batch engine: a priority queue per batch, one worker limit for all.

    submit(batch) ─► _BatchRun (queue, meter, chunker, followers) ─┐
                                                                    ▼
    _dispatch (on the loop, after any change): while a slot is free, take the
    best head of all running batches' queues (priority, then arrival), cut a
    unit of 1..n tasks from that batch, mark them running, and start
    _run_unit as an asyncio task
                                                         ▼
    _run_unit: await runner.run(jobs) ─► outcomes ─► _settle(task, outcome):
       verdicts.verdict() decides (completed / requeued free / crash charged /
       retry after backoff / failed / cancelled / halted), _settle carries it
       out ─► events ─► batch finished? ─► finalize, done

Everything here runs on one asyncio loop thread; workers (threads or
processes) only ever see Jobs through a runner, so the scheduler never holds
an executor slot itself and cannot deadlock on its own pool. A "slot" is one
unit in flight: tiny tasks travel in chunks (core/chunker.py) so per-task
overhead stays small, slow ones one at a time. Duplicates wait for their
originals (core/followers.py); runners are made per mode in core/runners/pool.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from batchgui.core import faults
from batchgui.core.chunker import Chunker
from batchgui.core.collector import heap
from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.events import EngineEvents
from batchgui.core.files import remove_batch_temp_files
from batchgui.core.followers import Followers, adopt
from batchgui.core.models import Batch, BatchStatus, Priority, Task, TaskStatus
from batchgui.core.operation import MODES, OperationSpec
from batchgui.core.outputs import DEFAULT_ON_EXISTS, WriteGuard, guarded, is_inside, real_folder
from batchgui.core.queue import TaskQueue
from batchgui.core.retry import RetryPolicy
from batchgui.core.runners import DEFAULT_MEMORY_LIMIT
from batchgui.core.runners.base import FREEZE_SUPPORTED, Job, Outcome, Runner
from batchgui.core.runners.pool import Runners
from batchgui.core.stats import Meter, Stats
from batchgui.core.verdicts import Attempt, Verdict, verdict

log = logging.getLogger(__name__)


_ENQUEUE_SLICE = 5000


def default_workers() -> int:
    return os.cpu_count() or 2


def _really_frozen(runner: Runner, job: Job) -> bool:
    """Whether Pause stopped this job's work: a command or a process worker is
    frozen, an async operation waits at its checkpoint; a thread's own code
    carries on to the end of its file."""
    if not job.frozen:
        return False
    return bool(job.child_pgid) or runner.mode == "process" or job.spec.is_async


def _clock_on(task: Task, now: float) -> None:
    """A frozen task runs again (or ended): its frozen time is left out of its clock."""
    if task.paused_at is not None:
        task.paused_s += now - task.paused_at
        task.paused_at = None


@dataclass(eq=False)
class _BatchRun:
    batch: Batch
    spec: OperationSpec
    runner: Runner
    meter: Meter
    queue: TaskQueue = field(default_factory=TaskQueue)
    chunker: Chunker = field(default_factory=Chunker)
    jobs: dict[int, Job] = field(default_factory=dict)  # running task id -> job
    retry_timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    units: int = 0  # units of this batch in flight (each holds one worker slot)
    followers: Followers = field(default_factory=Followers)
    next_start: float = 0.0  # rate limit: earliest monotonic time of the next start
    cancelling: bool = False
    pause_after: set[int] = field(default_factory=set)  # task ids: drain once one ends
    stop_after: int | None = None  # start this many more tasks, then drain
    drained_waiters: list[asyncio.Future[None]] = field(default_factory=list)
    finishing: asyncio.Task[None] | None = None
    done: asyncio.Future[Batch] | None = None
    out_real: str = ""  # the output folder's real path: no output leaves it
    out_root: str = ""
    on_exists: str = DEFAULT_ON_EXISTS

    def guard(self, replaceable: frozenset[str]) -> WriteGuard:
        """The write rules for one task of this batch (or its aggregate outputs)."""
        return WriteGuard(self.out_real, self.on_exists, replaceable, self.batch.replace_since)


class BatchProcessor:
    """Runs batches of tasks through operations, several batches at once.

    Create and use it on a running asyncio loop; every method is called and
    every event sent on that loop's thread.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        retry: RetryPolicy | None = None,
        start_method: str = "spawn",
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.events = EngineEvents()
        self.retry = retry or RetryPolicy()
        self._max_workers = max(1, max_workers or default_workers())
        # bytes (None: no cap): per process worker; in thread mode, what the
        # process may grow by while calls run (core/memory.py)
        self._runners = Runners(self._max_workers, start_method, memory_limit)
        self._runs: dict[str, _BatchRun] = {}
        self._unit_tasks: set[asyncio.Task[None]] = set()
        self._dispatch_scheduled = False
        self._rate_timer: asyncio.TimerHandle | None = None
        self._holding_heap = False  # core/collector.py: frozen while batches run
        self._closed = False

    # --- settings -------------------------------------------------------------
    @property
    def max_workers(self) -> int:
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        """Takes effect at once: more starts now; fewer lets surplus units finish."""
        self._max_workers = max(1, int(value))
        self._runners.set_capacity(self._max_workers)
        self._kick()

    def add_runner(self, runner: Runner) -> None:
        """Run batches whose mode is `runner.mode` on it (cluster mode); closed
        with the engine."""
        runner.set_capacity(self._max_workers)
        self._runners.add(runner)

    @property
    def in_flight(self) -> int:
        """Units running now, over all batches: each holds one worker slot."""
        return sum(run.units for run in self._runs.values())

    # --- batches ----------------------------------------------------------------
    def submit(self, batch: Batch, spec: OperationSpec, *, paused: bool = False) -> Batch:
        """Queue a batch; its pending tasks start as slots free up (unless `paused`)."""
        if self._closed:
            raise RuntimeError("the engine is closed")
        mode = spec.mode if batch.mode == "auto" else batch.mode
        if mode not in MODES and not self._runners.has(mode):  # cluster: add_runner first
            raise ValueError(f"unknown mode {batch.mode!r} (choose auto, {', '.join(MODES)})")
        batch.mode = mode
        for task in batch.tasks:
            task.out_dir = task.out_dir or batch.out_root
        run = _BatchRun(
            batch, spec, self._runners.for_mode(mode), Meter(t.size for t in batch.tasks)
        )
        run.chunker.target_s = run.runner.unit_target_s
        run.out_real = real_folder(batch.out_root)
        run.out_root = os.path.abspath(batch.out_root)
        run.on_exists = batch.settings.get("on_exists") or DEFAULT_ON_EXISTS
        run.done = asyncio.get_running_loop().create_future()
        self._runs[batch.id] = run
        self._keep_frozen()
        self._enqueue(run)
        batch.started_at = batch.started_at or time.time()
        batch.move_to(BatchStatus.PAUSED if paused else BatchStatus.RUNNING)
        if not paused:
            run.meter.running()
        self.events.batch_added.send(batch)
        # (a pass over 100,000 tasks costs the loop ~10 ms: only when there is
        # something to say or release)
        if batch.counts[TaskStatus.SKIPPED] or run.followers:
            for task in batch.tasks:
                if task.status is TaskStatus.SKIPPED:
                    self.events.task_skipped.send(task)
                if run.followers and task.status.is_final:
                    self._release_followers(run, task)
        self._check_finished(run)
        self._kick()
        return batch

    def _enqueue(self, run: _BatchRun) -> None:
        """Pending tasks go in the queue; a duplicate waits for its original instead."""
        pending = [t for t in run.batch.tasks if t.status is TaskStatus.PENDING]
        self._enqueue_in_slices(run, run.followers.split_off(run.batch.tasks, pending))

    def _enqueue_in_slices(self, run: _BatchRun, tasks: list[Task]) -> None:
        """Queue a first slice now and the rest on later loop turns, so 100,000
        tasks never hold the loop (the GUI thread) for more than a few ms at a
        time; the first tasks start meanwhile. Order is kept: later slices get
        later arrival numbers. Tasks cancelled before their slice is queued
        stay out."""
        run.queue.extend(tasks[:_ENQUEUE_SLICE])
        rest = tasks[_ENQUEUE_SLICE:]
        if rest:

            def next_slice() -> None:
                nonlocal rest
                part, rest = rest[:_ENQUEUE_SLICE], rest[_ENQUEUE_SLICE:]
                run.queue.extend([t for t in part if t.status is TaskStatus.PENDING])
                if rest:
                    asyncio.get_running_loop().call_soon(next_slice)
                self._kick()

            asyncio.get_running_loop().call_soon(next_slice)

    async def wait(self, batch: Batch) -> Batch:
        run = self._runs[batch.id]
        assert run.done is not None
        await asyncio.shield(run.done)
        return batch

    async def run(self, batch: Batch, spec: OperationSpec) -> Batch:
        self.submit(batch, spec)
        return await self.wait(batch)

    def batches(self) -> list[Batch]:
        return [run.batch for run in self._runs.values()]

    def has_batch(self, batch: Batch) -> bool:
        """Whether the batch was submitted here (and not yet forgotten)."""
        return batch.id in self._runs

    def stats(self, batch: Batch) -> Stats:
        """The batch's statistics. "Running" counts tasks at work: a chunk of tiny
        tasks holds one worker, so its tasks not yet reached count as pending."""
        run = self._runs[batch.id]
        stats = run.meter.snapshot(batch)
        waiting_in_chunks = stats.running - run.units
        if waiting_in_chunks > 0:
            stats = dataclasses.replace(
                stats, running=run.units, pending=stats.pending + waiting_in_chunks
            )
        return stats

    def pause(self, batch: Batch | None = None, *, freeze: bool = True) -> bool:
        """Stop starting tasks (of one batch, or all). With `freeze` (Pause), running
        work is frozen where it can be: process-mode workers and external commands
        get SIGSTOP, async operations wait at their next checkpoint, threads finish
        their current file. Without it (Drain) running tasks finish. Returns
        whether anything could be frozen this way (False where SIGSTOP does not
        exist: Pause falls back to Drain)."""
        freeze = freeze and FREEZE_SUPPORTED
        for run in self._selected(batch):
            if run.batch.status in (BatchStatus.RUNNING, BatchStatus.PENDING):
                run.batch.move_to(BatchStatus.PAUSED)
                run.meter.paused()
                self.events.batch_paused.send(run.batch)
            if freeze and run.batch.status is BatchStatus.PAUSED:
                run.runner.freeze([job for job in run.jobs.values() if not job.frozen])
                now = time.time()
                for job in run.jobs.values():
                    if job.task.paused_at is None and _really_frozen(run.runner, job):
                        job.task.paused_at = now  # its clock stops (the window shows it)
            self._check_drained(run)
        return freeze

    def drain(self, batch: Batch | None = None) -> None:
        """Finish the running tasks, start no new ones."""
        self.pause(batch, freeze=False)

    def resume(self, batch: Batch | None = None) -> None:
        for run in self._selected(batch):
            run.batch.halted = None
            self._thaw(run)
            if run.batch.status is BatchStatus.PAUSED:
                run.batch.move_to(BatchStatus.RUNNING)
                run.meter.running()
                self.events.batch_resumed.send(run.batch)
        self._kick()

    def _thaw(self, run: _BatchRun) -> None:
        frozen = [job for job in run.jobs.values() if job.frozen]
        run.runner.thaw(frozen)
        now = time.time()
        for job in frozen:
            _clock_on(job.task, now)

    async def drained(self, batch: Batch) -> None:
        """Return once the batch is paused with no task in flight (a drain, a stop
        point or a pause in which every running task has ended). A batch that
        finishes instead never gets here: wait on `wait(batch)` as well."""
        run = self._runs[batch.id]
        waiter = asyncio.get_running_loop().create_future()
        run.drained_waiters.append(waiter)
        self._check_drained(run)
        try:
            await waiter
        finally:
            if waiter in run.drained_waiters:
                run.drained_waiters.remove(waiter)

    def _check_drained(self, run: _BatchRun) -> None:
        if run.batch.status is BatchStatus.PAUSED and not run.jobs:
            waiters, run.drained_waiters = run.drained_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def frozen_count(self, batch: Batch) -> int:
        """Tasks of this batch frozen where they were by Pause."""
        return sum(1 for job in self._runs[batch.id].jobs.values() if job.frozen)

    def running_count(self, batch: Batch) -> int:
        """Tasks of this batch in flight now (frozen ones included)."""
        return len(self._runs[batch.id].jobs)

    def pause_after(self, task: Task) -> None:
        """A stop point: once this task ends, the batch drains (pauses)."""
        run = self._run_of(task)
        if task.status.is_final:
            self.drain(run.batch)
        else:
            run.pause_after.add(task.id)

    def stop_after(self, batch: Batch, count: int) -> None:
        """A stop point: start `count` more tasks (a retry is not a new one), then
        drain: the batch pauses once those have ended."""
        run = self._runs[batch.id]
        run.stop_after = max(0, int(count))
        if run.stop_after == 0:
            run.stop_after = None
            self.drain(batch)

    def _at_stop_point(self, run: _BatchRun, task: Task) -> None:
        """A task just ended: if it was a stop point, the batch stops starting tasks."""
        if task.id in run.pause_after:
            run.pause_after.discard(task.id)
            if run.batch.status is BatchStatus.RUNNING:
                self.drain(run.batch)

    def cancel_batch(self, batch: Batch | None = None) -> None:
        """Cancel every unfinished task of one batch (or of all)."""
        for run in self._selected(batch):
            run.cancelling = True
            self.cancel(t for t in run.batch.tasks if not t.status.is_final)

    def cancel(self, tasks: Iterable[Task]) -> None:
        """Pending tasks never start; running ones are stopped as their mode allows."""
        for task in list(tasks):
            run = self._run_of(task)
            if task.status is TaskStatus.PENDING:
                run.queue.remove(task)
                self._finish_cancelled(run, task, "cancelled before it started")
            elif task.status is TaskStatus.RETRY_WAIT:
                run.retry_timers.pop(task.id).cancel()
                self._finish_cancelled(run, task, "cancelled while waiting to retry")
            elif task.status is TaskStatus.RUNNING:
                job = run.jobs[task.id]
                job.request_cancel()
                run.runner.cancel(job)

    def retry_tasks(self, tasks: Iterable[Task]) -> None:
        """Put failed or cancelled tasks back in the queue with a fresh retry budget."""
        for task in list(tasks):
            if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
                continue
            run = self._run_of(task)
            run.meter.task_undone(task.size)
            task.attempts = task.crashes = 0
            task.error = task.error_kind = None
            task.move_to(TaskStatus.PENDING)
            run.queue.push(task)
            run.cancelling = False
            if run.batch.status in (BatchStatus.FINISHED, BatchStatus.CANCELLED):
                run.batch.move_to(BatchStatus.RUNNING)
                run.meter.running()
                run.done = asyncio.get_running_loop().create_future()
                self._keep_frozen()
            self.events.task_requeued.send(task)
        self._kick()

    def set_priority(self, task: Task, priority: Priority | str) -> None:
        """Takes effect at the next dispatch if the task is still waiting."""
        priority = Priority.parse(priority)
        self._run_of(task).queue.reprioritise(task, priority)
        self.events.task_reprioritised.send(task)
        self._kick()

    async def interrupt(self, grace_s: float = 5.0) -> None:
        """Stop now but stay resumable: nothing new starts, running work is stopped
        (killed where the mode allows; threads are asked and given `grace_s`) and
        goes back to pending without charge. Batches are left paused."""
        for run in self._runs.values():
            if run.batch.status is BatchStatus.RUNNING:
                run.batch.move_to(BatchStatus.PAUSED)
                run.meter.paused()
                self.events.batch_paused.send(run.batch)
            for job in list(run.jobs.values()):
                job.interrupted = True
                job.request_cancel()
                run.runner.cancel(job)
        if self._unit_tasks:
            await asyncio.wait(list(self._unit_tasks), timeout=grace_s)

    async def aclose(self, kill: bool = False) -> None:
        """Shut down. Without `kill`, running work finishes first; with it, running
        work is stopped at once and goes back to pending (as `interrupt`), so the
        batches stay resumable. Nothing queued is cancelled either way."""
        if kill:
            await self.interrupt(grace_s=2.0)
            for unit in list(self._unit_tasks):  # a thread that would not stop
                unit.cancel()
        else:
            for run in self._runs.values():
                self._thaw(run)  # a frozen task would never finish
        self._closed = True
        self._release_frozen()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._unit_tasks, return_exceptions=True)
        for run in self._runs.values():
            if run.finishing is not None:
                await run.finishing
        await self._runners.aclose(kill=kill)

    # --- dispatch -----------------------------------------------------------------
    def _kick(self) -> None:
        if not self._dispatch_scheduled and not self._closed:
            self._dispatch_scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        in_flight = self.in_flight
        while in_flight < self._max_workers:
            run = self._next_run()
            if run is None:
                return
            self._start_unit(run, self._take_unit(run))
            in_flight += 1

    def _next_run(self) -> _BatchRun | None:
        best, best_key = None, None
        now = time.monotonic()
        wake_at = None
        for run in self._runs.values():
            if run.batch.status is not BatchStatus.RUNNING:
                continue
            key = run.queue.head_key()
            if key is None:
                continue
            if run.next_start > now:
                wake_at = min(wake_at or run.next_start, run.next_start)
                continue
            if best_key is None or key < best_key:
                best, best_key = run, key
        if best is None and wake_at is not None:
            self._wake_at(wake_at - now)
        return best

    def _wake_at(self, delay: float) -> None:
        if self._rate_timer is None or self._rate_timer.cancelled():

            def wake() -> None:
                self._rate_timer = None
                self._kick()

            self._rate_timer = asyncio.get_running_loop().call_later(delay, wake)

    def _take_unit(self, run: _BatchRun) -> list[Task]:
        batch = run.batch
        if batch.rate_per_s:
            run.next_start = time.monotonic() + 1 / batch.rate_per_s
            size = 1
        elif batch.timeout_s is not None:
            size = 1  # a timeout is per task, so each task is timed alone
        else:
            size = run.chunker.size(len(run.queue), self._max_workers)
        if run.pause_after:
            size = 1  # a stop point on a task: nothing runs after it in its unit
        if run.stop_after is not None:
            size = min(size, run.stop_after)
        unit: list[Task] = []
        while len(unit) < size:
            task = run.queue.pop()
            if task is None:
                break
            unit.append(task)
        if run.stop_after is not None:
            run.stop_after -= sum(1 for task in unit if task.attempts == 0)
            if run.stop_after <= 0:
                run.stop_after = None
                self.drain(run.batch)  # this unit is the last to start
        return unit

    def _start_unit(self, run: _BatchRun, tasks: list[Task]) -> None:
        batch, jobs = run.batch, []
        now = time.time()
        for task in tasks:
            task.move_to(TaskStatus.RUNNING)
            task.attempts += 1
            guard = run.guard(task.replaceable)
            guard.allow_since(task.started_at)  # the start of its previous attempt, if any
            task.started_at, task.finished_at = now, None
            task.paused_at, task.paused_s = None, 0.0
            task.progress = 0.0
            job = Job(
                task,
                run.spec,
                batch.options,
                batch.timeout_s,
                on_progress=self._on_progress,
                guard=guard,
            )
            run.jobs[task.id] = job
            jobs.append(job)
            self.events.task_started.send(task)
        faults.reached("after-claim")
        run.units += 1
        unit = asyncio.get_running_loop().create_task(self._run_unit(run, jobs))
        self._unit_tasks.add(unit)
        unit.add_done_callback(self._unit_tasks.discard)

    async def _run_unit(self, run: _BatchRun, jobs: list[Job]) -> None:
        try:
            outcomes = await run.runner.run(jobs)
        except asyncio.CancelledError:
            outcomes = [
                Outcome(
                    error="stopped: batchgui is shutting down",
                    kind=ErrorKind.CANCELLED,
                    permanent=True,
                )
                for _ in jobs
            ]
        except Exception as exc:  # a bug in a runner must not lose the tasks
            log.exception("runner %s failed on %d task(s)", run.runner.mode, len(jobs))
            outcomes = [
                Outcome(error=f"internal error: {exc}", kind=ErrorKind.ERROR, permanent=True)
                for _ in jobs
            ]
        finally:
            run.units -= 1
        for job, outcome in zip(jobs, outcomes, strict=True):
            run.jobs.pop(job.task.id, None)
            self._settle(run, job, outcome)
        self._check_finished(run)
        self._check_drained(run)
        self._kick()

    # --- the one completion path ----------------------------------------------------
    def _settle(self, run: _BatchRun, job: Job, outcome: Outcome) -> None:
        if job.frozen:  # it ended while frozen (a thread's own work, or killed)
            job.mark_thawed()
        _clock_on(job.task, time.time())
        self._settle_outcome(run, job, outcome)
        if job.task.status.is_final:
            self._at_stop_point(run, job.task)

    def _settle_outcome(self, run: _BatchRun, job: Job, outcome: Outcome) -> None:
        """Carry out what the attempt means (core/verdicts.py decides)."""
        task = job.task
        task.duration_s = outcome.duration_s
        attempt = Attempt(
            ok=outcome.ok,
            requeue=outcome.requeue,
            kind=outcome.kind,
            permanent=outcome.permanent,
            cancel_requested=job.cancel_requested and not job.interrupted,
            interrupted=job.interrupted,
        )
        decided = verdict(attempt, task.attempts, task.crashes, self.retry)
        if decided in (Verdict.REQUEUED, Verdict.WITHDRAWN):
            task.attempts -= 1  # it did not (really) run: not charged
            if decided is Verdict.WITHDRAWN:
                self._finish_cancelled(run, task, "cancelled", from_running=True)
                return
            task.move_to(TaskStatus.PENDING)
            run.queue.push(task)
            self.events.task_requeued.send(task)
            return
        task.finished_at = time.time()
        if decided is Verdict.COMPLETED:
            self._complete(run, task, outcome)
            return
        task.data = outcome.data  # what a failed attempt reported (a command's output)
        if outcome.detail:
            log.info("task %s failed: %s\n%s", task.path, outcome.error, outcome.detail)
        kind = outcome.kind or ErrorKind.ERROR
        if decided is Verdict.HALTED:
            self._halt(run, task, kind, outcome.error or "no space left on the disk")
        elif decided is Verdict.CANCELLED:
            self._finish_cancelled(run, task, outcome.error or "cancelled", from_running=True)
        elif decided is Verdict.RETRY_NOW:
            task.crashes += 1
            self._schedule_retry(run, task, outcome.error, kind, 0.0)
        elif decided is Verdict.CRASHED_OUT:
            task.crashes += 1
            self._fail(run, task, f"{outcome.error} ({task.crashes} times)", kind)
        elif decided is Verdict.RETRY:
            delay = self.retry.delay_for(task.attempts)
            self._schedule_retry(run, task, outcome.error, kind, delay)
        else:
            self._fail(run, task, outcome.error or "failed", kind)

    def _halt(self, run: _BatchRun, task: Task, kind: ErrorKind, error: str) -> None:
        """The disk is full, or the cluster is gone: every further file would fail the
        same way. The task goes back to pending (not charged) and the batch pauses,
        to be resumed once that is fixed; saying so once is the front end's job
        (`batch.halted`: what happened and what to do)."""
        task.attempts -= 1
        task.finished_at = None
        task.move_to(TaskStatus.PENDING)
        run.queue.push(task)
        self.events.task_requeued.send(task)
        if run.batch.halted is None:
            run.batch.halted = (
                f"lost the cluster ({error}); check that its scheduler runs"
                if kind is ErrorKind.CLUSTER_LOST
                else f"the disk is full ({error}); free some space"
            )
            log.warning("batch %s paused: %s", run.batch.id, run.batch.halted)
        if run.batch.status is BatchStatus.RUNNING:
            self.drain(run.batch)

    def _complete(self, run: _BatchRun, task: Task, outcome: Outcome) -> None:
        # the worker checked real paths (invoke); this is the plain-text backstop
        outside = [p for p in outcome.outputs if not is_inside(os.path.abspath(p), run.out_root)]
        if outside:
            self._fail(
                run,
                task,
                f"operation wrote outside the output folder: {outside[0]}",
                ErrorKind.ERROR,
            )
            return
        task.outputs = outcome.outputs
        task.output_hashes = outcome.output_hashes
        task.data = outcome.data
        task.error = task.error_kind = None
        task.progress = 1.0
        task.move_to(TaskStatus.COMPLETED)
        run.chunker.observe(outcome.duration_s)
        run.meter.task_done(task.size)
        self.events.task_completed.send(task)
        self._release_followers(run, task)

    def _fail(self, run: _BatchRun, task: Task, error: str, kind: ErrorKind) -> None:
        task.error, task.error_kind = error, kind
        task.move_to(TaskStatus.FAILED)
        run.meter.task_done(task.size)
        self.events.task_failed.send(task)
        self._release_followers(run, task)

    def _finish_cancelled(
        self, run: _BatchRun, task: Task, why: str, from_running: bool = False
    ) -> None:
        task.error, task.error_kind = why, ErrorKind.CANCELLED
        task.finished_at = time.time() if from_running else task.finished_at
        task.move_to(TaskStatus.CANCELLED)
        self.events.task_cancelled.send(task)
        self._release_followers(run, task)
        if not from_running:
            self._check_finished(run)

    def _schedule_retry(
        self, run: _BatchRun, task: Task, error: str | None, kind: ErrorKind, delay: float
    ) -> None:
        task.error, task.error_kind = error, kind
        task.move_to(TaskStatus.RETRY_WAIT)
        self.events.task_retrying.send(task, delay)

        def due() -> None:
            run.retry_timers.pop(task.id, None)
            task.move_to(TaskStatus.PENDING)
            run.queue.push(task)
            self._kick()

        run.retry_timers[task.id] = asyncio.get_running_loop().call_later(delay, due)

    # --- duplicates ---------------------------------------------------------------
    def _release_followers(self, run: _BatchRun, original: Task) -> None:
        """The original ended: its waiting duplicates end the same way."""
        for follower in run.followers.take(original):
            if original.status in (TaskStatus.COMPLETED, TaskStatus.SKIPPED):
                run.followers.adopting += 1
                adoption = asyncio.get_running_loop().create_task(
                    self._adopt(run, original, follower)
                )
                self._unit_tasks.add(adoption)
                adoption.add_done_callback(self._unit_tasks.discard)
            elif original.status is TaskStatus.FAILED:
                follower.duplicate_of = original.path
                why = f"same content as {original.path.name}, which failed: {original.error}"
                self._fail(run, follower, why, original.error_kind or ErrorKind.ERROR)
            else:
                why = f"same content as {original.path.name}, which was cancelled"
                self._finish_cancelled(run, follower, why)

    async def _adopt(self, run: _BatchRun, original: Task, follower: Task) -> None:
        """Give a duplicate copies of its original's outputs (on a thread)."""
        try:
            guard = run.guard(follower.replaceable)
            copies = await asyncio.to_thread(adopt, original, follower, guard)
            if copies is None:  # changed since the scan, or not copyable: run it
                follower.duplicate_of = None
                run.queue.push(follower)
                return
        except PermanentError as exc:  # a file batchgui did not make is in the way
            log.info("duplicate %s not copied: %s", follower.path, exc)
            self._fail(run, follower, str(exc), exc.kind)
            return
        except OSError as exc:
            log.exception("copying outputs of %s to %s failed", original.path, follower.path)
            why = f"could not copy the outputs of {original.path.name}: {exc.strerror or exc}"
            self._fail(run, follower, why, ErrorKind.ERROR)
            return
        finally:
            run.followers.adopting -= 1
            self._check_finished(run)
            self._kick()
        if follower.status is TaskStatus.PENDING:  # not cancelled while copying
            follower.outputs, follower.data = copies, dict(original.data)
            hashes = [original.output_hashes.get(os.fsdecode(p)) for p in original.outputs]
            follower.output_hashes = {
                os.fsdecode(c): h for c, h in zip(copies, hashes, strict=True) if h
            }
            follower.duplicate_of, follower.reason = original.path, "duplicate"
            follower.finished_at = time.time()
            follower.move_to(TaskStatus.SKIPPED)
            self.events.task_skipped.send(follower)
        self._check_finished(run)

    def _on_progress(self, task: Task, fraction: float) -> None:
        if task.status is TaskStatus.RUNNING:
            task.progress = fraction
            self.events.task_progress.send(task)

    # --- batch end ------------------------------------------------------------------
    def _check_finished(self, run: _BatchRun) -> None:
        batch = run.batch
        if (
            batch.is_done
            and run.units == 0
            and run.followers.adopting == 0
            and run.finishing is None
            and run.done is not None
            and not run.done.done()
        ):
            run.finishing = asyncio.get_running_loop().create_task(self._finish_batch(run))

    async def _finish_batch(self, run: _BatchRun) -> None:
        batch = run.batch
        try:
            # nothing of this batch is writing now: temporary files left by a
            # worker that was killed mid-write can go (on a thread, folders and
            # all: hashing 100,000 paths would hold the loop, the GUI thread)
            await asyncio.to_thread(remove_batch_temp_files, batch)
            # a batch of no task (every file left out) writes nothing: an empty
            # manifest would replace the one an earlier run made
            if run.spec.finalize is not None and batch.tasks:
                # completed tasks and skipped ones that carry a result (an
                # unchanged file, a duplicate): a manifest lists them all
                entries = [
                    (t.path, t.data)
                    for t in batch.tasks
                    if t.status is TaskStatus.COMPLETED
                    or (t.status is TaskStatus.SKIPPED and t.data)
                ]
                guard = run.guard(batch.replaceable)
                finalize = run.spec.finalize

                def write_aggregate() -> list[Path]:
                    with guarded(guard):
                        outputs = finalize(
                            entries, batch.out_root, batch.base or batch.out_root, batch.options
                        )
                        return [guard.actual(p) for p in outputs]

                try:
                    batch.outputs = await asyncio.to_thread(write_aggregate)
                except PermanentError as exc:
                    log.info("batch %s: %s", batch.id, exc)
                    batch.error = str(exc)
                except Exception as exc:
                    log.exception("finishing batch %s (%s) failed", batch.id, batch.op_name)
                    batch.error = f"could not write the batch's outputs: {exc}"
            run.meter.paused()
            batch.finished_at = time.time()
            cancelled = run.cancelling and batch.counts[TaskStatus.CANCELLED] > 0
            batch.move_to(BatchStatus.CANCELLED if cancelled else BatchStatus.FINISHED)
            self.events.batch_finished.send(batch)
        finally:
            run.finishing = None
            if run.done is not None and not run.done.done():
                run.done.set_result(batch)
            if all(r.batch.is_done for r in self._runs.values()):
                self._release_frozen()

    # --- the garbage collector (core/collector.py) ------------------------------------
    def _keep_frozen(self) -> None:
        if not self._holding_heap:
            self._holding_heap = True
            heap.hold()

    def _release_frozen(self) -> None:
        """No batch runs: what they no longer need can be collected again."""
        if self._holding_heap:
            self._holding_heap = False
            heap.release()

    # --- helpers ----------------------------------------------------------------------
    def _run_of(self, task: Task) -> _BatchRun:
        assert task.batch is not None, "task does not belong to a batch"
        return self._runs[task.batch.id]

    def _selected(self, batch: Batch | None) -> list[_BatchRun]:
        return list(self._runs.values()) if batch is None else [self._runs[batch.id]]
