"""Cluster mode on a real Dask LocalCluster (2 worker processes, 1 thread each,
loopback, no dashboard): the engine's queue, time limits, cancel, pause, crash
accounting and progress work through Dask as they do in process mode, and a
batch a worker could not do is refused before anything starts.

The engine-level tests here drive BatchProcessor with the cluster runner the
session attaches; tests/test_cluster_cli.py runs `batchgui run/resume --cluster`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil
import pytest

from batchgui.core import BatchProcessor, RetryPolicy, TaskStatus
from batchgui.core.errors import ErrorKind
from batchgui.core.runners.cluster import PathMap
from batchgui.session import ClusterSettings
from batchgui.session.cluster import ClusterConnection, ClusterError, address_from, on_cluster
from tests.conftest import build_batch, make_files, wait_for
from tests.plugins import testops
from tests.test_control import burner_batch, cpu_of, frozen_cpu_use, tagged

pytest.importorskip("distributed")  # in the test extra; cluster mode is optional for users

LOCAL = ClusterSettings("local:2")


async def engine_on_cluster(batch, spec, settings: ClusterSettings = LOCAL, retries: int = 0):
    engine = BatchProcessor(8, retry=RetryPolicy(max_retries=retries, base_delay_s=0.01))
    batch.mode = "cluster"
    connection = await on_cluster(engine, settings, batch, spec)
    return engine, connection


async def finish(engine, connection, batch, timeout: float = 60):
    try:
        await asyncio.wait_for(engine.wait(batch), timeout)
    finally:
        await engine.aclose()
        await connection.close()


def test_cluster_runs_as_many_tasks_at_once_as_it_has_threads(tmp_path):
    make_files(tmp_path / "in", 12)
    batch, spec = build_batch(testops.sleepy, [tmp_path / "in"], tmp_path / "out",
                              options={"seconds": 0.15})  # fmt: skip
    most = 0

    async def scenario():
        nonlocal most
        engine, connection = await engine_on_cluster(batch, spec)
        # the cluster's 2 threads and one unit waiting, not the 8 asked for
        assert engine.max_workers == 3
        engine.submit(batch, spec)
        while not batch.is_done:
            most = max(most, engine.in_flight)
            await asyncio.sleep(0.01)
        await finish(engine, connection, batch)

    asyncio.run(scenario())
    assert batch.counts[TaskStatus.COMPLETED] == 12, [t.error for t in batch.tasks]
    assert most == 3
    # each task really ran in a worker process of the cluster, two at a time
    spans = sorted((t.data["began"], t.data["ended"]) for t in batch.tasks)
    overlapping = max(sum(1 for b, e in spans if b <= at < e) for at, _ in spans)
    assert overlapping == 2


def test_timeout_and_cancel_kill_a_running_command_on_a_worker_within_2s(tmp_path):
    marker, batch, spec = burner_batch(tmp_path, 2, "auto", cpu_seconds=60)
    batch.timeout_s = 1.5
    gone_after: dict[str, float] = {}

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec)
        engine.submit(batch, spec)
        await wait_for(lambda: len(tagged(marker)) == 2, 30)
        first, second = (t for t in batch.tasks)
        by_path = {p.info["cmdline"][-1]: p for p in tagged(marker)}
        cancelled_at = time.monotonic()
        engine.cancel([first])
        await wait_for(lambda: not by_path[str(first.path)].is_running(), 2.0)
        gone_after["cancel"] = time.monotonic() - cancelled_at
        started = second.started_at
        await wait_for(lambda: not by_path[str(second.path)].is_running(), 10.0)
        gone_after["timeout"] = time.time() - started - batch.timeout_s
        await finish(engine, connection, batch)

    asyncio.run(scenario())
    first, second = batch.tasks
    assert first.status is TaskStatus.CANCELLED
    assert second.status is TaskStatus.FAILED and second.error_kind is ErrorKind.TIMEOUT
    assert gone_after["cancel"] < 2.0
    assert gone_after["timeout"] < 2.0
    assert tagged(marker) == []


def test_a_call_that_ignores_its_cancel_flag_loses_its_worker(tmp_path):
    """Dask cannot stop a running Python call: its worker process is ended instead,
    and the nanny starts a fresh one that runs the rest."""
    make_files(tmp_path / "in", 1, prefix="stuck")
    make_files(tmp_path / "in", 3, prefix="fine")
    batch, spec = build_batch(testops.stubborn, [tmp_path / "in"], tmp_path / "out")
    batch.timeout_s = 1.0

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec)
        engine.submit(batch, spec)
        await finish(engine, connection, batch, timeout=60)

    asyncio.run(scenario())
    stuck = next(t for t in batch.tasks if t.path.name.startswith("stuck"))
    assert stuck.status is TaskStatus.FAILED and stuck.error_kind is ErrorKind.TIMEOUT
    assert all(t.status is TaskStatus.COMPLETED for t in batch.tasks if t is not stuck)


def test_a_worker_killed_mid_task_charges_only_its_task(tmp_path):
    make_files(tmp_path / "in", 1, prefix="crash")
    make_files(tmp_path / "in", 10, prefix="ok")
    batch, spec = build_batch(testops.crasher, [tmp_path / "in"], tmp_path / "out",
                              options={"how": "kill"})  # fmt: skip

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec, retries=2)
        engine.submit(batch, spec)
        await finish(engine, connection, batch)

    asyncio.run(scenario())
    crashed = next(t for t in batch.tasks if "crash" in t.path.name)
    others = [t for t in batch.tasks if t is not crashed]
    assert crashed.status is TaskStatus.FAILED and crashed.error_kind is ErrorKind.CRASHED
    assert "cluster worker died" in crashed.error
    assert crashed.crashes >= 1
    assert all(t.status is TaskStatus.COMPLETED for t in others), [t.error for t in others]
    assert all(t.crashes == 0 for t in others)


def test_pause_freezes_a_command_on_a_worker_and_resume_finishes_it(tmp_path):
    marker, batch, spec = burner_batch(tmp_path, 2, "auto", cpu_seconds=0.8)

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec)
        engine.submit(batch, spec)
        await wait_for(lambda: len(tagged(marker)) == 2 and cpu_of(tagged(marker)) > 0.1, 30)
        procs = tagged(marker)
        assert engine.pause(batch) is True
        used = await frozen_cpu_use(procs)
        states = [p.status() for p in procs]
        engine.resume(batch)
        await finish(engine, connection, batch)
        return used, states

    used, states = asyncio.run(scenario())
    assert states == [psutil.STATUS_STOPPED] * 2
    assert used < 0.02, f"paused commands used {used:.3f} s of CPU"
    assert batch.counts[TaskStatus.COMPLETED] == 2, [t.error for t in batch.tasks]


def test_progress_from_a_worker_reaches_the_task(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(testops.checkpointed, [tmp_path / "in"], tmp_path / "out",
                              options={"steps": 40})  # fmt: skip
    seen: list[float] = []

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec)
        engine.events.task_progress.connect(lambda task: seen.append(task.progress))
        engine.submit(batch, spec)
        await finish(engine, connection, batch)

    asyncio.run(scenario())
    assert batch.counts[TaskStatus.COMPLETED] == 1
    assert len(seen) >= 5 and seen == sorted(seen) and 0 < seen[0] < seen[-1]


def test_an_input_a_worker_cannot_read_is_refused_before_starting(tmp_path):
    make_files(tmp_path / "in", 3)
    batch, spec = build_batch(testops.copy, [tmp_path / "in"], tmp_path / "out")
    wrong = ClusterSettings("local:1", path_map=(f"{tmp_path / 'in'}=/nonexistent/scans",))

    async def scenario():
        engine = BatchProcessor(2)
        with pytest.raises(ClusterError) as refused:
            await on_cluster(engine, wrong, batch, spec)
        await engine.aclose()
        return str(refused.value)

    message = asyncio.run(scenario())
    assert "cannot read /nonexistent/scans/" in message and "\n" not in message
    assert all(t.status is TaskStatus.PENDING and t.attempts == 0 for t in batch.tasks)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    async def scenario():
        with pytest.raises(ClusterError) as refused:
            await ClusterConnection.open(ClusterSettings("tcp://127.0.0.1:9"))
        return str(refused.value)

    message = asyncio.run(scenario())
    assert message.startswith("cannot connect to the cluster tcp://127.0.0.1:9")
    assert "\n" not in message


def test_addresses_and_path_maps():
    assert address_from("local:3") == "local:3"
    assert address_from(" tcp://10.0.0.5:8786 ") == "tcp://10.0.0.5:8786"
    with pytest.raises(ClusterError, match="not an address"):
        address_from("nonsense")
    with pytest.raises(ClusterError, match="at least one worker"):
        address_from("local:0")
    paths = PathMap.parse(["/mnt/scans=/data/scans", "/mnt/scans/deep=/deep"])
    assert paths.remote("/mnt/scans/a/b.png") == "/data/scans/a/b.png"
    assert paths.remote("/mnt/scans/deep/x") == "/deep/x"  # the longest prefix wins
    assert paths.remote("/mnt/scansextra/x") == "/mnt/scansextra/x"  # not a prefix by name
    assert paths.local("/data/scans/a/b.png") == "/mnt/scans/a/b.png"
    with pytest.raises(ValueError, match="LOCAL=REMOTE"):
        PathMap.parse(["/only-one-side"])


def test_the_scheduler_address_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://192.0.2.1:8786")
    assert address_from("") == "tcp://192.0.2.1:8786"
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    with pytest.raises(ClusterError, match="DASK_SCHEDULER_ADDRESS"):
        address_from(None)


def test_path_map_translates_what_workers_read_and_write(tmp_path):
    """The workers see the input and output folders under other paths (a symlink
    stands in for a mount); outputs come back as this machine's paths."""
    make_files(tmp_path / "in", 3)
    mount = tmp_path / "mounted"
    mount.symlink_to(tmp_path)
    batch, spec = build_batch(testops.copy, [tmp_path / "in"], tmp_path / "out")
    settings = ClusterSettings("local:2", path_map=(f"{tmp_path}={mount}",))

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec, settings)
        engine.submit(batch, spec)
        await finish(engine, connection, batch)

    asyncio.run(scenario())
    assert batch.counts[TaskStatus.COMPLETED] == 3, [t.error for t in batch.tasks]
    outputs = [Path(p) for t in batch.tasks for p in t.outputs]
    assert all(str(p).startswith(str(tmp_path / "out")) for p in outputs), outputs
    assert all(p.read_bytes() == (tmp_path / "in" / p.name[: -len(".copy")]).read_bytes()
               for p in outputs)  # fmt: skip


