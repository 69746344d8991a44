"""Crash and resume: a batch killed at every fault point, in every mode, then resumed.

Each run is a real `batchgui` process with a real SQLite store. The test
operation (a plugin installed for the test) logs every run of every file,
waits a little and writes one output atomically, so the checks are about
what a user would see: every task done, every output whole (its BLAKE3 equals
the one recorded), no temporary file left, sources untouched, the database
intact, and no file processed more often than the kills can explain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import blake3
import psutil
import pytest

from batchgui.core import TaskStatus
from batchgui.core.faults import POINTS
from batchgui.core.operation import TEMP_MARK
from tests.conftest import stored_tasks

MODES = ["async", "thread", "process"]

PLUGIN = """
import asyncio, os, time
from batchgui import atomic_write, operation

def _log(src):
    fd = os.open(os.environ["CRASHOPS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, os.fsencode(src) + b"\\n")
    os.close(fd)

def _write(src, out_dir):
    target = out_dir / (src.name + ".out")
    with atomic_write(target) as handle:
        handle.write(src.read_bytes() * 2048)  # ~40 KiB: mid-output cuts it in half
    return [target]

@operation("crashcopy")
def crashcopy(src, out_dir, options):
    _log(src)
    time.sleep(float(os.environ.get("CRASHOPS_SLEEP", "0.01")))
    return _write(src, out_dir)

@operation("crashcopy_async")
async def crashcopy_async(src, out_dir, options):
    _log(src)
    await asyncio.sleep(float(os.environ.get("CRASHOPS_SLEEP", "0.01")))
    return _write(src, out_dir)
"""


@pytest.fixture
def world(tmp_path):
    """A plugin on PYTHONPATH, 60 source files, a data folder, and a run helper."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "crashops.py").write_text(PLUGIN)
    dist = site / "crashops-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: crashops\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[batchgui.operations]\ncrashcopy = crashops:crashcopy\n"
        "crashcopy_async = crashops:crashcopy_async\n"
    )
    sources = tmp_path / "in"
    sources.mkdir()
    for i in range(60):
        (sources / f"file{i:02d}.txt").write_text(f"source number {i}\n")
    return _World(tmp_path, site, sources)


def _group_alive(pgid: int, grace_s: float = 3.0) -> list[str]:
    """Processes of the group still alive after a short grace (multiprocessing's
    resource tracker leaves a moment after its parent)."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = []
        for proc in psutil.process_iter(["pid", "status", "cmdline"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    alive.append(" ".join(proc.info["cmdline"] or ())[:120])
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


class _World:
    def __init__(self, root: Path, site: Path, sources: Path) -> None:
        self.root, self.sources = root, sources
        self.data = root / "data"
        self.out = root / "out"
        self.log = root / "runs.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), str(Path(__file__).parent.parent)]),
            "BATCHGUI_DATA_DIR": str(self.data),
            "CRASHOPS_LOG": str(self.log),
        }
        self.source_hashes = self.hashes()

    def hashes(self) -> dict[str, str]:
        return {
            p.name: blake3.blake3(p.read_bytes()).hexdigest()
            for p in sorted(self.sources.iterdir())
        }

    def command(self, mode: str, *extra: str) -> list[str]:
        op = "crashcopy_async" if mode == "async" else "crashcopy"
        return [
            sys.executable,
            "-m",
            "batchgui",
            "run",
            str(self.sources),
            "--op",
            op,
            "--mode",
            mode,
            "--workers",
            "2",
            "--out",
            str(self.out),
            "--quiet",
            *extra,
        ]

    def run(self, args: list[str], env: dict | None = None, timeout: float = 60):
        proc = subprocess.Popen(
            args,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        finally:
            # nothing batchgui started may outlive it; if something did, it would
            # also hold the pipes open: end the group, then read
            survivors = _group_alive(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        assert not survivors, f"processes outlived batchgui: {survivors}"
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    def resume(self):
        return self.run([sys.executable, "-m", "batchgui", "resume", "--quiet"])

    def runs_per_file(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                counts[Path(line).name] = counts.get(Path(line).name, 0) + 1
        return counts

    def check(self, kills: int) -> None:
        db = self.data / "batchgui.db"
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
        tasks = stored_tasks(self.data)
        assert len(tasks) == 60
        for task in tasks:
            name = os.fspath(task.path)
            assert task.status is TaskStatus.COMPLETED, (name, task.status)
            assert len(task.outputs) == 1
            output = os.fspath(task.outputs[0])
            data = Path(output).read_bytes()
            assert blake3.blake3(data).hexdigest() == task.output_hashes[output], name
            assert data == Path(name).read_bytes() * 2048
        leftovers = [p for p in self.out.rglob("*") if TEMP_MARK in p.name]
        assert not leftovers, leftovers
        assert self.hashes() == self.source_hashes
        runs = self.runs_per_file()
        assert set(runs) == set(self.source_hashes)
        assert max(runs.values()) <= 1 + kills, runs


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("point", POINTS)
def test_killed_at_a_fault_point_then_resumed(world, point, mode):
    once = world.root / "fired"
    visit = 2 if point == "in-commit" else 7  # commits come 4 a second, outputs 200
    first = world.run(
        world.command(mode),
        env={"BATCHGUI_FAULT": f"{point}:{visit}", "BATCHGUI_FAULT_ONCE": str(once)},
    )
    kills = 1 if once.exists() else 0
    assert kills == 1, f"the fault {point} never fired: {first.stderr}"
    main_died = first.returncode == -signal.SIGKILL
    # a killed worker (process mode, output points) is survived by the main process
    assert main_died or mode == "process", first.stderr
    second = world.resume()
    assert second.returncode == 0, second.stderr
    world.check(kills)
    if main_died:
        assert "resuming batch" not in second.stderr  # --quiet
        third = world.resume()
        assert "nothing to resume" in third.stderr


def test_twenty_kills_at_random_times(world):
    rng = random.Random(5)
    env = {"CRASHOPS_SLEEP": "0.25"}
    kills = 0
    args = world.command("process")
    for _ in range(20):
        started = sum(world.runs_per_file().values())
        proc = subprocess.Popen(
            args,
            env={**world.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        # once this run has started something, cut the power at a random moment
        deadline = time.monotonic() + 30
        while (
            proc.poll() is None
            and time.monotonic() < deadline
            and sum(world.runs_per_file().values()) == started
        ):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        args = [sys.executable, "-m", "batchgui", "resume", "--quiet"]
    final = world.run(args, env=env)
    assert final.returncode == 0, final.stderr
    assert kills == 20
    world.check(kills)
    runs = world.runs_per_file()
    # a kill loses the work in flight and at most the last unflushed 250 ms
    assert sum(runs.values()) - 60 <= kills * 6, runs


def test_ctrl_c_saves_state_and_resume_finishes(world):
    proc = subprocess.Popen(
        world.command("thread"),
        env={**world.env, "CRASHOPS_SLEEP": "0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(world.runs_per_file()) < 6:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "resume with: batchgui resume " in err
    history = json.loads(world.run([sys.executable, "-m", "batchgui", "history", "--json"]).stdout)[
        "batches"
    ]
    [entry] = history
    assert entry["status"] == "paused"
    assert entry["counts"]["running"] == 0
    assert 0 < entry["counts"]["completed"] < 60
    resumed = world.resume()
    assert resumed.returncode == 0, resumed.stderr
    world.check(kills=1)


def test_a_second_process_cannot_resume_a_running_batch(world):
    proc = subprocess.Popen(
        world.command("thread"),
        env={**world.env, "CRASHOPS_SLEEP": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not world.runs_per_file():
            time.sleep(0.02)
        second = world.resume()
        assert second.returncode == 2
        assert "already running in another batchgui process" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_two_different_batches_run_at_once(world, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for i in range(10):
        (other / f"o{i}.txt").write_text(str(i))
    env = {**world.env, "CRASHOPS_SLEEP": "0.05"}
    first = subprocess.Popen(world.command("thread"), env=env, stderr=subprocess.PIPE)
    second = world.run(
        [
            sys.executable,
            "-m",
            "batchgui",
            "run",
            str(other),
            "--op",
            "crashcopy",
            "--out",
            str(tmp_path / "out2"),
            "--quiet",
        ],
        env=env,
    )
    assert second.returncode == 0, second.stderr
    assert first.wait(timeout=60) == 0
    first.stderr.close()


def test_history_and_report_of_stored_batches(world):
    done = world.run(world.command("thread"))
    assert done.returncode == 0
    history = json.loads(world.run([sys.executable, "-m", "batchgui", "history", "--json"]).stdout)[
        "batches"
    ]
    [entry] = history
    assert entry["status"] == "finished" and entry["counts"]["completed"] == 60
    text = world.run([sys.executable, "-m", "batchgui", "history"]).stdout
    assert entry["batch_id"] in text and "60/60" in text
    csv_text = world.run(
        [sys.executable, "-m", "batchgui", "report", entry["batch_id"], "--csv"]
    ).stdout
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("path,status,reason") and len(lines) == 61
    report = json.loads(
        world.run([sys.executable, "-m", "batchgui", "report", entry["batch_id"]]).stdout
    )
    assert report["schema"] == 1 and report["totals"]["completed"] == 60
    missing = world.run([sys.executable, "-m", "batchgui", "report", "nope"])
    assert missing.returncode == 2 and "no batch 'nope'" in missing.stderr


def test_concurrent_commits_and_a_polling_reader_never_see_a_locked_database(tmp_path):
    seconds = 20
    writer = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from batchgui.store import Store
        from batchgui.core import Batch, Task
        store = Store(Path(sys.argv[1]))
        batch = Batch("noop", [Task(Path(f"/x/{{i}}"), 1) for i in range(50)])
        store.create_batch(batch)
        end = time.monotonic() + {seconds}
        n = 0
        while time.monotonic() < end:
            store.write(lambda c: c.execute(
                "UPDATE tasks SET attempts = attempts + 1 WHERE batch_id=? AND seq=?",
                (batch.id, n % 50)))
            n += 1
            time.sleep(0.01)
        print(n)
    """)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", writer, str(data)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    from batchgui.store import Store

    time.sleep(0.5)  # let the writers create the database
    reader = Store(data)
    polls = 0
    end = time.monotonic() + seconds - 1
    while time.monotonic() < end:
        reader.history()
        polls += 1
        time.sleep(0.05)
    reader.close()
    commits = 0
    for proc in writers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "locked" not in err
        commits += int(out)
    assert commits >= 100 * seconds  # 2 x ~100 commits/s
    assert polls >= 15 * (seconds - 1)


