"""Control over running work: Pause freezes (SIGSTOP), Drain finishes, stop points,
time limits that stand still while frozen, progress within a file.

Frozen work is checked the way a user would notice it: the processes doing it
use no CPU (psutil CPU times across the pause) and finish correctly after
resume.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from batchgui.core import BatchProcessor, BatchStatus, RetryPolicy, TaskStatus
from batchgui.operations.command import run_command
from tests.conftest import build_batch, make_files, wait_for
from tests.plugins import testops

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {secs}: pass\n"


def burner(marker: str, cpu_seconds: float = 0.8) -> str:
    """An exec template: a command that needs `cpu_seconds` of CPU time, tagged `marker`."""
    code = BURN.replace("{secs}", str(cpu_seconds)).replace("{", "{{").replace("}", "}}")
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)} {marker} {{path}}"


def burner_batch(tmp_path: Path, files: int, mode: str, cpu_seconds: float = 0.8):
    """(marker, batch, spec): `files` burner commands, each tagged with a fresh marker."""
    marker = f"batchgui-test-{uuid.uuid4().hex}"
    make_files(tmp_path / "in", files)
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        tmp_path / "out",
        mode=mode,
        options={"command": burner(marker, cpu_seconds)},
    )
    return marker, batch, spec


def tagged(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


def cpu_of(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def frozen_cpu_use(procs: list[psutil.Process]) -> float:
    """CPU seconds the processes use in half a second, starting 200 ms after a pause."""
    await asyncio.sleep(0.2)  # the allowance: frozen within 200 ms
    before = cpu_of(procs)
    await asyncio.sleep(0.5)  # the window being measured
    return cpu_of(procs) - before


@pytest.mark.parametrize("mode", ["async", "thread", "process"])
def test_pause_freezes_commands_which_finish_after_resume(tmp_path, mode):
    marker, batch, spec = burner_batch(tmp_path, 2, mode)

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=0))
        engine.submit(batch, spec)
        await wait_for(lambda: len(tagged(marker)) == 2 and cpu_of(tagged(marker)) > 0.1, 30)
        procs = tagged(marker)
        paused_at = time.monotonic()
        assert engine.pause(batch) is True
        used = await frozen_cpu_use(procs)
        assert all(p.status() == psutil.STATUS_STOPPED for p in procs)
        paused_for = time.monotonic() - paused_at
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 30)
        stats = engine.stats(batch)
        await engine.aclose()
        return used, paused_for, stats

    used, paused_for, stats = asyncio.run(scenario())
    print(f"\nfrozen commands ({mode} mode): {used * 1000:.1f} ms of CPU in 0.5 s")
    assert used < 0.02, f"paused commands used {used:.3f} s of CPU"
    assert batch.counts[TaskStatus.COMPLETED] == 2, [t.error for t in batch.tasks]
    assert all(t.attempts == 1 for t in batch.tasks)
    wall = batch.finished_at - batch.started_at
    assert stats.elapsed_s <= wall - paused_for + 0.05  # the pause is not in elapsed time


@pytest.mark.parametrize("mode", ["thread", "async"])
def test_pause_starts_nothing_new_even_in_a_unit_of_quick_tasks(tmp_path, mode):
    """Quick tasks travel to a worker thread many at a time (core/chunker.py): Pause
    must keep the rest of such a unit from starting, not only let the files being
    worked on finish (a thread's own code cannot be frozen, nor a coroutine that
    never reaches a checkpoint). They go back to the queue; Resume runs them."""
    make_files(tmp_path / "in", 3000)
    out = tmp_path / "out"
    operation = testops.copy if mode == "thread" else testops.acopy
    batch, spec = build_batch(operation, [tmp_path / "in"], out, mode=mode)

    def written() -> int:
        return sum(1 for _ in out.rglob("*.copy"))

    async def scenario():
        engine = BatchProcessor(2)
        engine.submit(batch, spec)
        await wait_for(lambda: written() >= 100, 30)  # units of many tasks by now
        engine.pause(batch)
        at_pause = written()
        await asyncio.sleep(0.3)  # the interval being watched
        while_paused = written()
        # the tasks handed over but not begun go back to the queue, and those the
        # worker had done are told as done: at most the file each worker was on
        # was still running when Pause came
        await wait_for(lambda: sum(t.status is TaskStatus.RUNNING for t in batch.tasks) == 0, 10)
        assert batch.counts[TaskStatus.COMPLETED] >= at_pause - 2
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 60)
        await engine.aclose()
        return at_pause, while_paused

    at_pause, while_paused = asyncio.run(scenario())
    # the file each worker was writing may be finished; nothing else may start
    assert while_paused - at_pause <= 2, (at_pause, while_paused)
    assert batch.counts[TaskStatus.COMPLETED] == 3000, [t.error for t in batch.tasks][:3]
    assert written() == 3000


def _settles_on(proc: psutil.Process, status: str, within_s: float = 5.0) -> bool:
    """Whether the process reaches `status` within the time (signals land a moment later)."""
    deadline = time.monotonic() + within_s
    while proc.status() != status:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_command_told_of_after_pause_froze_its_job_is_frozen_too(tmp_path):
    """Pause can come between a command's start and the moment its worker tells the
    engine of it: the command is suspended then, and Resume lets it go on."""
    import subprocess

    from batchgui.core.platform import processes
    from batchgui.core.runners.base import Job

    job = Job(task=None, spec=None, options={})  # type: ignore[arg-type]
    job.freeze()  # Pause: no command known yet
    proc = subprocess.Popen(
        [sys.executable, "-c", BURN.replace("{secs}", "30")], **processes.group_options()
    )
    try:
        job.set_child(proc.pid)  # the worker tells of it only now
        leader = psutil.Process(proc.pid)
        assert _settles_on(leader, psutil.STATUS_STOPPED)
        job.thaw()
        assert _settles_on(leader, psutil.STATUS_RUNNING)
        assert job.thawed.is_set()
    finally:
        proc.kill()
        proc.wait(10)


def test_pause_freezes_process_workers_and_their_clock(tmp_path):
    """A process-mode operation's own worker is stopped; its time limit stands still."""
    make_files(tmp_path / "in", 2)
    out = tmp_path / "out"
    batch, spec = build_batch(
        testops.burn, [tmp_path / "in"], out, mode="process", options={"cpu_seconds": 0.8}
    )
    batch.timeout_s = 3.0

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=0))
        engine.submit(batch, spec)
        await wait_for(lambda: len(list(out.glob("*.pid"))) == 2, 30)
        workers = [psutil.Process(int(p.read_text())) for p in out.glob("*.pid")]
        engine.pause(batch)
        used = await frozen_cpu_use(workers)
        stopped = [w.status() for w in workers]
        await asyncio.sleep(3.0)  # frozen past the 3 s limit: it must not count
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 30)
        await engine.aclose()
        return used, stopped

    used, stopped = asyncio.run(scenario())
    print(f"\nfrozen process workers: {used * 1000:.1f} ms of CPU in 0.5 s")
    assert stopped == [psutil.STATUS_STOPPED] * 2
    assert used < 0.02, f"paused workers used {used:.3f} s of CPU"
    assert batch.counts[TaskStatus.COMPLETED] == 2, [t.error for t in batch.tasks]


