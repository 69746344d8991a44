"""`batchgui watch`: files that arrive are processed once they settle, once each;
changed files again, touched ones not; filters apply; Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batchgui.scan.walk import Entry
from batchgui.session.watch import Settler
from tests.conftest import batchgui_in, stored_tasks


def until(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def test_a_file_is_handed_on_once_it_has_stopped_changing():
    settler = Settler(settle_s=1.0)
    path = Path("/x/a.txt")

    def seen(size: int, mtime: int, now: float) -> list[str]:
        entry = Entry(path, path.parent, size=size, mtime_ns=mtime)
        return [e.path.name for e in settler.settled([entry], now)]

    assert seen(10, 1, now=0.0) == []  # new
    assert seen(20, 2, now=0.5) == []  # still growing
    assert seen(20, 2, now=1.0) == []  # the same for 0.5 s only
    assert seen(20, 2, now=1.6) == ["a.txt"]  # the same for 1.1 s: ready
    assert seen(20, 2, now=5.0) == []  # handed on already
    assert seen(20, 3, now=6.0) == []  # touched or changed: settles again
    assert seen(20, 3, now=7.5) == ["a.txt"]
    assert settler.settled([], now=8.0) == [] and settler.waiting == 0


def test_watching_a_folder(tmp_path):
    inbox, out, data = tmp_path / "in", tmp_path / "out", tmp_path / "data"
    inbox.mkdir()
    done_log = tmp_path / "done.log"
    on_done = f"sh -c 'echo \"$1 $2\" >> {done_log}' x {{batch}} {{report}}"
    watch = subprocess.Popen(
        [
            sys.executable, "-m", "batchgui", "--data-dir", str(data), "watch", str(inbox),
            "--op", "text", "--out", str(out), "--settle", "1", "--interval", "0.2",
            "--exclude", "*.tmp", "--on-done", on_done, "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # a file written in pieces over 2.4 s: taken once, whole
        slow = inbox / "slow.txt"
        with slow.open("w") as handle:
            for piece in range(6):
                handle.write(f"piece {piece}\n")
                handle.flush()
                time.sleep(0.4)
        until(lambda: (out / "slow.txt.md").exists(), what="the slow file's output")
        assert "piece 5" in (out / "slow.txt.md").read_text()

        # a burst of 200, and a file the filters leave out
        for i in range(200):
            (inbox / f"b{i:03d}.txt").write_text(f"burst file {i}\n")
        (inbox / "partial.tmp").write_text("excluded")
        until(lambda: len(list(out.glob("b*.txt.md"))) == 200, what="the burst")

        # changed: redone; touched with the same content: not redone
        (inbox / "b007.txt").write_text("burst file 7, edited\n")
        later = time.time() + 5
        os.utime(inbox / "b008.txt", (later, later))
        until(lambda: "edited" in (out / "b007.txt.md").read_text(), what="the edit")
        until(lambda: _tasks(data).count(("b008.txt", "skipped")) == 1, what="the touch")
        # every round over (--on-done comes last): Ctrl-C now stops an idle watch
        until(
            lambda: (
                done_log.exists() and len(done_log.read_text().splitlines()) == len(_batches(data))
            ),
            what="the last round's end",
        )
    finally:
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert "stopped watching" in err

    tasks = _tasks(data)
    names = [name for name, _ in tasks]
    assert names.count("slow.txt") == 1  # never taken half-written
    assert all(names.count(f"b{i:03d}.txt") == 1 for i in range(200) if i not in (7, 8))
    assert names.count("b007.txt") == 2 and names.count("b008.txt") == 2
    assert "partial.tmp" not in names and not (out / "partial.tmp.md").exists()
    rounds = done_log.read_text().splitlines()
    assert len(rounds) == len(_batches(data))  # --on-done once per round
    for line in rounds:
        batch_id, report = line.split(" ", 1)
        assert json.loads(Path(report).read_text())["batch_id"] == batch_id


def _batches(data: Path) -> list[dict]:
    return json.loads(batchgui_in(data, "history", "--json").stdout)["batches"]


def _tasks(data: Path) -> list[tuple[str, str]]:
    return [(task.path.name, task.status.value) for task in stored_tasks(data)]


def test_a_killed_watch_resumes_and_catches_up_on_what_arrived_meanwhile(tmp_path):
    inbox, out, data = tmp_path / "in", tmp_path / "out", tmp_path / "data"
    inbox.mkdir()
    for i in range(3):
        (inbox / f"early{i}.txt").write_text(f"early {i}\n")
    base = [sys.executable, "-m", "batchgui", "--data-dir", str(data), "watch"]
    first = subprocess.Popen(
        [*base, str(inbox), "--op", "text", "--out", str(out), "--settle", "0.5",
         "--interval", "0.2", "--quiet"],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        until(lambda: len(list(out.glob("*.md"))) == 3, what="the early files")
        # saved as done (the journal writes 4 times a second): what a resume relies on
        until(lambda: [s for _, s in _tasks(data)].count("completed") == 3, what="saved")
        # and remembered for incremental runs (what tells a later round "done")
        until(lambda: _results(data) >= 3, what="the results remembered")
    finally:
        first.kill()  # as a power cut would
        first.wait(timeout=30)
    early_outputs = {p.name: p.stat().st_mtime_ns for p in out.glob("early*.md")}
    for i in range(2):
        (inbox / f"late{i}.txt").write_text(f"late {i}\n")  # while nobody watches
    nothing = subprocess.run([*base, "--resume", str(inbox)], capture_output=True, text=True)
    assert nothing.returncode == 2 and "give nothing else" in nothing.stderr
    # killed, not stopped: `batchgui resume` (no batch is left unfinished) goes on watching
    second = subprocess.Popen(
        [sys.executable, "-m", "batchgui", "--data-dir", str(data), "resume", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: len(list(out.glob("*.md"))) == 5, what="the late files")
        until(lambda: len(_tasks(data)) == 8, what="every file looked at")
    finally:
        second.send_signal(signal.SIGINT)
        _, err = second.communicate(timeout=60)
    assert "resuming the last watch" in err and f"watching {inbox}" in err
    tasks = _tasks(data)
    # the early files were looked at again and skipped as done: not redone
    assert [s for n, s in tasks if n.startswith("early")].count("skipped") == 3
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("early*.md")} == early_outputs
    assert sorted(status for name, status in tasks if name.startswith("late")) == [
        "completed",
        "completed",
    ]


def test_a_watch_stopped_on_purpose_is_not_resumed_by_resume(tmp_path):
    inbox, data = tmp_path / "in", tmp_path / "data"
    inbox.mkdir()
    base = [sys.executable, "-m", "batchgui", "--data-dir", str(data)]
    watch = subprocess.Popen(
        [*base, "watch", str(inbox), "--op", "checksum", "--out", str(tmp_path / "out")],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "watching" in watch.stderr.readline()  # said as it starts to look
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0 and "stopped watching" in err
    resumed = subprocess.run([*base, "resume"], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0
    assert "nothing to resume" in resumed.stderr and "watch --resume" in resumed.stderr


def _results(data: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(data / "batchgui.db")
    try:
        return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    finally:
        conn.close()


def test_sigterm_stops_an_idle_watch_as_ctrl_c_does_even_after_a_round(tmp_path):
    """`kill` or a service manager stops a watch on purpose: said, recorded as stopped,
    exit 0; also after a round (whose batch had signal handling of its own) and where
    SIGINT came ignored (a watch started in the background by a script)."""
    inbox, out, data = tmp_path / "in", tmp_path / "out", tmp_path / "data"
    inbox.mkdir()
    (inbox / "a.txt").write_text("alpha")
    base = [sys.executable, "-m", "batchgui", "--data-dir", str(data)]

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    watch = subprocess.Popen(
        [*base, "watch", str(inbox), "--op", "checksum", "--out", str(out),
         "--settle", "0.2", "--interval", "0.1"],
        stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint,
    )  # fmt: skip
    try:
        until(lambda: (out / "SHA256SUMS").exists(), what="the first round")
        until(lambda: len(_batches(data)) == 1 and _batches(data)[0]["status"] == "finished")
    finally:
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert "stopped watching" in err
    resumed = subprocess.run([*base, "resume"], capture_output=True, text=True, timeout=60)
    assert "nothing to resume" in resumed.stderr  # stopped on purpose, not cut off
