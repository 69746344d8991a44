"""Cluster mode: units of a batch run on a Dask distributed cluster.

    run(jobs) ─► calls, their paths mapped to the workers' (PathMap)
              ─► Client.submit(on_worker.run_unit, key, calls, key=key unique per
                 attempt, pure=False, retries=0, priority mirrored)
    event log ("batchgui" topic, subscribed on batchgui's loop):
        start    ─► which task of a unit runs, on which worker, since when
        progress ─► job.on_progress, like any local task
    watchdog (every 50 ms while units are out): a cancelled or timed-out task's
        unit is stopped: Client.run(signal_task, key, "cancel") on its worker kills
        the command's process group and sets ctx.cancelled; the future is cancelled;
        a call still inside after the grace period has its worker ended (its nanny
        starts a new one)
    result   ─► outcomes, the paths mapped back

batchgui stays in charge of the queue: the engine hands this runner no more
units than the cluster has threads (the session sets the worker limit), and
priorities, retries, backoff, pause, stop points and the store work as in the
other modes. Dask's own retries are off (batchgui retries), so:
- a worker that dies (KilledWorker: the LocalCluster batchgui starts has Dask's
  allowed-failures at 0) charges a crash to the task its unit was running, as in
  process mode; tasks of the unit that had not started, or whose results died
  with it, and units queued behind it on that worker, re-run free; a death
  before any start was heard from that worker is charged only the second time
  (the start event may not have left the worker). A scheduler of one's own
  keeps its allowed-failures: it re-runs a unit whose worker died by itself;
- losing the scheduler pauses the batch (`ErrorKind.CLUSTER_LOST`): nothing is
  charged, `batchgui resume` carries on.
Pause freezes a running command's process group on its worker; a task without
one drains.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.outputs import WriteGuard
from batchgui.core.runners import on_worker
from batchgui.core.runners.base import (
    Job,
    Outcome,
    Result,
    Runner,
    describe_exception,
    failed,
    killed_outcome,
    outcome_of,
    requeued,
)

log = logging.getLogger(__name__)

_WATCH_INTERVAL_S = 0.05
EXIT_GRACE_S = 1.5  # a cancelled call still running after this loses its worker
_SIGNAL_TIMEOUT_S = 3.0
_BLIND_DEATHS = 2  # deaths with no start reported before a task is charged a crash


@dataclass(frozen=True)
class PathMap:
    """Where the workers see this machine's folders: ("/mnt/scans", "/data/scans")."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> PathMap:
        """From LOCAL=REMOTE strings; ValueError with one line for a bad one."""
        pairs = []
        for spec in specs:
            local, sep, remote = spec.partition("=")
            if not sep or not local.strip() or not remote.strip():
                raise ValueError(f"--path-map: expected LOCAL=REMOTE, got {spec!r}")
            pairs.append((os.path.abspath(local.strip()), remote.strip().rstrip("/\\") or "/"))
        # the longest prefix wins when mounts nest
        pairs.sort(key=lambda pair: len(pair[0]), reverse=True)
        return cls(tuple(pairs))

    def remote(self, path: str | os.PathLike[str]) -> str:
        return _swap(os.fspath(path), self.pairs, 0)

    def local(self, path: str | os.PathLike[str]) -> str:
        return _swap(os.fspath(path), self.pairs, 1)

    def specs(self) -> list[str]:
        return [f"{local}={remote}" for local, remote in self.pairs]


def _swap(path: str, pairs: tuple[tuple[str, str], ...], side: int) -> str:
    for pair in pairs:
        prefix, other = pair[side], pair[1 - side]
        if path == prefix:
            return other
        if path.startswith(prefix.rstrip("/\\") + os.sep) or path.startswith(prefix + "/"):
            rest = path[len(prefix.rstrip("/\\")) + 1 :]
            return other.rstrip("/\\") + "/" + rest if other != "/" else "/" + rest
    return path


@dataclass(eq=False)
class _Unit:
    """One submitted unit, while it is out."""

    key: str
    jobs: list[Job]
    future: Any  # distributed.Future
    stopped: asyncio.Future[None]
    current: int = -1  # index of the job now running (-1: none reported yet)
    since: float = 0.0  # monotonic time its start was heard
    worker: str | None = None  # the worker it runs on
    killed: dict[int, ErrorKind] = field(default_factory=dict)  # task id -> why stopped

    @property
    def running(self) -> Job | None:
        return self.jobs[self.current] if 0 <= self.current < len(self.jobs) else None