def test_a_chain_killed_mid_batch_resumes_without_redoing_finished_files(world):
    """Step 1 copies (slowly), step 2 is the checksum manifest over the copies."""
    once = world.root / "fired"
    args = [
        sys.executable, "-m", "batchgui", "run", str(world.sources),
        "--step", "crashcopy", "--step", "checksum", "--mode", "thread", "--workers", "2",
        "--out", str(world.out), "--quiet",
    ]  # fmt: skip
    first = world.run(
        args,
        env={
            "BATCHGUI_FAULT": "after-claim:25",  # with 50 ms a file: a few flushes before
            "BATCHGUI_FAULT_ONCE": str(once),
            "CRASHOPS_SLEEP": "0.05",
        },
    )
    assert once.exists() and first.returncode == -signal.SIGKILL, first.stderr
    saved = {t.path.name for t in stored_tasks(world.data) if t.status is TaskStatus.COMPLETED}
    assert 0 < len(saved) < 60, "the kill should come mid-batch"
    second = world.resume()
    assert second.returncode == 0, second.stderr
    runs = world.runs_per_file()
    assert set(runs) == set(world.source_hashes)
    assert max(runs.values()) <= 2  # work cut off by the kill runs once more
    assert all(runs[name] == 1 for name in saved), "a file saved as done was redone"
    lines = (world.out / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 60
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((world.out / name).read_bytes()).hexdigest() == digest
    assert not [p for p in world.out.rglob("*") if TEMP_MARK in p.name]
    assert world.hashes() == world.source_hashes
