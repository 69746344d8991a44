"""Statistics with a hand-driven clock: rates, paused time, and an ETA that does not jump."""

from __future__ import annotations

import itertools
from pathlib import Path

from batchgui.core import Batch, Task, TaskStatus
from batchgui.core.stats import Meter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _finish(batch: Batch, meter: Meter, task: Task, ok: bool = True) -> None:
    task.move_to(TaskStatus.RUNNING)
    task.move_to(TaskStatus.COMPLETED if ok else TaskStatus.FAILED)
    meter.task_done(task.size)


def test_rates_eta_and_progress_for_equal_files():
    clock = Clock()
    tasks = [Task(Path(f"/f{i}"), 1000) for i in range(100)]
    batch = Batch("noop", tasks)
    meter = Meter((t.size for t in tasks), clock)
    meter.running()
    meter.snapshot(batch)
    for second in range(10):  # 5 files a second
        clock.now += 1
        for task in tasks[second * 5 : (second + 1) * 5]:
            _finish(batch, meter, task)
        stats = meter.snapshot(batch)
    assert abs(stats.files_per_s - 5) < 0.01
    assert abs(stats.bytes_per_s - 5000) < 1
    assert abs(stats.eta_s - 10) < 1  # 50 left at 5/s
    assert stats.progress == 0.5
    assert stats.completed == 50 and stats.pending == 50
    assert stats.success_rate == 1.0


def test_paused_time_is_left_out_of_elapsed_and_rates():
    clock = Clock()
    tasks = [Task(Path(f"/f{i}"), 10) for i in range(20)]
    batch = Batch("noop", tasks)
    meter = Meter((t.size for t in tasks), clock)
    meter.running()
    meter.snapshot(batch)
    clock.now += 2
    for task in tasks[:4]:
        _finish(batch, meter, task)
    before = meter.snapshot(batch)
    meter.paused()
    clock.now += 60
    paused = meter.snapshot(batch)
    assert paused.elapsed_s == before.elapsed_s == 2
    assert paused.eta_s == before.eta_s
    meter.running()
    clock.now += 1
    assert meter.snapshot(batch).elapsed_s == 3


def test_eta_weights_bytes_when_sizes_vary_and_moves_smoothly():
    clock = Clock()
    sizes = [1_000_000] + [1_000] * 99  # one big file, many small ones
    tasks = [Task(Path(f"/f{i}"), s) for i, s in enumerate(sizes)]
    batch = Batch("noop", tasks)
    meter = Meter(sizes, clock)
    meter.running()
    meter.snapshot(batch)
    etas = []
    for second in range(20):
        clock.now += 1
        for task in tasks[1 + second * 2 : 3 + second * 2]:
            _finish(batch, meter, task)
        etas.append(meter.snapshot(batch).eta_s)
    # the big file is still to come: a bytes-weighted ETA knows it is most of the work
    assert etas[-1] > 100
    # and the ETA never jumps by more than half from one second to the next
    for a, b in itertools.pairwise(etas[2:]):
        assert abs(b - a) <= 0.5 * a
    progress = meter.snapshot(batch).progress
    assert progress < 0.1  # 40 small files are ~4% of the bytes


def test_success_rate_counts_failures():
    clock = Clock()
    tasks = [Task(Path(f"/f{i}"), 1) for i in range(4)]
    batch = Batch("noop", tasks)
    meter = Meter([1] * 4, clock)
    meter.running()
    for i, task in enumerate(tasks):
        _finish(batch, meter, task, ok=i != 0)
    stats = meter.snapshot(batch)
    assert stats.success_rate == 0.75 and stats.failed == 1
    assert stats.eta_s == 0.0 and stats.progress == 1.0
