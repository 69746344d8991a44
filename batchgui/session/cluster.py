"""Connecting to a Dask cluster, and checking it can do a batch before it starts.

    ClusterSettings (address, path map, TLS files)
        ─► await ClusterConnection.open(settings)    on batchgui's loop
              "local" / "local:N" ─► a LocalCluster of N worker processes here
                                      (1 thread each, no dashboard, Dask's own
                                      retries off so a worker death is batchgui's
                                      to charge)
              anything else       ─► Client(address, asynchronous=True, security)
        ─► await connection.describe()      workers, threads, versions (Test connection)
        ─► await connection.check(batch, spec)   on one worker: the operation imports,
              an input is readable, the output folder writable, batchgui and Python
              versions match ─► ClusterError, one line, if not
        ─► await connection.attach(processor, batch, spec)   check, then the engine
              runs cluster-mode units through a ClusterRunner on this client
        ─► await connection.close()

`distributed` is an optional dependency (`pip install 'batchgui[cluster]'`);
without it, opening a connection says so in one line. Dask's comms are
unauthenticated and unencrypted unless TLS is configured: see the README.
"""

from __future__ import annotations

import logging
import os
import platform
import re
from dataclasses import dataclass
from typing import Any

from batchgui.core.models import Batch, TaskStatus
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import BatchProcessor
from batchgui.core.runners.cluster import ClusterRunner, PathMap
from batchgui.session.settings import ClusterSettings

log = logging.getLogger(__name__)

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
_LOCAL = re.compile(r"^local(?::(\d+))?$")
_CONNECT_TIMEOUT_S = 10


class ClusterError(Exception):
    """The cluster cannot run this batch; the message is one line for the user."""


def address_from(value: str | None) -> str:
    """The scheduler address `--cluster` means: the value given, or, when it is
    given without one, DASK_SCHEDULER_ADDRESS (ClusterError if neither)."""
    address = (value or "").strip() or os.environ.get(ADDRESS_VARIABLE, "").strip()
    if not address:
        raise ClusterError(
            f"--cluster needs an address (tcp://host:8786, local or local:N) or {ADDRESS_VARIABLE}"
        )
    match = _LOCAL.match(address)
    if match is None and "://" not in address and ":" not in address:
        raise ClusterError(
            f"--cluster: {address!r} is not an address (tcp://host:8786, local or local:N)"
        )
    if match is not None and match.group(1) is not None and int(match.group(1)) < 1:
        raise ClusterError("--cluster local:N needs at least one worker")
    return address


@dataclass(frozen=True)
class ClusterFacts:
    """What Test connection shows."""

    address: str
    workers: int
    threads: int
    here: dict[str, str]  # batchgui, python, distributed on this computer
    there: dict[str, str]  # the same on the first worker (empty: no worker)

    def describe(self) -> str:
        if not self.workers:
            return f"{self.address}: connected, but no workers yet"
        plural = "s" if self.workers != 1 else ""
        there = self.there
        line = (
            f"{self.address}: {self.workers} worker{plural}, {self.threads} threads, "
            f"batchgui {there.get('batchgui', '?')}, Python {there.get('python', '?')}, "
            f"Dask {there.get('distributed', '?')}"
        )
        differ = [k for k in ("batchgui", "python") if there.get(k) != self.here.get(k)]
        if differ:
            mine = ", ".join(f"{k} {self.here[k]}" for k in differ)
            return f"{line}, but this computer runs {mine}"
        return line


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "cluster mode needs Dask distributed: pip install 'batchgui[cluster]'"
        ) from None
    return distributed


