"""Past batches from the command line: history --prune AGE and forget ID."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchgui.core import Batch, Task
from batchgui.session.history import parse_age, prunable
from batchgui.store import BatchLock, Store
from tests.conftest import batchgui_in, make_files


def history(data: Path) -> list[dict]:
    result = batchgui_in(data, "history", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["batches"]


@pytest.fixture
def three_batches(tmp_path):
    """Two finished batches run by the CLI and one never finished."""
    data = tmp_path / "data"
    for name in ("a", "b"):
        make_files(tmp_path / name, 3)
        done = batchgui_in(
            data,
            "run",
            str(tmp_path / name),
            "--op",
            "checksum",
            "--out",
            str(tmp_path / f"{name}-out"),
            "--quiet",
        )
        assert done.returncode == 0, done.stderr
    store = Store(data)
    unfinished = Batch("checksum", [Task(tmp_path / "a" / "f0000.txt", 1)])
    store.create_batch(unfinished)
    store.close()
    return data, unfinished.id


def test_prune_forgets_finished_batches_older_than_the_age_and_keeps_unfinished(three_batches):
    data, unfinished = three_batches
    before = history(data)
    assert len(before) == 3 and all(e["sources"] for e in before if e["batch_id"] != unfinished)
    kept = batchgui_in(data, "history", "--prune", "30d")
    assert kept.returncode == 0 and "forgot 0 finished batches older than 30d" in kept.stderr
    assert len(history(data)) == 3
    pruned = batchgui_in(data, "history", "--prune", "0")
    assert pruned.returncode == 0, pruned.stderr
    assert "forgot 2 finished batches older than 0" in pruned.stderr
    assert [e["batch_id"] for e in history(data)] == [unfinished]
    # the tasks went with their batches
    store = Store(data)
    try:
        with store._reading() as conn:
            for table in ("tasks", "task_lists"):
                left = conn.execute(f"SELECT DISTINCT batch_id FROM {table}").fetchall()
                assert left in ([], [(unfinished,)]), table
            assert conn.execute("SELECT count(*) FROM task_lists").fetchone()[0] == 1
    finally:
        store.close()


def test_forget_deletes_named_batches_and_refuses_what_it_cannot(three_batches):
    data, unfinished = three_batches
    finished = [e["batch_id"] for e in history(data) if e["batch_id"] != unfinished]
    gone = batchgui_in(data, "forget", finished[0])
    assert gone.returncode == 0 and "forgot 1 batch" in gone.stderr
    assert finished[0] not in {e["batch_id"] for e in history(data)}
    missing = batchgui_in(data, "forget", "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "batchgui: error: no batch 'nope' (see 'batchgui history')"
    with BatchLock(data, finished[1]):  # as a batchgui running it would hold it
        busy = batchgui_in(data, "forget", finished[1])
    assert busy.returncode == 2 and "already running in another batchgui" in busy.stderr
    assert len(busy.stderr.strip().splitlines()) == 1
    assert finished[1] in {e["batch_id"] for e in history(data)}
    bad = batchgui_in(data, "history", "--prune", "soon")
    assert bad.returncode == 2 and "bad age 'soon'" in bad.stderr


def test_ages_and_what_is_old_enough():
    assert parse_age("30d") == parse_age("30") == 30 * 86400
    assert parse_age("12h") == 12 * 3600 and parse_age("2w") == 14 * 86400
    with pytest.raises(ValueError, match="examples"):
        parse_age("-1d")
    entries = [
        {"batch_id": "old", "status": "finished", "finished_at": 100.0},
        {"batch_id": "cancelled", "status": "cancelled", "finished_at": 100.0},
        {"batch_id": "new", "status": "finished", "finished_at": 990.0},
        {"batch_id": "paused", "status": "paused", "finished_at": None, "created_at": 1.0},
    ]
    assert prunable(entries, age_s=50, now=1000.0) == ["old", "cancelled"]


def test_results_remembered_after_the_last_change_are_still_written(tmp_path):
    """The recorder hashes on a thread: its last results come after the last task's
    change, when the journal has nothing else to write. Its closing flush writes them."""
    import asyncio
    import sqlite3

    from batchgui.core import BatchProcessor
    from batchgui.store import BatchJournal

    data = tmp_path / "data"

    async def scenario() -> None:
        store = Store(data)
        engine = BatchProcessor(1)
        batch = Batch("checksum", [Task(tmp_path / "x.txt", 1)])
        store.create_batch(batch)
        journal = BatchJournal(store, engine, batch=batch)
        await asyncio.sleep(0)  # (the journal's flusher starts)
        store.results.remember_result("d" * 64, "checksum:{}", [], {"digest": "d" * 64})
        await journal.aclose()  # nothing else changed: the result alone must be written
        await engine.aclose()
        store.close()

    asyncio.run(scenario())
    conn = sqlite3.connect(data / "batchgui.db")
    try:
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 1
    finally:
        conn.close()
