"""The runner for each execution mode, chosen in one place.

    BatchProcessor.submit(batch) ─► Runners.for_mode("async" | "thread" | "process")
        async   ─► AsyncRunner (coroutines on the loop; blocking calls on the thread runner)
        thread  ─► ThreadRunner (one per engine, shared with async mode)
        process ─► ProcessRunner (spawned workers, a memory cap each)
        cluster ─► ClusterRunner (core/runners/cluster.py), added by the session
                   once it has connected to a Dask cluster

One runner of each mode per engine, made when a batch first needs it; the
worker limit reaches all of them; closing closes them all.
"""

from __future__ import annotations

from batchgui.core.runners.aio import AsyncRunner
from batchgui.core.runners.base import Runner
from batchgui.core.runners.threads import ThreadRunner


class Runners:
    def __init__(self, capacity: int, start_method: str, memory_limit: int | None) -> None:
        self._capacity = capacity
        self._start_method = start_method
        self._memory_limit = memory_limit  # bytes per process worker; thread mode's growth
        self._made: dict[str, Runner] = {}

    def add(self, runner: Runner) -> None:
        """A runner made elsewhere (cluster mode: it needs a connected client)."""
        self._made[runner.mode] = runner

    def has(self, mode: str) -> bool:
        return mode in self._made

    def for_mode(self, mode: str) -> Runner:
        runner = self._made.get(mode)
        if runner is None:
            if mode == "process":
                # here: thread and async batches need not load multiprocessing (start-up)
                from batchgui.core.runners.processes import ProcessRunner

                runner = ProcessRunner(self._capacity, self._start_method, self._memory_limit)
            elif mode == "thread":
                runner = ThreadRunner(memory_limit=self._memory_limit)
            elif mode == "async":
                threads = self.for_mode("thread")
                assert isinstance(threads, ThreadRunner)
                runner = AsyncRunner(threads)
            else:
                raise ValueError(f"unknown mode {mode!r}")
            self._made[mode] = runner
        return runner

    def set_capacity(self, capacity: int) -> None:
        self._capacity = capacity
        for runner in self._made.values():
            runner.set_capacity(capacity)

    async def aclose(self, kill: bool) -> None:
        for runner in self._made.values():
            await runner.aclose(kill=kill)
        self._made.clear()
