"""Engine overhead: tasks/s for N no-op tasks in each mode next to the raw executor.

    python3 tests/benchmarks/bench_engine.py [--tasks 20000] [--workers 2] [--repeat 3]

Each line: the raw baseline, the engine, and engine/baseline (higher is
better). Baselines, measured in the same run on the same machine:
- thread:  ThreadPoolExecutor.submit of every call, then wait for all;
- async:   asyncio.gather of every coroutine, bounded by a Semaphore;
- process: ProcessPoolExecutor.submit of every call (spawn), then wait for all.
Targets: thread and async >= 0.5x, process >= 1.0x. Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batchgui.core import Batch, BatchProcessor, Task, TaskStatus
from batchgui.core.operation import spec_of
from tests.plugins import testops

TARGETS = {"thread": 0.5, "async": 0.5, "process": 1.0}


def _noop(x: int) -> int:
    return x


async def _anoop(x: int) -> int:
    return x


def raw_thread(n: int, workers: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        wait([pool.submit(_noop, i) for i in range(n)])
    return time.perf_counter() - start


def raw_async(n: int, workers: int) -> float:
    async def main() -> None:
        gate = asyncio.Semaphore(workers)

        async def one(i: int) -> int:
            async with gate:
                return await _anoop(i)

        await asyncio.gather(*(one(i) for i in range(n)))

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


def raw_process(n: int, workers: int) -> float:
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        wait([pool.submit(_noop, i) for i in range(n)])
    return time.perf_counter() - start


def engine(mode: str, n: int, workers: int) -> float:
    func = testops.anothing if mode == "async" else testops.nothing
    spec = spec_of(func)
    tasks = [Task(Path(f"/nonexistent/{i}.txt"), 1) for i in range(n)]
    batch = Batch(spec.name, tasks, mode=mode, out_root=Path("/nonexistent/out"))

    async def main() -> None:
        processor = BatchProcessor(workers)
        await processor.run(batch, spec)
        await processor.aclose()

    start = time.perf_counter()  # pool start-up counts, as it does for the raw baseline
    asyncio.run(main())
    elapsed = time.perf_counter() - start
    assert batch.counts[TaskStatus.COMPLETED] == n, batch.counts
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    raw = {"thread": raw_thread, "async": raw_async, "process": raw_process}
    print(f"{args.tasks} no-op tasks, {args.workers} workers, best of {args.repeat}")
    print(f"{'mode':<8} {'raw tasks/s':>12} {'engine tasks/s':>15} {'ratio':>7} {'target':>7}")
    missed = 0
    for mode in ("thread", "async", "process"):
        # interleave the two so machine noise hits both alike
        raw_best = engine_best = float("inf")
        for _ in range(args.repeat):
            raw_best = min(raw_best, raw[mode](args.tasks, args.workers))
            engine_best = min(engine_best, engine(mode, args.tasks, args.workers))
        raw_rate, engine_rate = args.tasks / raw_best, args.tasks / engine_best
        ratio = engine_rate / raw_rate
        ok = ratio >= TARGETS[mode]
        missed += not ok
        print(
            f"{mode:<8} {raw_rate:>12,.0f} {engine_rate:>15,.0f} {ratio:>6.2f}x "
            f"{TARGETS[mode]:>6.1f}x {'ok' if ok else 'MISSED'}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
