"""The engine end to end with real executors: order, pools, pause, retries, timeouts, crashes."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from batchgui.core import BatchProcessor, BatchStatus, ErrorKind, Priority, RetryPolicy, TaskStatus
from tests.conftest import Recorder, build_batch, make_files, wait_for
from tests.plugins import testops

MODES = ["async", "thread", "process"]


def test_dispatch_order_is_priority_then_fifo_and_reprioritising_jumps_the_queue(tmp_path):
    files = make_files(tmp_path / "in", 8)
    batch, spec = build_batch(testops.noop, [tmp_path / "in"], tmp_path / "out", mode="thread")
    levels = [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.NORMAL,
        Priority.URGENT,
        Priority.LOW,
        Priority.HIGH,
        Priority.NORMAL,
    ]
    for task, level in zip(batch.tasks, levels, strict=True):
        task.priority = level

    async def scenario():
        engine = BatchProcessor(1)
        rec = Recorder()
        rec.attach(engine)
        engine.submit(batch, spec, paused=True)
        # the last LOW task becomes URGENT while waiting: it goes to the back of URGENT
        engine.set_priority(batch.tasks[5], "urgent")
        engine.resume()
        await engine.wait(batch)
        await engine.aclose()
        return [args[0].path.name for _, args in rec.of("task_started")]

    order = asyncio.run(scenario())
    names = [p.name for p in files]
    assert order == [names[4], names[5], names[2], names[6], names[1], names[3], names[7], names[0]]


def test_reprioritised_task_overtakes_while_a_batch_runs(tmp_path):
    make_files(tmp_path / "in", 30)
    batch, spec = build_batch(
        testops.sleepy,
        [tmp_path / "in"],
        tmp_path / "out",
        mode="thread",
        options={"seconds": 0.01},
    )

    async def scenario():
        engine = BatchProcessor(1)
        rec = Recorder()
        rec.attach(engine)
        engine.submit(batch, spec)
        await wait_for(lambda: len(rec.of("task_completed")) >= 2)
        last = batch.tasks[-1]
        assert last.status is TaskStatus.PENDING
        engine.set_priority(last, Priority.HIGH)
        await engine.wait(batch)
        await engine.aclose()
        started = [args[0] for _, args in rec.of("task_started")]
        return started.index(last)

    position = asyncio.run(scenario())
    assert position <= 4, f"the re-prioritised task started {position}th of 30"


@pytest.mark.parametrize("mode", MODES)
def test_fifty_tasks_on_four_workers_all_complete(tmp_path, mode):
    make_files(tmp_path / "in", 50)
    op = testops.asleepy if mode == "async" else testops.sleepy
    batch, spec = build_batch(
        op, [tmp_path / "in"], tmp_path / "out", mode=mode, options={"seconds": 0.005}
    )

    async def scenario():
        engine = BatchProcessor(4)
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())
    assert batch.status is BatchStatus.FINISHED
    assert batch.counts[TaskStatus.COMPLETED] == 50
    assert all(t.attempts == 1 for t in batch.tasks)


def test_three_batches_at_once_share_the_worker_limit(tmp_path):
    batches = []
    for name, mode in (("a", "thread"), ("b", "process"), ("c", "thread")):
        make_files(tmp_path / name, 20, prefix=name)
        batches.append(
            build_batch(
                testops.sleepy,
                [tmp_path / name],
                tmp_path / f"out-{name}",
                mode=mode,
                options={"seconds": 0.01},
            )
        )
    running = []

    async def scenario():
        engine = BatchProcessor(3)
        engine.events.task_started.connect(lambda t: running.append(engine.in_flight))
        for batch, spec in batches:
            engine.submit(batch, spec)
        await asyncio.wait_for(asyncio.gather(*(engine.wait(b) for b, _ in batches)), 60)
        await engine.aclose()

    asyncio.run(scenario())
    for batch, _ in batches:
        assert batch.counts[TaskStatus.COMPLETED] == 20
    assert max(running) <= 3


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_drain_finishes_running_tasks_and_starts_nothing_until_resume(tmp_path, mode):
    make_files(tmp_path / "in", 24)
    batch, spec = build_batch(
        testops.sleepy, [tmp_path / "in"], tmp_path / "out", mode=mode, options={"seconds": 0.03}
    )

    async def scenario():
        engine = BatchProcessor(2)
        rec = Recorder()
        rec.attach(engine)
        engine.submit(batch, spec)
        await wait_for(lambda: len(rec.of("task_completed")) >= 4, timeout=30)
        engine.drain(batch)
        paused_at = time.monotonic()
        await wait_for(lambda: engine.in_flight == 0)
        assert batch.status is BatchStatus.PAUSED
        await asyncio.sleep(0.3)  # the interval being checked: nothing may start in it
        resumed_at = time.monotonic()
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 30)
        await engine.aclose()
        return rec, paused_at, resumed_at

    rec, paused_at, resumed_at = asyncio.run(scenario())
    starts = [t for t, _ in rec.of("task_started")]
    assert not [t for t in starts if paused_at < t < resumed_at]
    assert [t for t in starts if t > resumed_at], "nothing ran after resume"
    assert batch.counts[TaskStatus.COMPLETED] == 24


def test_retry_with_growing_delays_then_success(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(
        testops.flaky, [tmp_path / "in"], tmp_path / "out", mode="thread", options={"failures": 2}
    )

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=3, base_delay_s=0.05, jitter=0.0))
        rec = Recorder()
        rec.attach(engine)
        await engine.run(batch, spec)
        await engine.aclose()
        return rec

    rec = asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.COMPLETED
    assert task.attempts == 3
    delays = [args[1] for _, args in rec.of("task_retrying")]
    assert delays == [0.05, 0.1]
    starts = [t for t, _ in rec.of("task_started")]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[1] > gaps[0]


def test_retries_stop_at_the_limit(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(
        testops.flaky, [tmp_path / "in"], tmp_path / "out", mode="thread", options={"failures": 10}
    )

    async def scenario():
        engine = BatchProcessor(1, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
        await engine.run(batch, spec)
        await engine.aclose()

    asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.FAILED
    assert task.attempts == 3
    assert task.error_kind is ErrorKind.ERROR
    assert "transient failure 3" in task.error


@pytest.mark.parametrize("mode", MODES)
def test_permanent_error_fails_after_one_attempt(tmp_path, mode):
    make_files(tmp_path / "in", 3)
    batch, spec = build_batch(testops.corrupt, [tmp_path / "in"], tmp_path / "out", mode=mode)

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=5, base_delay_s=0.01))
        await engine.run(batch, spec)
        await engine.aclose()

    asyncio.run(scenario())
    for task in batch.tasks:
        assert task.status is TaskStatus.FAILED
        assert task.attempts == 1
        assert task.error_kind is ErrorKind.CORRUPT
        assert "is damaged" in task.error


@pytest.mark.parametrize("mode", MODES)
def test_timeout_fails_the_hung_task_and_frees_its_slot(tmp_path, mode):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a-hang.txt").write_text("x")
    make_files(tmp_path / "in", 5, prefix="ok")
    op = testops.ahang if mode == "async" else testops.hang
    batch, spec = build_batch(op, [tmp_path / "in"], tmp_path / "out", mode=mode, timeout_s=0.5)

    async def scenario():
        engine = BatchProcessor(1)
        started = time.monotonic()
        await asyncio.wait_for(engine.run(batch, spec), 30)
        elapsed = time.monotonic() - started
        await engine.aclose()
        return elapsed

    elapsed = asyncio.run(scenario())
    hung = next(t for t in batch.tasks if "hang" in t.path.name)
    assert hung.status is TaskStatus.FAILED
    assert hung.error_kind is ErrorKind.TIMEOUT
    assert hung.attempts == 1
    assert batch.counts[TaskStatus.COMPLETED] == 5  # one worker: the slot was freed
    assert elapsed < 15


@pytest.mark.parametrize("how", ["exit", "kill", "segv"])
def test_a_task_that_kills_its_worker_fails_as_crashed_and_charges_no_one_else(tmp_path, how):
    make_files(tmp_path / "in", 50, prefix="ok")
    (tmp_path / "in" / "ok0025-crash.txt").write_text("boom")
    batch, spec = build_batch(
        testops.crasher, [tmp_path / "in"], tmp_path / "out", mode="process", options={"how": how}
    )

    async def scenario():
        engine = BatchProcessor(2)
        await asyncio.wait_for(engine.run(batch, spec), 90)
        await engine.aclose()

    asyncio.run(scenario())
    crash = next(t for t in batch.tasks if "crash" in t.path.name)
    assert crash.status is TaskStatus.FAILED
    assert crash.error_kind is ErrorKind.CRASHED
    assert crash.attempts == 2 and crash.crashes == 2
    innocent = [t for t in batch.tasks if t is not crash]
    assert len(innocent) == 50
    assert all(t.status is TaskStatus.COMPLETED for t in innocent)
    assert all(t.attempts == 1 for t in innocent)


def test_raising_the_worker_limit_while_running_starts_more_at_once(tmp_path):
    make_files(tmp_path / "in", 40)
    batch, spec = build_batch(
        testops.sleepy,
        [tmp_path / "in"],
        tmp_path / "out",
        mode="thread",
        options={"seconds": 0.05},
    )

    async def scenario():
        engine = BatchProcessor(1)
        peak = {"before": 0, "after": 0}
        phase = "before"

        def started(task):
            peak[phase] = max(peak[phase], batch.counts[TaskStatus.RUNNING])

        engine.events.task_started.connect(started)
        engine.submit(batch, spec)
        await wait_for(lambda: batch.counts[TaskStatus.COMPLETED] >= 3)
        phase = "after"
        engine.max_workers = 4
        await engine.wait(batch)
        await engine.aclose()
        return peak

    peak = asyncio.run(scenario())
    assert peak["before"] == 1
    assert peak["after"] == 4


def test_lowering_the_worker_limit_lets_running_tasks_finish(tmp_path):
    make_files(tmp_path / "in", 30)
    batch, spec = build_batch(
        testops.sleepy,
        [tmp_path / "in"],
        tmp_path / "out",
        mode="thread",
        options={"seconds": 0.05},
    )

    async def scenario():
        engine = BatchProcessor(4)
        engine.submit(batch, spec)
        await wait_for(lambda: batch.counts[TaskStatus.COMPLETED] >= 4)
        engine.max_workers = 1
        await wait_for(lambda: engine.in_flight <= 1)
        peak = 0

        def started(task):
            nonlocal peak
            peak = max(peak, batch.counts[TaskStatus.RUNNING])

        engine.events.task_started.connect(started)
        await engine.wait(batch)
        await engine.aclose()
        return peak

    assert asyncio.run(scenario()) == 1
    assert batch.counts[TaskStatus.COMPLETED] == 30


def test_rate_limit_spaces_task_starts(tmp_path):
    make_files(tmp_path / "in", 6)
    batch, spec = build_batch(
        testops.noop, [tmp_path / "in"], tmp_path / "out", mode="thread", rate_per_s=20.0
    )

    async def scenario():
        engine = BatchProcessor(4)
        rec = Recorder()
        rec.attach(engine)
        await engine.run(batch, spec)
        await engine.aclose()
        return [t for t, _ in rec.of("task_started")]

    starts = asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.045
    assert starts[-1] - starts[0] >= 0.25


def test_a_vanished_file_fails_with_its_error_and_is_not_retried(tmp_path):
    files = make_files(tmp_path / "in", 2)
    batch, spec = build_batch(testops.copy, [tmp_path / "in"], tmp_path / "out", mode="thread")
    files[0].unlink()

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=3, base_delay_s=0.01))
        await engine.run(batch, spec)
        await engine.aclose()

    asyncio.run(scenario())
    gone = batch.tasks[0]
    assert gone.status is TaskStatus.FAILED and gone.attempts == 1
    assert gone.error == "the file is gone: moved or deleted after it was found"
    assert batch.tasks[1].status is TaskStatus.COMPLETED


def test_outputs_outside_the_output_folder_fail_the_task(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(
        testops.escape, [tmp_path / "in"], tmp_path / "out" / "x", mode="thread"
    )

    async def scenario():
        engine = BatchProcessor(1)
        await engine.run(batch, spec)
        await engine.aclose()

    asyncio.run(scenario())
    assert batch.tasks[0].status is TaskStatus.FAILED
    assert "outside the output folder" in batch.tasks[0].error


def test_retry_failed_tasks_reopens_the_batch(tmp_path):
    make_files(tmp_path / "in", 3)
    batch, spec = build_batch(
        testops.flaky, [tmp_path / "in"], tmp_path / "out", mode="thread", options={"failures": 1}
    )

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=0))
        await engine.run(batch, spec)
        assert batch.counts[TaskStatus.FAILED] == 3
        engine.retry_tasks(batch.tasks)
        await engine.wait(batch)
        await engine.aclose()

    asyncio.run(scenario())
    assert batch.status is BatchStatus.FINISHED
    assert batch.counts[TaskStatus.COMPLETED] == 3
    assert all(t.attempts == 1 for t in batch.tasks)


@pytest.mark.parametrize("mode", MODES)
def test_tiny_tasks_are_chunked_without_losing_any(tmp_path, mode):
    make_files(tmp_path / "in", 600)
    op = testops.anoop if mode == "async" else testops.noop
    batch, spec = build_batch(op, [tmp_path / "in"], tmp_path / "out", mode=mode)
    units, shown, handed = [], [], []

    def started(task) -> None:
        units.append(engine.in_flight)
        stats = engine.stats(batch)
        shown.append(stats.running)  # what the statistics call running
        handed.append(batch.counts[TaskStatus.RUNNING])
        assert stats.done + stats.pending + stats.running + stats.retry_wait == stats.total

    engine = None

    async def scenario():
        nonlocal engine
        engine = BatchProcessor(2)
        engine.events.task_started.connect(started)
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())
    assert batch.counts[TaskStatus.COMPLETED] == 600
    # 600 starts but at most 2 units in flight at any time
    assert max(units) <= 2
    # tasks handed out in a chunk but not reached count as pending, not running
    assert max(shown) <= 2
    assert max(handed) > 2, "no chunk was handed out: the test proves nothing"
    assert batch.counts[TaskStatus.RUNNING] == 0


@pytest.mark.parametrize("mode", MODES)
def test_cancelling_one_running_and_one_pending_task_leaves_the_rest(tmp_path, mode):
    make_files(tmp_path / "in", 8)
    op = testops.asleepy if mode == "async" else testops.sleepy
    batch, spec = build_batch(
        op, [tmp_path / "in"], tmp_path / "out", mode=mode, options={"seconds": 0.25}
    )

    async def scenario():
        engine = BatchProcessor(1)
        rec = Recorder()
        rec.attach(engine)
        engine.submit(batch, spec)
        running, waiting = batch.tasks[0], batch.tasks[5]
        await wait_for(lambda: running.status is TaskStatus.RUNNING, timeout=20)
        engine.cancel([running, waiting])
        assert waiting.status is TaskStatus.CANCELLED  # a pending task is cancelled at once
        await asyncio.wait_for(engine.wait(batch), 30)
        await engine.aclose()
        return rec, running, waiting

    rec, running, waiting = asyncio.run(scenario())
    assert running.status is TaskStatus.CANCELLED and running.error_kind is ErrorKind.CANCELLED
    assert waiting not in [args[0] for _, args in rec.of("task_started")]
    assert batch.counts[TaskStatus.COMPLETED] == 6
    assert batch.status is BatchStatus.FINISHED
    assert running.duration_s is None or running.duration_s < 0.25


def test_a_worker_over_its_memory_cap_fails_that_task_as_too_large(tmp_path):
    make_files(tmp_path / "in", 4, prefix="ok")
    (tmp_path / "in" / "hog.txt").write_text("x")
    batch, spec = build_batch(
        testops.hog,
        [tmp_path / "in"],
        tmp_path / "out",
        mode="process",
        options={"megabytes": 1500},
    )

    async def scenario():
        engine = BatchProcessor(
            2, memory_limit=800 << 20, retry=RetryPolicy(max_retries=3, base_delay_s=0.01)
        )
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())
    hog = next(t for t in batch.tasks if "hog" in t.path.name)
    assert hog.status is TaskStatus.FAILED and hog.error_kind is ErrorKind.TOO_LARGE
    assert hog.attempts == 1
    assert batch.counts[TaskStatus.COMPLETED] == 4
