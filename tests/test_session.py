"""The session layer both front ends stand on: a batch prepared from RunSettings,
two batches on one engine each saved by their own session, stop(save) leaving a
batch resumable, and a bad filter refused before anything is walked."""

from __future__ import annotations

import asyncio

import pytest

from batchgui.core import BatchProcessor, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.session import FilterSettings, RunSettings, StopMode
from batchgui.session.batch_session import BatchSession, prepare_batch
from batchgui.store import Store
from tests.conftest import make_files, wait_for
from tests.plugins import testops


def _settings(tmp_path, folder: str, **filters) -> RunSettings:
    return RunSettings(
        operation="copy",
        options={"suffix": ".copy"},
        sources=(str(tmp_path / folder),),
        out=str(tmp_path / f"{folder}-out"),
        filters=FilterSettings(**filters),
    )


def test_two_batches_on_one_engine_are_each_saved_by_their_session(tmp_path):
    make_files(tmp_path / "a", 6)
    make_files(tmp_path / "b", 4)
    spec = spec_of(testops.copy)
    store = Store(tmp_path / "data")
    first = prepare_batch(_settings(tmp_path, "a"), spec, store)
    second = prepare_batch(_settings(tmp_path, "b", extensions=(".txt",)), spec, store)
    assert first.out_root == tmp_path / "a-out" and first.total == 6

    async def scenario():
        engine = BatchProcessor(2)
        sessions = [BatchSession(store, tmp_path / "data", b) for b in (first, second)]
        for session in sessions:
            await session.start(engine, spec, save=True)
        await asyncio.gather(*(session.wait() for session in sessions))
        await sessions[0].close()  # closing one leaves the other one's journal running
        await sessions[1].close()
        await engine.aclose()

    asyncio.run(scenario())
    store.close()
    reader = Store(tmp_path / "data")
    for batch in (first, second):
        stored = reader.load_batch(batch.id)
        assert stored.counts[TaskStatus.COMPLETED] == batch.total
        assert all(task.outputs for task in stored.tasks)
    reader.close()


def test_stop_and_save_leaves_the_batch_resumable(tmp_path):
    make_files(tmp_path / "in", 8)
    spec = spec_of(testops.sleepy)
    settings = RunSettings(
        operation="sleepy",
        options={"seconds": 5.0},
        sources=(str(tmp_path / "in"),),
        out=str(tmp_path / "out"),
        mode="thread",
    )
    store = Store(tmp_path / "data")
    batch = prepare_batch(settings, spec, store)

    async def scenario():
        engine = BatchProcessor(2)
        session = BatchSession(store, tmp_path / "data", batch)
        await session.start(engine, spec, save=True)
        await wait_for(lambda: batch.counts[TaskStatus.RUNNING] == 2)
        await session.stop(StopMode.SAVE)
        await session.close()
        await engine.aclose(kill=True)

    asyncio.run(scenario())
    store.close()
    again = Store(tmp_path / "data")
    stored = again.reopen(batch.id)
    assert stored.counts[TaskStatus.PENDING] == 8
    assert sum(task.attempts for task in stored.tasks) == 0  # stopped work is not charged
    again.close()


def test_a_bad_filter_is_refused_before_anything_is_walked(tmp_path):
    spec = spec_of(testops.copy)
    with pytest.raises(ValueError, match="name"):
        prepare_batch(_settings(tmp_path, "missing", name="([unclosed"), spec, None)
