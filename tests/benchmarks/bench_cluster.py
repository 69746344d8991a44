"""Cluster mode's overhead: the same CPU-bound batch in process mode and on a Dask
LocalCluster of as many single-threaded worker processes, in one run.

    python3 tests/benchmarks/bench_cluster.py [--tasks 2000] [--ms 5] [--workers 2]

Prints files/s for each and cluster/process (target >= 0.8x: what going through
Dask costs), the cluster's start-up, and tasks/s for no-op tasks on the cluster.
Best of --repeat runs, interleaved so machine noise hits both alike. The
cluster's start-up is timed apart (a long batch pays it once).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batchgui.core import Batch, BatchProcessor, Task, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.core.runners.cluster import ClusterRunner
from batchgui.session import ClusterSettings
from batchgui.session.cluster import ClusterConnection
from tests.plugins import testops

TARGET = 0.8


def _batch(func, n: int, options: dict, mode: str) -> tuple[Batch, object]:
    spec = spec_of(func)
    tasks = [Task(Path(f"/nonexistent/{i}.txt"), 1) for i in range(n)]
    batch = Batch(spec.name, tasks, spec.resolve_options(options), mode=mode,
                  out_root=Path("/nonexistent/out"))  # fmt: skip
    return batch, spec


def run_batch(func, n: int, options: dict, mode: str, workers: int) -> tuple[float, float]:
    """(seconds for the batch, seconds to start the cluster)."""
    batch, spec = _batch(func, n, options, mode)

    async def main() -> tuple[float, float]:
        processor = BatchProcessor(workers)
        connection = None
        started = time.perf_counter()
        if mode == "cluster":
            # the probe needs a readable input and a writable folder: none here
            settings = ClusterSettings(f"local:{workers}")
            connection = await ClusterConnection.open(settings)
            processor.add_runner(ClusterRunner(connection.client))
            processor.max_workers = await connection.in_flight()
        start_up = time.perf_counter() - started
        began = time.perf_counter()
        await processor.run(batch, spec)
        elapsed = time.perf_counter() - began
        await processor.aclose()
        if connection is not None:
            await connection.close()
        return elapsed, start_up

    elapsed, start_up = asyncio.run(main())
    assert batch.counts[TaskStatus.COMPLETED] == n, batch.counts
    return elapsed, start_up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--ms", type=float, default=5.0, help="CPU per task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    best = {"process": float("inf"), "cluster": float("inf")}
    start_up = float("inf")
    for _ in range(args.repeat):
        for mode in ("process", "cluster"):
            elapsed, up = run_batch(testops.spin, args.tasks, {"ms": args.ms}, mode, args.workers)
            best[mode] = min(best[mode], elapsed)
            if mode == "cluster":
                start_up = min(start_up, up)
    rate = {mode: args.tasks / seconds for mode, seconds in best.items()}
    ratio = rate["cluster"] / rate["process"]
    noop, _ = run_batch(testops.nothing, args.tasks, {}, "cluster", args.workers)
    print(
        f"{args.tasks} tasks of {args.ms:g} ms CPU, {args.workers} workers, best of {args.repeat}"
    )
    print(f"process mode       {rate['process']:>8.0f} files/s")
    print(f"cluster (local:{args.workers})  {rate['cluster']:>8.0f} files/s")
    print(
        f"cluster / process  {ratio:>8.2f}x (target >= {TARGET}x) "
        f"{'ok' if ratio >= TARGET else 'MISSED'}"
    )
    print(f"cluster start-up   {start_up:>8.2f} s")
    print(f"no-op tasks on the cluster: {args.tasks / noop:,.0f} tasks/s")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
