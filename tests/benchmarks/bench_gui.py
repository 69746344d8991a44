"""100,000 no-op tasks through the window (offscreen) next to the same batch headless.

    python3 tests/benchmarks/bench_gui.py [--tasks 100000]

Both runs save the batch in a store and journal it, as the CLI and the window
do. In the window, a 10 ms QTimer measures its own lateness: the largest is
the longest the GUI froze. Targets: stall <= 50 ms, RSS <= 300 MB, window
throughput >= 0.8x headless.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil

from batchgui.core import Batch, BatchProcessor, Task, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.store import BatchJournal, Store
from tests.plugins import testops


def make_batch(n: int) -> Batch:
    spec = spec_of(testops.nothing)
    folders = [Path(f"/nonexistent/out/dir{i}") for i in range(500)]  # shared, as planned
    tasks = [
        Task(
            f"/nonexistent/dir{i % 500}/file{i:06d}.txt", 1000 + i % 5000, out_dir=folders[i % 500]
        )
        for i in range(n)
    ]
    return Batch(
        spec.name, tasks, mode="thread", out_root=Path("/nonexistent/out"), settings={"workers": 2}
    )


def headless(n: int) -> float:
    spec = spec_of(testops.nothing)
    batch = make_batch(n)

    async def main() -> float:
        store = Store(folder)
        processor = BatchProcessor(2)
        journal = BatchJournal(store, processor)
        start = time.perf_counter()
        await asyncio.to_thread(store.create_batch, batch)
        await processor.run(batch, spec)
        elapsed = time.perf_counter() - start
        await journal.aclose()
        await processor.aclose()
        store.close()
        return elapsed

    folder = Path(tempfile.mkdtemp(prefix="bench-gui-headless-"))
    try:
        elapsed = asyncio.run(main())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert batch.counts[TaskStatus.COMPLETED] == n
    return elapsed


def windowed(n: int) -> tuple[float, float, float]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from batchgui.gui import create_main_window
    from batchgui.gui.event_loop import EventLoop

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = EventLoop(app)
    asyncio.set_event_loop(loop)
    spec = spec_of(testops.nothing)
    worst = 0.0
    last = [time.perf_counter()]

    stalls: list[tuple[float, float]] = []

    def tick() -> None:
        nonlocal worst
        now = time.perf_counter()
        late = now - last[0] - 0.010
        worst = max(worst, late)
        if late > 0.05:
            stalls.append((now - began[0], late))
        last[0] = now

    began = [0.0]

    async def main() -> float:
        window = create_main_window(data)
        window.resize(1280, 800)
        window.show()
        window.control.workers_spin.setValue(2)
        batch = make_batch(n)
        await asyncio.sleep(0.3)
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        last[0] = time.perf_counter()
        timer.start()
        start = began[0] = time.perf_counter()
        await window._run(batch, spec, save=True)
        while not (window.batch is not None and window.batch.is_done):
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.2)  # the last repaints
        timer.stop()
        window.close()
        while window.isVisible():
            await asyncio.sleep(0.02)
        assert batch.counts[TaskStatus.COMPLETED] == n
        return elapsed

    data = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    try:
        with loop:
            elapsed = loop.run_until_complete(main())
    finally:
        shutil.rmtree(data, ignore_errors=True)
    rss = psutil.Process().memory_info().rss / 2**20
    if stalls:
        print(
            "stalls over 50 ms (s into the run, ms):",
            ", ".join(f"{at:.2f}:{late * 1000:.0f}" for at, late in stalls[:12]),
        )
    return elapsed, worst, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    plain = headless(args.tasks)
    gui, stall, rss = windowed(args.tasks)
    ratio = plain / gui
    print(f"{args.tasks} no-op tasks, 2 workers, store on in both")
    print(f"headless: {plain:.2f} s ({args.tasks / plain:,.0f} tasks/s)")
    print(
        f"window:   {gui:.2f} s ({args.tasks / gui:,.0f} tasks/s); throughput ratio "
        f"{ratio:.2f}x (target >= 0.8x) {'ok' if ratio >= 0.8 else 'MISSED'}"
    )
    print(
        f"largest GUI stall: {stall * 1000:.0f} ms (target <= 50 ms) "
        f"{'ok' if stall <= 0.05 else 'MISSED'}"
    )
    print(f"process RSS: {rss:.0f} MB (target <= 300 MB) {'ok' if rss <= 300 else 'MISSED'}")
    return 0 if ratio >= 0.8 and stall <= 0.05 and rss <= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
