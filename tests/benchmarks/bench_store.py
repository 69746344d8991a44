"""What the store costs: no-op tasks/s with the store on vs off, and resuming 100k tasks.

    python3 tests/benchmarks/bench_store.py [--tasks 20000] [--resume-tasks 100000]

1. The same batch of no-op tasks (thread mode, 2 workers) without a store and
   with one (the batch saved, state flushed every 250 ms, a final flush),
   alternating, best of --repeat. Target: store on >= 0.7x store off.
2. A stored 100,000-task batch that a killed process left half done (some
   completed, some running): load it, recover, start it; the time until the
   first task runs. Target: <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batchgui.core import Batch, BatchProcessor, Task, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.store import BatchJournal, Store
from tests.plugins import testops


def _batch(n: int) -> Batch:
    spec = spec_of(testops.nothing)
    folders = [Path(f"/nonexistent/out/dir{i}") for i in range(100)]  # shared, as planned
    tasks = [
        Task(Path(f"/nonexistent/dir{i % 100}/file{i}.txt"), 1000, out_dir=folders[i % 100])
        for i in range(n)
    ]
    return Batch(spec.name, tasks, mode="thread", out_root=Path("/nonexistent/out"))


def run(n: int, with_store: bool) -> tuple[float, float]:
    """(whole time, of which saving the new batch) for n no-op tasks."""
    spec = spec_of(testops.nothing)
    batch = _batch(n)
    data = Path(tempfile.mkdtemp(prefix="bench-store-"))
    saving = 0.0

    async def main() -> None:
        nonlocal saving
        processor = BatchProcessor(2)
        journal = None
        if with_store:
            store = Store(data)
            began = time.perf_counter()
            await asyncio.to_thread(store.create_batch, batch)
            saving = time.perf_counter() - began
            journal = BatchJournal(store, processor)
        await processor.run(batch, spec)
        if journal is not None:
            await journal.aclose()
            store.close()
        await processor.aclose()

    start = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - start
    shutil.rmtree(data, ignore_errors=True)
    assert batch.counts[TaskStatus.COMPLETED] == n
    return elapsed, saving


def resume_latency(n: int) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    store = Store(data)
    batch = _batch(n)
    store.create_batch(batch)
    done = batch.tasks[: n // 2]
    for task in done:
        task.move_to(TaskStatus.RUNNING)
        task.move_to(TaskStatus.COMPLETED)
    for task in batch.tasks[n // 2 : n // 2 + 4]:
        task.move_to(TaskStatus.RUNNING)  # what a killed process leaves behind
    rows = store.task_rows([t for t in batch.tasks if t.status is not TaskStatus.PENDING])
    store.save_changes_now([], rows)
    store.close()
    spec = spec_of(testops.nothing)

    async def main() -> tuple[float, float]:
        start = time.perf_counter()
        fresh = Store(data)
        loaded = fresh.load_batch(batch.id)
        loaded_at = time.perf_counter() - start
        loaded.status = loaded.status.PENDING
        processor = BatchProcessor(2)
        first = asyncio.get_running_loop().create_future()
        processor.events.task_started.connect(
            lambda task: first.done() or first.set_result(time.perf_counter() - start)
        )
        processor.submit(loaded, spec)
        started_at = await first
        processor.cancel_batch(loaded)
        await processor.aclose()
        fresh.close()
        return loaded_at, started_at

    try:
        return asyncio.run(main())
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--resume-tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    off = on = float("inf")
    saving = 0.0
    for _ in range(args.repeat):
        off = min(off, run(args.tasks, False)[0])
        whole, save = run(args.tasks, True)
        if whole < on:
            on, saving = whole, save
    ratio = off / on
    print(
        f"{args.tasks} no-op tasks: store off {args.tasks / off:,.0f} tasks/s, "
        f"store on {args.tasks / on:,.0f} tasks/s, ratio {ratio:.2f}x (target >= 0.7x) "
        f"{'ok' if ratio >= 0.7 else 'MISSED'}"
    )
    print(
        f"  of which saving the new batch took {saving:.2f} s; without it: "
        f"{off / (on - saving):.2f}x"
    )
    loaded, first = resume_latency(args.resume_tasks)
    print(
        f"resume of a {args.resume_tasks}-task batch: loaded in {loaded:.2f} s, first task "
        f"running after {first:.2f} s (target <= 2 s) {'ok' if first <= 2 else 'MISSED'}"
    )
    return 0 if ratio >= 0.7 and first <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