class ClusterRunner(Runner):
    mode = "cluster"
    # a unit's round trip through the scheduler costs milliseconds: tiny tasks
    # travel in bigger units than on this machine (pause and cancel stay prompt)
    unit_target_s = 0.1

    def __init__(self, client: Any, path_map: PathMap | None = None) -> None:
        self._client = client  # a distributed.Client made with asynchronous=True
        self._paths = path_map or PathMap()
        self._units: dict[str, _Unit] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[Any]] = set()
        self._blind: dict[int, int] = {}  # task id -> deaths with no start heard
        # worker -> the unit last heard starting there (kept when its worker dies: it
        # tells the units queued behind it that they are innocent)
        self._started_on: dict[str, str] = {}
        # a cancelled unit's key -> its worker and the end of its grace period
        self._grace: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        client.subscribe_topic(on_worker.TOPIC, self._on_event)

    # --- running ----------------------------------------------------------------------
    async def run(self, jobs: list[Job]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        first = jobs[0].task
        batch = first.batch.id if first.batch else "batch"
        key = f"batchgui-{batch}-{first.id}-{first.attempts}-{uuid.uuid4().hex[:8]}"
        try:
            calls = [self._call(job) for job in jobs]
            future = self._client.submit(
                on_worker.run_unit,
                key,
                calls,
                key=key,
                pure=False,
                retries=0,
                priority=int(first.priority),
            )
        except Exception as exc:  # closed client, an option that does not pickle
            log.exception("could not hand %d task(s) to the cluster", len(jobs))
            return [_lost(exc) if self._is_lost(exc) else _unsendable(exc) for _ in jobs]
        stopped: asyncio.Future[None] = loop.create_future()
        unit = _Unit(key, jobs, future, stopped)
        self._units[key] = unit
        self._ensure_watchdog()
        answer = asyncio.ensure_future(_answer(future))
        either: list[asyncio.Future[Any]] = [answer, stopped]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # batchgui is shutting down: stop it there too
            self._stop(unit)
            raise
        finally:
            self._units.pop(key, None)
            if not answer.done():
                answer.cancel()
        if unit.stopped.done() or not answer.done():
            return self._outcomes_after_stop(unit)
        status, value = answer.result()
        if status == "ok":
            if unit.worker is not None and self._started_on.get(unit.worker) == key:
                del self._started_on[unit.worker]
            return self._outcomes(unit, value)
        return self._outcomes_after_error(unit, value)

    def _call(self, job: Job) -> tuple[Any, ...]:
        task, paths = job.task, self._paths
        root = Path(paths.remote(task.root)) if task.root is not None else None
        return (
            task.id,
            job.spec.func,
            Path(paths.remote(task.path)),
            Path(paths.remote(job.out_dir)),
            root,
            job.options,
            _remote_guard(job.guard, paths),
            task.batch.id if task.batch else None,
            task.seq,
        )

    def _outcomes(self, unit: _Unit, results: list[Result]) -> list[Outcome]:
        outcomes = []
        for index, job in enumerate(unit.jobs):
            if job.task.id in unit.killed:
                outcomes.append(killed_outcome(unit.killed[job.task.id], job))
            elif index < len(results):
                outcomes.append(self._local(outcome_of(results[index])))
            else:
                outcomes.append(requeued())  # not reached: the unit was stopped
        return outcomes

    def _local(self, outcome: Outcome) -> Outcome:
        if not self._paths.pairs:
            return outcome
        outcome.outputs = [Path(self._paths.local(p)) for p in outcome.outputs]
        outcome.output_hashes = {self._paths.local(p): h for p, h in outcome.output_hashes.items()}
        return outcome

    def _outcomes_after_stop(self, unit: _Unit) -> list[Outcome]:
        """We stopped the unit (a cancel, a time limit): the stopped task gets its
        verdict; the others re-run free."""
        return [
            killed_outcome(unit.killed[job.task.id], job)
            if job.task.id in unit.killed
            else requeued()
            for job in unit.jobs
        ]

    def _outcomes_after_error(self, unit: _Unit, exc: BaseException) -> list[Outcome]:
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            last = getattr(exc, "last_worker", None)
            return self._after_death(unit, getattr(last, "address", None) or unit.worker)
        if isinstance(exc, concurrent.futures.CancelledError) or self._is_lost(exc):
            # cancelled by nobody here: the scheduler forgot it (it restarted, or
            # this client lost it)
            log.warning("lost unit %s on the cluster: %s", unit.key, describe_exception(exc))
            return [_lost(exc) for _ in unit.jobs]
        log.error("unit %s failed on the cluster: %s", unit.key, describe_exception(exc))
        return [_unsendable(exc) for _ in unit.jobs]

    def _after_death(self, unit: _Unit, worker: str | None) -> list[Outcome]:
        """The unit's worker died. The task it was running is charged a crash; a unit
        that had not started there (queued behind another one) re-runs free."""
        running = unit.running
        known = self._started_on.get(worker) if worker is not None else None
        innocent = running is None and known is not None and known != unit.key
        outcomes = []
        for index, job in enumerate(unit.jobs):
            task_id = job.task.id
            if job is running:
                self._blind.pop(task_id, None)
                outcomes.append(_crashed())
            elif running is None and index == 0 and not innocent:
                # no start was heard from anything on that worker: its event may
                # not have left before the death; charged the second time
                deaths = self._blind[task_id] = self._blind.get(task_id, 0) + 1
                outcomes.append(_crashed() if deaths >= _BLIND_DEATHS else requeued())
            else:
                outcomes.append(requeued())
        return outcomes

    def _is_lost(self, exc: BaseException) -> bool:
        """Whether the connection to the cluster failed (not the call)."""
        from distributed.comm.core import CommClosedError

        if isinstance(exc, CommClosedError | ConnectionError | TimeoutError):
            return True
        return bool(self._client.status != "running")  # closing or closed

    # --- what the workers say ---------------------------------------------------------
    def _on_event(self, event: tuple[float, Any]) -> None:
        try:
            message = event[1]
            unit = self._units.get(message[1])
            if unit is None:
                return
            if message[0] == "start":
                _, _, index, _task_id, worker, _pid = message
                unit.current, unit.since, unit.worker = index, time.monotonic(), worker
                self._started_on[worker] = unit.key
                job = unit.running
                if job is not None and job.frozen:  # paused while it waited
                    self._tell(unit, "freeze")
            elif message[0] == "progress":
                _, _, task_id, fraction = message
                job = unit.running
                if job is not None and job.task.id == task_id and job.on_progress is not None:
                    job.on_progress(job.task, float(fraction))
        except Exception:  # an event from another version: never break the client
            log.exception("unexpected cluster event %r", event)

    # --- stopping, freezing ---------------------------------------------------------
    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while self._units:
            self._enforce(time.monotonic())
            await asyncio.sleep(_WATCH_INTERVAL_S)

    def _enforce(self, now: float, only: Job | None = None) -> None:
        for unit in list(self._units.values()):
            if unit.stopped.done():
                continue
            running = unit.running
            for job in unit.jobs:
                if only is not None and job is not only:
                    continue
                if job.cancel_requested and (job is running or running is None):
                    # running, or its unit has not started: stop the unit
                    unit.killed[job.task.id] = ErrorKind.CANCELLED
                    self._stop(unit)
                elif (
                    job is running
                    and job.timeout_s is not None
                    and not job.frozen
                    and now - unit.since - job.frozen_s(now) > job.timeout_s
                ):
                    unit.killed[job.task.id] = ErrorKind.TIMEOUT
                    self._stop(unit)

    def _stop(self, unit: _Unit) -> None:
        if not unit.stopped.done():
            unit.stopped.set_result(None)
        if unit.worker is not None:
            self._chore(self._end_call(unit.key, unit.worker))
        with contextlib.suppress(Exception):  # the client may be closing
            self._chore(self._client.cancel(unit.future))

    async def _end_call(self, key: str, worker: str) -> None:
        """Cancel the call on its worker; if it is still inside after the grace
        period (it ignores ctx.cancelled), its worker process is ended."""
        if await self._on(worker, key, "cancel"):
            timer = asyncio.get_running_loop().call_later(
                EXIT_GRACE_S, self._grace_over, key, worker
            )
            self._grace[key] = (worker, timer)

    def _grace_over(self, key: str, worker: str) -> None:
        self._grace.pop(key, None)
        self._chore(self._end_if_stuck(key, worker))

    async def _end_if_stuck(self, key: str, worker: str) -> None:
        if await self._on(worker, key, "running"):
            log.warning("a cancelled task ignores its cancel flag; ending worker %s", worker)
            await self._on(worker, key, "exit")

    async def _on(self, worker: str, key: str, action: str) -> bool:
        try:
            answers = await asyncio.wait_for(
                self._client.run(
                    on_worker.signal_task, key, action, workers=[worker], on_error="return"
                ),
                _SIGNAL_TIMEOUT_S,  # a worker that just died would take Dask 30 s
            )
        except Exception as exc:  # the worker is gone: nothing left to stop
            log.info("could not %s %s on %s: %s", action, key, worker, describe_exception(exc))
            return False
        return answers.get(worker) is True

    def _tell(self, unit: _Unit, action: str) -> None:
        if unit.worker is not None:
            self._chore(self._on(unit.worker, unit.key, action))

    def _chore(self, work: Any) -> None:
        chore = asyncio.ensure_future(work)
        self._chores.add(chore)
        chore.add_done_callback(self._chore_done)

    def _chore_done(self, chore: asyncio.Future[Any]) -> None:
        self._chores.discard(chore)
        exc = None if chore.cancelled() else chore.exception()
        if exc is not None:
            log.warning("a cluster chore failed: %s", describe_exception(exc), exc_info=exc)

    def cancel(self, job: Job) -> None:
        self._enforce(time.monotonic(), only=job)

    def freeze(self, jobs: list[Job]) -> None:
        """Freeze each running command's process group on its worker."""
        for job in jobs:
            job.mark_frozen()
            unit = self._unit_running(job)
            if unit is not None:
                self._tell(unit, "freeze")

    def thaw(self, jobs: list[Job]) -> None:
        for job in jobs:
            unit = self._unit_running(job)
            if unit is not None and job.frozen:
                self._tell(unit, "thaw")
            job.mark_thawed()

    def _unit_running(self, job: Job) -> _Unit | None:
        for unit in self._units.values():
            if unit.running is job:
                return unit
        return None

    async def aclose(self, kill: bool = False) -> None:
        if kill:
            for unit in list(self._units.values()):
                for job in unit.jobs:
                    unit.killed[job.task.id] = ErrorKind.CANCELLED
                self._stop(unit)
        for unit in list(self._units.values()):
            self._thaw_unit(unit)
        if self._chores:  # the cancels on their way
            await asyncio.gather(*self._chores, return_exceptions=True)
        for key, (worker, timer) in list(self._grace.items()):  # closing cannot wait
            timer.cancel()
            self._grace_over(key, worker)
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
        with contextlib.suppress(Exception):
            self._client.unsubscribe_topic(on_worker.TOPIC)

    def _thaw_unit(self, unit: _Unit) -> None:
        job = unit.running
        if job is not None and job.frozen:
            self._tell(unit, "thaw")
            job.mark_thawed()


async def _answer(future: Any) -> tuple[str, Any]:
    try:
        return "ok", await future
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # a worker death, a lost scheduler, a bad call
        return "error", exc


def _remote_guard(guard: WriteGuard | None, paths: PathMap) -> WriteGuard | None:
    if guard is None or not paths.pairs:
        return guard
    return replace(
        guard,
        out_root=paths.remote(guard.out_root),
        replaceable=frozenset(paths.remote(p) for p in guard.replaceable),
    )


def _lost(exc: BaseException) -> Outcome:
    return Outcome(
        error=f"lost the cluster: {describe_exception(exc)}",
        kind=ErrorKind.CLUSTER_LOST,
        permanent=True,
    )


def _unsendable(exc: BaseException) -> Outcome:
    return failed(ErrorKind.ERROR, f"could not run on the cluster: {describe_exception(exc)}")


def _crashed() -> Outcome:
    return Outcome(
        error="the cluster worker died while processing this file", kind=ErrorKind.CRASHED
    )