def test_pause_drains_where_nothing_can_be_frozen(tmp_path, monkeypatch):
    """Without SIGSTOP (Windows) Pause says so and lets running tasks finish."""
    import batchgui.core.processor as processor

    monkeypatch.setattr(processor, "FREEZE_SUPPORTED", False)
    make_files(tmp_path / "in", 6)
    batch, spec = build_batch(
        testops.sleepy, [tmp_path / "in"], tmp_path / "out", options={"seconds": 0.2}
    )
    batch.timeout_s = 30  # one task per unit

    async def scenario():
        engine = BatchProcessor(2)
        engine.submit(batch, spec)
        await wait_for(lambda: engine.running_count(batch) == 2, 10)
        assert engine.pause(batch) is False
        await wait_for(lambda: engine.running_count(batch) == 0, 10)
        done = batch.counts[TaskStatus.COMPLETED]
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 10)
        await engine.aclose()
        return done

    assert asyncio.run(scenario()) == 2
    assert batch.counts[TaskStatus.COMPLETED] == 6


def test_async_operations_wait_at_their_checkpoint(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(testops.checkpointed, [tmp_path / "in"], tmp_path / "out")
    [task] = batch.tasks

    async def scenario():
        engine = BatchProcessor(1)
        engine.submit(batch, spec)
        await wait_for(lambda: task.progress >= 0.1, 10)
        engine.pause(batch)
        await asyncio.sleep(0.05)  # at most one step is under way
        held = task.progress
        await asyncio.sleep(0.3)  # the interval being checked
        assert task.progress == held
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 10)
        await engine.aclose()

    asyncio.run(scenario())
    assert task.status is TaskStatus.COMPLETED and task.data["steps"] == 40


