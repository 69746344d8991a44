"""`batchgui run/resume --cluster local:2`: real batchgui processes with a real
store, their LocalCluster of two worker processes started and ended with them.

Same results as process mode (outputs, statuses, failure kinds, report), a
batch a worker cannot do refused in one line before anything runs, and a
batchgui killed with SIGKILL mid-batch leaves no worker behind and resumes on
a fresh cluster with nothing lost.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import batchgui_in, make_files
from tests.test_recovery import _group_alive, world  # noqa: F401 - the fixture

pytest.importorskip("distributed")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _comparable(report: dict, out: Path) -> list[tuple]:
    """What a user compares between two runs: per file, its status, kind, error and
    the bytes of its outputs (named relative to the output folder)."""
    rows = []
    for task in report["tasks"]:
        outputs = tuple(
            (os.path.relpath(p, out), Path(p).read_bytes()) for p in sorted(task["outputs"])
        )
        rows.append((task["path"], task["status"], task.get("error_kind"), task.get("error"),
                     outputs, json.dumps(task.get("data"), sort_keys=True)))  # fmt: skip
    return sorted(rows)


@pytest.mark.parametrize(
    ("op", "sources"),
    [("checksum", ["images", "pdf"]), ("text", ["office", "pdf"])],
)
def test_cluster_gives_the_same_outputs_and_report_as_process_mode(tmp_path, op, sources):
    inputs = tmp_path / "in"
    for name in sources:
        shutil.copytree(CORPUS / name, inputs / name)
    results = {}
    for where, flags in (("process", ["--mode", "process"]), ("cluster", ["--cluster", "local:2"])):
        out = tmp_path / f"out-{where}"
        report = tmp_path / f"{where}.json"
        run = batchgui_in(tmp_path / f"data-{where}", "run", str(inputs), "--op", op,
                          "--out", str(out), "--report", str(report), "--quiet",
                          "--retries", "0", *flags)  # fmt: skip
        assert run.returncode in (0, 1), run.stderr
        data = json.loads(report.read_text())
        results[where] = (run.returncode, _comparable(data, out), data)
    assert results["cluster"][0] == results["process"][0]
    assert results["cluster"][1] == results["process"][1]
    cluster, process = results["cluster"][2], results["process"][2]
    assert cluster["mode"] == "cluster" and cluster["workers"] == 2
    assert cluster["totals"] == process["totals"]
    assert cluster["totals"]["completed"] > 0
    assert [Path(p).read_bytes() for p in cluster["outputs"]] == [
        Path(p).read_bytes() for p in process["outputs"]
    ]  # the checksum manifest


def test_a_batch_a_worker_cannot_read_is_refused_in_one_line(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text("a\n")
    run = batchgui_in(tmp_path / "data", "run", str(inputs), "--op", "checksum",
                      "--out", str(tmp_path / "out"), "--cluster", "local:1",
                      "--path-map", f"{inputs}=/nonexistent/share")  # fmt: skip
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "cannot read /nonexistent/share/a.txt" in lines[0]
    assert "batchgui resume" in lines[0]  # the batch is kept, to resume elsewhere
    history = batchgui_in(tmp_path / "data", "history", "--json")
    [stored] = json.loads(history.stdout)["batches"]
    assert stored["counts"]["completed"] == 0, stored


def test_bad_cluster_options_are_one_line(tmp_path):
    for args, expected in (
        (["--cluster", "nonsense"], "is not an address"),
        (["--path-map", "/a=/b"], "go with --cluster"),
        (["--cluster", "local:1", "--path-map", "nothing"], "LOCAL=REMOTE"),
        (["--cluster", "tcp://127.0.0.1:9"], "cannot connect to the cluster tcp://127.0.0.1:9"),
    ):
        run = batchgui_in(tmp_path / "data", "run", str(tmp_path), "--op", "checksum",
                          "--out", str(tmp_path / "out"), *args, timeout=60)  # fmt: skip
        assert run.returncode == 2, (args, run.stderr)
        assert expected in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_killed_mid_batch_then_resumed_on_a_fresh_cluster(world):  # noqa: F811
    args = world.command("process", "--cluster", "local:2")
    proc = subprocess.Popen(
        args,
        env={**world.env, "CRASHOPS_SLEEP": "0.15"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while sum(world.runs_per_file().values()) < 10 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # batchgui only: its cluster must go with it
    proc.wait(timeout=30)
    survivors = _group_alive(proc.pid, grace_s=10)
    assert not survivors, f"outlived batchgui: {survivors}"
    done_before = sum(world.runs_per_file().values())
    assert done_before < 60
    resumed = world.run(
        [sys.executable, "-m", "batchgui", "resume", "--quiet", "--cluster", "local:2"],
        env={"CRASHOPS_SLEEP": "0.01"},
    )
    assert resumed.returncode == 0, resumed.stderr
    world.check(kills=1)


def test_a_batch_stopped_on_a_cluster_resumes_here_with_cluster_off(tmp_path):
    inputs = tmp_path / "in"
    make_files(inputs, 6)
    data, out = tmp_path / "data", tmp_path / "out"
    first = batchgui_in(data, "run", str(inputs), "--op", "checksum", "--out", str(out),
                        "--cluster", "local:1", "--stop-after", "2", "--quiet")  # fmt: skip
    assert first.returncode == 0, first.stderr
    report = tmp_path / "r.json"
    second = batchgui_in(data, "resume", "--cluster", "off", "--quiet", "--report", str(report))
    assert second.returncode == 0, second.stderr
    done = json.loads(report.read_text())
    assert done["mode"] != "cluster" and done["totals"]["completed"] == 6