def test_losing_the_cluster_pauses_the_batch_without_charging_anyone(tmp_path):
    make_files(tmp_path / "in", 8)
    batch, spec = build_batch(testops.sleepy, [tmp_path / "in"], tmp_path / "out",
                              options={"seconds": 0.5})  # fmt: skip

    async def scenario():
        engine, connection = await engine_on_cluster(batch, spec, retries=3)
        engine.submit(batch, spec)
        await wait_for(lambda: engine.running_count(batch) >= 2, 30)
        await connection._local.close()  # the scheduler and its workers go away
        await asyncio.wait_for(engine.drained(batch), 30)
        await engine.aclose()
        await connection.close()

    asyncio.run(scenario())
    assert batch.halted and batch.halted.startswith("lost the cluster"), batch.halted
    assert "check that its scheduler runs" in batch.halted
    assert batch.counts[TaskStatus.FAILED] == 0
    unfinished = [t for t in batch.tasks if t.status is not TaskStatus.COMPLETED]
    assert unfinished and all(t.status is TaskStatus.PENDING for t in unfinished)


def test_without_dask_cluster_mode_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed

    async def scenario():
        with pytest.raises(ClusterError) as refused:
            await ClusterConnection.open(LOCAL)
        return str(refused.value)

    assert asyncio.run(scenario()) == (
        "cluster mode needs Dask distributed: pip install 'batchgui[cluster]'"
    )
