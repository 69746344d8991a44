"""The store on its own: round trips, recovery, and bad databases or folders."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from batchgui.core import Batch, BatchStatus, ErrorKind, Priority, Task, TaskStatus
from batchgui.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent


def _batch(tmp_path: Path) -> Batch:
    raw = os.fsencode(tmp_path)
    names = [b"plain.txt", b"caf\xe9.txt", b"new\nline.txt"]
    tasks = [
        Task(
            Path(os.fsdecode(os.path.join(raw, n))),
            10 + i,
            Priority.HIGH,
            out_dir=tmp_path / "out",
            root=tmp_path,
        )
        for i, n in enumerate(names)
    ]
    tasks[0].fingerprint = (10, 123, 1, 2)
    return Batch(
        "checksum",
        tasks,
        {"algo": "md5"},
        mode="thread",
        out_root=tmp_path / "out",
        base=tmp_path,
        timeout_s=3.0,
        settings={"workers": 3, "retries": 1},
    )


def test_a_batch_round_trips_with_any_file_name(tmp_path):
    store = Store(tmp_path / "data")
    batch = _batch(tmp_path)
    store.create_batch(batch)
    done, failed, running = batch.tasks
    done.move_to(TaskStatus.RUNNING)
    done.move_to(TaskStatus.COMPLETED)
    done.outputs = [tmp_path / "out" / "caf\udce9.txt.md"]
    done.output_hashes = {os.fsdecode(done.outputs[0]): "abc"}
    done.data = {"digest": "d1"}
    failed.move_to(TaskStatus.RUNNING)
    failed.move_to(TaskStatus.FAILED)
    failed.error, failed.error_kind = "broken", ErrorKind.CORRUPT
    running.move_to(TaskStatus.RUNNING)
    running.attempts = 1
    batch.move_to(BatchStatus.RUNNING)
    batch.mode = "thread"
    store.save_changes_now(store.batch_rows([batch]), store.task_rows(batch.tasks))
    store.close()

    again = Store(tmp_path / "data").load_batch(batch.id)
    assert [t.path for t in again.tasks] == [t.path for t in batch.tasks]
    first, second, third = again.tasks
    assert first.status is TaskStatus.COMPLETED and first.outputs == done.outputs
    assert first.output_hashes == done.output_hashes and first.data == {"digest": "d1"}
    assert first.fingerprint == (10, 123, 1, 2) and first.priority is Priority.HIGH
    assert second.error_kind is ErrorKind.CORRUPT and second.error == "broken"
    assert third.status is TaskStatus.PENDING and third.attempts == 1  # recovered, not charged
    assert again.options == {"algo": "md5"} and again.settings["workers"] == 3
    assert again.timeout_s == 3.0 and again.status is BatchStatus.RUNNING
    # the recovery was written: a second load agrees without recovering
    conn = sqlite3.connect(tmp_path / "data" / "batchgui.db")
    assert conn.execute("SELECT status FROM tasks WHERE seq=2").fetchone() == ("pending",)


def _cli(data: Path, *args: str, preexec=None):
    return subprocess.run(
        [sys.executable, "-m", "batchgui", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=preexec,
    )


def test_a_new_batch_is_saved_as_one_list_and_each_task_when_it_first_changes(tmp_path):
    store = Store(tmp_path / "data")
    folders = [tmp_path / "in" / f"d{i}" for i in range(3)]
    tasks = [
        Task(folders[i % 3] / f"f{i}.txt", i, out_dir=tmp_path / "out", root=tmp_path / "in")
        for i in range(500)
    ]
    tasks[7].priority = Priority.URGENT
    batch = Batch("checksum", tasks, out_root=tmp_path / "out")
    store.create_batch(batch)
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
    tasks[3].move_to(TaskStatus.RUNNING)
    tasks[3].move_to(TaskStatus.COMPLETED)
    tasks[4].move_to(TaskStatus.RUNNING)
    tasks[4].move_to(TaskStatus.FAILED)
    tasks[4].error, tasks[4].error_kind = "bad", ErrorKind.CORRUPT
    store.save_changes_now([], store.task_rows([tasks[3], tasks[4]]))
    assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (2,)
    conn.close()
    (entry,) = store.history()
    assert entry["counts"]["total"] == 500 and entry["counts"]["pending"] == 498
    assert entry["counts"]["completed"] == entry["counts"]["failed"] == 1
    store.close()

    again = Store(tmp_path / "data").load_batch(batch.id)
    assert [(t.path, t.size, t.root, t.out_dir) for t in again.tasks] == [
        (t.path, t.size, t.root, t.out_dir) for t in tasks
    ]
    assert again.tasks[7].priority is Priority.URGENT
    assert [t.status for t in again.tasks[2:6]] == [
        TaskStatus.PENDING,
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.PENDING,
    ]
    assert again.tasks[4].error == "bad" and again.tasks[4].error_kind is ErrorKind.CORRUPT


def test_a_database_of_the_previous_schema_is_migrated_and_its_batches_still_load(tmp_path):
    from batchgui.store.db import APPLICATION_ID, MIGRATIONS, db_path

    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(db_path(data))
    for script in MIGRATIONS[:2]:  # as batchgui left it before task lists
        conn.executescript(script)
    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    conn.execute("PRAGMA user_version=2")
    conn.execute(
        "INSERT INTO batches (id, op, options, mode, out_root, settings, status, created_at) "
        "VALUES ('old', 'checksum', '{}', 'thread', ?, '{}', 'paused', 1.0)",
        (os.fsencode(tmp_path / "out"),),
    )
    for seq, status in enumerate(("completed", "running", "pending")):
        conn.execute(
            "INSERT INTO tasks (batch_id, seq, path, size, priority, status) "
            "VALUES ('old', ?, ?, ?, 1, ?)",
            (seq, os.fsencode(tmp_path / f"caf\udce9{seq}.txt"), 10 + seq, status),
        )
    conn.commit()
    conn.close()

    store = Store(data)
    (entry,) = store.history()
    assert entry["counts"]["total"] == 3 and entry["counts"]["completed"] == 1
    batch = store.load_batch("old")
    assert [t.path for t in batch.tasks] == [tmp_path / f"caf\udce9{i}.txt" for i in range(3)]
    assert [t.status for t in batch.tasks] == [TaskStatus.COMPLETED, *[TaskStatus.PENDING] * 2]
    assert [t.size for t in batch.tasks] == [10, 11, 12]
    store.close()


def test_a_damaged_task_list_is_one_clear_line_and_other_batches_still_load(tmp_path):
    store = Store(tmp_path / "data")
    good, bad = (Batch("checksum", [Task(tmp_path / f"{n}.txt", 1)]) for n in ("good", "bad"))
    store.create_batch(good)
    store.create_batch(bad)
    store.write(
        lambda c: c.execute(
            "UPDATE task_lists SET identities='{\"paths\"' WHERE batch_id=?", (bad.id,)
        )
    )
    with pytest.raises(StoreError, match=f"batch {bad.id}: its task list cannot be read"):
        store.load_batch(bad.id)
    bad.tasks[0].move_to(TaskStatus.RUNNING)
    store.save_changes_now([], store.task_rows(bad.tasks))
    store.write(lambda c: c.execute("DELETE FROM task_lists WHERE batch_id=?", (bad.id,)))
    with pytest.raises(StoreError, match=f"batch {bad.id}: its task list is missing"):
        store.load_batch(bad.id)
    assert {e["batch_id"] for e in store.history()} == {good.id, bad.id}
    assert [t.path for t in store.load_batch(good.id).tasks] == [tmp_path / "good.txt"]
    store.close()


def test_a_damaged_database_is_refused_and_left_as_it_is(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "batchgui.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    before = db.read_bytes()
    result = _cli(data, "history")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is damaged (file is not a database)" in result.stderr
    assert "batchgui doctor" in result.stderr
    assert db.read_bytes() == before
    with pytest.raises(StoreError, match="damaged"):
        Store(data)


def test_another_programs_database_is_refused_and_left_as_it_is(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "batchgui.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    result = _cli(data, "run", str(tmp_path), "--op", "checksum")
    assert result.returncode == 2 and "another program" in result.stderr
    assert db.read_bytes() == before


def _as_unprivileged(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run batchgui's CLI as nobody when we are root (root ignores file modes):
    import first, drop privileges, then call main()."""
    wrapper = textwrap.dedent(f"""
        import os, sys
        import batchgui.cli, batchgui.cli.run, batchgui.cli.execute, batchgui.cli.batches
        import batchgui.store, batchgui.scan.prepare, batchgui.operations.registry
        batchgui.operations.registry.load_operations()
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)
        {code}
    """)
    return subprocess.run(
        [sys.executable, "-c", wrapper, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_a_read_only_data_folder_is_a_clear_error():
    base = Path(tempfile.mkdtemp(prefix="batchgui-ro-"))
    try:
        os.chmod(base, 0o755)
        data = base / "data"
        data.mkdir()
        (base / "in").mkdir()
        (base / "in" / "a.txt").write_text("a")
        os.chmod(base / "in", 0o755)
        os.chmod(base / "in" / "a.txt", 0o644)
        os.chmod(data, 0o555)
        result = _as_unprivileged(
            "sys.exit(batchgui.cli.main(['--data-dir', sys.argv[1], 'run', sys.argv[2], "
            "'--op', 'checksum', '--out', sys.argv[3]]))",
            str(data),
            str(base / "in"),
            str(base / "out-unused"),
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("batchgui: error: ")
        assert "data" in lines[-1] and "Traceback" not in result.stderr
        assert list(data.iterdir()) == []
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)


def test_a_full_disk_while_saving_stops_cleanly_and_resumes_once_there_is_room(tmp_path):
    data = tmp_path / "data"
    src = tmp_path / "in"
    src.mkdir()
    for i in range(1500):
        (src / f"f{i:04d}.txt").write_text("x" * 40 + str(i))
    Store(data).close()  # create it while there is room

    def small_disk():  # no file may grow past 500 kB: the write-ahead log hits it mid-run
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (500_000, 500_000))

    out = tmp_path / "out"
    result = _cli(
        data,
        "run",
        str(src),
        "--op",
        "checksum",
        "--out",
        str(out),
        "--workers",
        "1",
        preexec=small_disk,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("batchgui: error: cannot save progress: ")
    assert "disk" in last and "batchgui resume " in last
    conn = sqlite3.connect(data / "batchgui.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    resumed = _cli(data, "resume")
    assert resumed.returncode == 0, resumed.stderr
    check = subprocess.run(
        ["sha256sum", "-c", str(out / "SHA256SUMS")], cwd=src, capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout.count(": OK") == 1500


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    code = (
        "import sys; from pathlib import Path; from batchgui.store import Store; "
        "Store(Path(sys.argv[1])).close(); print('ok')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "data")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and out.strip() == "ok", err
