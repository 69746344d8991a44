"""Stopping a command-line run early: --stop-after, and every Ctrl-C choice of
--on-interrupt, each leaving no child process behind (checked with psutil)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from tests.conftest import make_files
from tests.test_control import burner, tagged


def batchgui(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "batchgui", *args], capture_output=True, text=True, timeout=120
    )


def totals(report) -> dict:
    return json.loads(report.read_text())["totals"]


def test_stop_after_pauses_then_resume_finishes(tmp_path):
    make_files(tmp_path / "in", 10)
    first = batchgui(
        "run",
        str(tmp_path / "in"),
        "--exec",
        "true",
        "--workers",
        "2",
        "--stop-after",
        "3",
        "--report",
        str(tmp_path / "r1.json"),
        "--quiet",
    )
    assert first.returncode == 0, first.stderr
    assert "paused after 3 task(s)" in first.stderr and "batchgui resume" in first.stderr
    assert totals(tmp_path / "r1.json")["completed"] == 3
    rest = batchgui("resume", "--report", str(tmp_path / "r2.json"), "--quiet")
    assert rest.returncode == 0, rest.stderr
    assert totals(tmp_path / "r2.json")["completed"] == 10


def test_stop_after_must_be_positive(tmp_path):
    make_files(tmp_path / "in", 1)
    bad = batchgui("run", str(tmp_path / "in"), "--exec", "true", "--stop-after", "0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--stop-after" in bad.stderr
    # refused before a batch was made: none is left pending for `resume` to pick up
    assert json.loads(batchgui("history", "--json").stdout)["batches"] == []


@pytest.mark.parametrize(
    ("choice", "mode", "cpu_seconds", "expected"),
    [
        ("save", "async", 30, {"completed": 0, "cancelled": 0}),
        ("save", "process", 30, {"completed": 0, "cancelled": 0}),
        ("drain", "async", 1.0, {"completed": 2, "cancelled": 0}),
        ("kill", "thread", 30, {"completed": 0, "cancelled": 6}),
    ],
)
def test_ctrl_c_saves_drains_or_kills_and_leaves_no_child(
    tmp_path, choice, mode, cpu_seconds, expected
):
    marker = f"batchgui-test-{uuid.uuid4().hex}"
    make_files(tmp_path / "in", 6)
    report = tmp_path / "r.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchgui",
            "run",
            str(tmp_path / "in"),
            "--exec",
            burner(marker, cpu_seconds),
            "--mode",
            mode,
            "--workers",
            "2",
            "--retries",
            "0",
            "--on-interrupt",
            choice,
            "--report",
            str(report),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(tagged(marker)) < 2:
            assert time.monotonic() < deadline, "the commands did not start"
            time.sleep(0.02)
        children = tagged(marker)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    alive = [p for p in children + tagged(marker) if p.is_running()]
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], "a command outlived it"
    counts = totals(report)
    assert {k: counts[k] for k in expected} == expected
    if choice != "kill":
        assert "batchgui resume" in err