def test_cancel_and_shutdown_reach_frozen_work(tmp_path):
    marker, batch, spec = burner_batch(tmp_path, 3, "process", 30)

    async def scenario():
        engine = BatchProcessor(3, retry=RetryPolicy(max_retries=0))
        engine.submit(batch, spec)
        await wait_for(lambda: len(tagged(marker)) == 3, 30)
        engine.pause(batch)
        engine.cancel([batch.tasks[0]])
        await wait_for(lambda: batch.tasks[0].status is TaskStatus.CANCELLED, 10)
        await engine.aclose(kill=True)

    asyncio.run(scenario())
    assert batch.tasks[0].status is TaskStatus.CANCELLED
    assert {t.status for t in batch.tasks[1:]} == {TaskStatus.PENDING}  # resumable
    assert not [p for p in tagged(marker) if p.status() != psutil.STATUS_ZOMBIE]


def test_worker_changes_show_in_the_number_running(tmp_path):
    make_files(tmp_path / "in", 12)
    batch, spec = build_batch(
        testops.sleepy, [tmp_path / "in"], tmp_path / "out", options={"seconds": 0.4}
    )
    batch.timeout_s = 30  # one task per unit, so running tasks = workers busy

    async def scenario():
        engine = BatchProcessor(1)
        engine.submit(batch, spec)
        await wait_for(lambda: engine.running_count(batch) == 1, 10)
        engine.max_workers = 4
        await wait_for(lambda: engine.running_count(batch) == 4, 2)
        engine.max_workers = 2
        await wait_for(lambda: engine.running_count(batch) == 2, 5)
        peak = 0
        while batch.status is not BatchStatus.FINISHED:
            peak = max(peak, engine.running_count(batch))
            await asyncio.sleep(0.01)
        await engine.aclose()
        return peak

    assert asyncio.run(scenario()) <= 2


def test_stop_points_pause_after_a_task_or_a_count(tmp_path):
    make_files(tmp_path / "in", 10)
    batch, spec = build_batch(testops.noop, [tmp_path / "in"], tmp_path / "out")
    batch.timeout_s = 30  # one task at a time, so the count is exact

    async def scenario():
        engine = BatchProcessor(1)
        engine.submit(batch, spec, paused=True)
        engine.pause_after(batch.tasks[2])
        engine.resume(batch)
        await wait_for(lambda: batch.status is BatchStatus.PAUSED, 10)
        await wait_for(lambda: engine.running_count(batch) == 0, 10)
        first = batch.counts[TaskStatus.COMPLETED]
        engine.stop_after(batch, 4)
        engine.resume(batch)
        await wait_for(lambda: batch.status is BatchStatus.PAUSED, 10)
        await wait_for(lambda: engine.running_count(batch) == 0, 10)
        second = batch.counts[TaskStatus.COMPLETED]
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 10)
        await engine.aclose()
        return first, second

    assert asyncio.run(scenario()) == (3, 7)
    assert batch.counts[TaskStatus.COMPLETED] == 10


@pytest.mark.parametrize("mode", ["async", "process"])
def test_progress_from_a_commands_output(tmp_path, mode):
    """exec's --progress-regex; in process mode it travels through the worker's slot."""
    make_files(tmp_path / "in", 1)
    script = "import sys, time\nprint('step 3%'); print('42% done', flush=True); time.sleep(30)"
    template = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {{path}}"
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        tmp_path / "out",
        mode=mode,
        options={"command": template, "progress_regex": r"(\d+)%"},
    )
    [task] = batch.tasks
    seen = []

    async def scenario():
        engine = BatchProcessor(1, retry=RetryPolicy(max_retries=0))
        engine.events.task_progress.connect(lambda t: seen.append(t.progress))
        engine.submit(batch, spec)
        await wait_for(lambda: task.progress == pytest.approx(0.42), 10)
        engine.cancel([task])
        await asyncio.wait_for(engine.wait(batch), 10)
        await engine.aclose()

    asyncio.run(scenario())
    assert seen[-1] == pytest.approx(0.42) and task.status is TaskStatus.CANCELLED


@pytest.mark.parametrize("mode", ["async", "thread"])
def test_time_frozen_does_not_count_against_a_commands_limit(tmp_path, mode):
    marker, batch, spec = burner_batch(tmp_path, 1, mode, 0.6)
    batch.timeout_s = 2.0

    async def scenario():
        engine = BatchProcessor(1, retry=RetryPolicy(max_retries=0))
        engine.submit(batch, spec)
        await wait_for(lambda: len(tagged(marker)) == 1, 30)
        engine.pause(batch)
        await asyncio.sleep(2.5)  # frozen past the limit: it must not count
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 30)
        await engine.aclose()

    asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.COMPLETED, task.error