class ClusterConnection:
    def __init__(
        self, settings: ClusterSettings, client: Any, paths: PathMap, local: Any = None
    ) -> None:
        self.settings = settings
        self.client = client
        self.paths = paths
        self._local = local  # the LocalCluster this connection started, if any
        self._runner: ClusterRunner | None = None

    @classmethod
    async def open(cls, settings: ClusterSettings) -> ClusterConnection:
        """Connect (or start a local cluster); ClusterError with one line if it fails."""
        distributed = _distributed()
        import dask

        try:
            paths = PathMap.parse(settings.path_map)
        except ValueError as exc:
            raise ClusterError(str(exc)) from None
        address = address_from(settings.address)
        match = _LOCAL.match(address)
        local = None
        try:
            if match is not None:
                workers = int(match.group(1) or os.cpu_count() or 2)
                # a death is batchgui's to charge (core/runners/cluster.py), so the
                # scheduler never re-runs a task whose worker died; and a worker is
                # only ever given what it runs now, so that a death takes only that
                # unit with it (the next ones wait at the scheduler)
                with dask.config.set(
                    {
                        "distributed.scheduler.allowed-failures": 0,
                        "distributed.scheduler.worker-saturation": 1.0,
                    }
                ):
                    local = await distributed.LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        # Dask's HTTP server (health checks; a dashboard only with
                        # bokeh) on a free port: 8787 may be taken by another cluster
                        dashboard_address=":0",
                        worker_dashboard_address=None,
                        asynchronous=True,
                        silence_logs=logging.CRITICAL,
                    )
                client = await distributed.Client(local, asynchronous=True)
            else:
                client = await distributed.Client(
                    address,
                    asynchronous=True,
                    timeout=_CONNECT_TIMEOUT_S,
                    security=_security(settings),
                )
        except ClusterError:
            raise
        except Exception as exc:  # refused, timed out, TLS, a bad address
            log.exception("could not connect to the cluster %s", address)
            if local is not None:
                await local.close()
            raise ClusterError(
                f"cannot connect to the cluster {address}: {_first_line(exc)}"
            ) from None
        return cls(settings, client, paths, local)

    @property
    def address(self) -> str:
        return str(self.settings.address)

    async def describe(self) -> ClusterFacts:
        from batchgui.core.runners import on_worker

        workers = await self._workers()
        there: dict[str, str] = {}
        if workers:
            first = sorted(workers)[0]
            try:
                answers = await self.client.run(on_worker.versions, workers=[first])
                there = dict(answers.get(first) or {})
            except Exception as exc:  # batchgui missing there: the versions say so
                log.info("cannot ask %s for its versions: %s", first, exc)
                there = {"batchgui": "missing"}
        return ClusterFacts(
            self.address, len(workers), _threads_of(workers), on_worker.versions(), there
        )

    async def threads(self) -> int:
        """Threads over all workers (waits for the first worker, up to the timeout)."""
        try:
            await self.client.wait_for_workers(1, timeout=_CONNECT_TIMEOUT_S)
        except Exception as exc:  # TimeoutError: no worker joined
            raise ClusterError(
                f"the cluster {self.address} has no workers: {_first_line(exc)}"
            ) from None
        return max(1, _threads_of(await self._workers()))

    async def in_flight(self) -> int:
        """Units out at once: one per thread, and one waiting per two threads, so that
        no worker sits idle for a round trip through the scheduler between units
        (measured: 0.79x process mode without them, 0.85x with them, on 2 threads)."""
        threads = await self.threads()
        return threads + (threads + 1) // 2

    async def check(self, batch: Batch, spec: OperationSpec) -> None:
        """Refuse, in one line, a batch that one of the workers could not do."""
        import batchgui
        from batchgui.core.runners import on_worker

        await self.threads()
        sample = next((t for t in batch.tasks if t.status is TaskStatus.PENDING), None)
        read = self.paths.remote(sample.path) if sample is not None else None
        write = self.paths.remote(batch.out_root)
        func = spec.func
        worker = sorted(await self._workers())[0]
        try:
            answers = await self.client.run(
                on_worker.probe,
                spec.name,
                func.__module__,
                func.__qualname__,
                read,
                write,
                workers=[worker],
                on_error="return",
            )
        except Exception as exc:
            raise ClusterError(
                f"cannot ask a worker of {self.address}: {_first_line(exc)}"
            ) from None
        facts = answers.get(worker)
        if isinstance(facts, BaseException):
            raise ClusterError(
                f"a worker of {self.address} cannot run batchgui's check ({_first_line(facts)}); "
                "is batchgui installed there?"
            )
        here = batchgui.__version__
        if facts.get("batchgui") != here:
            raise ClusterError(
                f"worker {worker} runs batchgui {facts.get('batchgui')}, this is {here}: "
                "install the same version on the workers"
            )
        if facts.get("python", "").split(".")[:2] != platform.python_version().split(".")[:2]:
            raise ClusterError(
                f"worker {worker} runs Python {facts.get('python')}, this is "
                f"{platform.python_version()}: use the same Python version"
            )
        problems = facts.get("problems") or []
        if problems:
            hint = "" if self.paths.pairs else " (mounted elsewhere there? see --path-map)"
            raise ClusterError(f"worker {worker}: {problems[0]}{hint}")

    async def _workers(self) -> dict[str, Any]:
        """The scheduler's workers now (the client's own copy lags behind)."""
        identity = await self.client.scheduler.identity()
        return dict(identity.get("workers", {}))

    async def attach(self, processor: BatchProcessor, batch: Batch, spec: OperationSpec) -> None:
        """Check the batch on a worker, then let the engine run cluster-mode batches
        here with about as many units at once as the cluster has threads."""
        await self.check(batch, spec)
        if self._runner is None:
            self._runner = ClusterRunner(self.client, self.paths)
        processor.add_runner(self._runner)
        processor.max_workers = await self.in_flight()

    async def close(self) -> None:
        try:
            await self.client.close()
            if self._local is not None:
                await self._local.close()
        except Exception:  # closing must not hide how the batch ended
            log.exception("closing the cluster connection %s", self.address)


def _threads_of(workers: dict[str, Any]) -> int:
    """Threads over these workers (as the scheduler describes them)."""
    return sum(int(w.get("nthreads", 1)) for w in workers.values())


def _security(settings: ClusterSettings) -> Any:
    if not (settings.tls_ca or settings.tls_cert or settings.tls_key):
        return None  # plain tcp://, or TLS configured in Dask's own config
    from distributed.security import Security

    return Security(  # type: ignore[no-untyped-call]
        tls_ca_file=settings.tls_ca,
        tls_client_cert=settings.tls_cert,
        tls_client_key=settings.tls_key,
        require_encryption=True,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


async def on_cluster(
    processor: BatchProcessor, settings: ClusterSettings, batch: Batch, spec: OperationSpec
) -> ClusterConnection:
    """Connect, check the batch on a worker, and let the engine run cluster-mode
    batches there with about as many units at once as the cluster has threads.
    ClusterError (one line) if any of that fails; nothing is left open then."""
    connection = await ClusterConnection.open(settings)
    try:
        await connection.attach(processor, batch, spec)
    except BaseException:
        await connection.close()
        raise
    return connection
