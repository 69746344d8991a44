"""The platform layer, both strategies on this machine: process trees frozen,
thawed and killed whole; interrupts reaching the loop; file identity; the
package without the POSIX-only modules; and the process-control tests run again
under the portable strategy (what Windows uses)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from batchgui.core import platform
from batchgui.core.platform import files, interrupts, jobs, processes
from tests.test_control import cpu_of

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ["native", "portable"]

# a command whose two grandchildren burn CPU: the tree a Pause must stop whole
TREE = (
    "import subprocess, sys\n"
    "burn = [sys.executable, '-c', 'while True: pass']\n"
    "kids = [subprocess.Popen(burn) for _ in range(2)]\n"
    "[k.wait() for k in kids]\n"
)


@pytest.fixture(params=STRATEGIES)
def strategy(request, monkeypatch):
    monkeypatch.setenv(platform.ENV, request.param)
    assert platform.strategy() == request.param
    return request.param


def _start_tree() -> tuple[subprocess.Popen, list[psutil.Process]]:
    proc = subprocess.Popen([sys.executable, "-c", TREE], **processes.group_options())
    leader = psutil.Process(proc.pid)
    deadline = time.monotonic() + 10
    while len(leader.children(recursive=True)) < 2:
        assert time.monotonic() < deadline, "the tree never started"
        time.sleep(0.01)
    return proc, [leader, *leader.children(recursive=True)]


def alive(tree: list[psutil.Process]) -> list[psutil.Process]:
    """Members still running (a zombie has ended: only its parent's wait is missing)."""
    running = []
    for member in tree:
        try:
            if member.status() != psutil.STATUS_ZOMBIE:
                running.append(member)
        except psutil.NoSuchProcess:
            pass
    return running


def _cpu_over(tree: list[psutil.Process], seconds: float) -> float:
    before = cpu_of(tree)
    time.sleep(seconds)  # the interval being measured, not a wait for a condition
    return cpu_of(tree) - before


def test_a_frozen_tree_uses_no_cpu_and_a_killed_one_is_gone(strategy):
    proc, tree = _start_tree()
    try:
        processes.freeze_tree(proc.pid)
        time.sleep(0.1)  # signals land
        frozen = _cpu_over(tree, 0.5)
        assert frozen < 0.05, f"{strategy}: {frozen:.3f} s of CPU while frozen"
        processes.thaw_tree(proc.pid)
        assert _cpu_over(tree, 0.3) > 0.1, "thawed, the grandchildren burn again"
        began = time.monotonic()
        processes.kill_tree(proc.pid)
        while alive(tree) and time.monotonic() - began < 10:
            time.sleep(0.002)
        took = time.monotonic() - began
        proc.wait(timeout=10)
        assert alive(tree) == []
        assert took < 2.0, f"{strategy}: killing the tree took {took:.2f} s"
    finally:
        for member in tree:
            with contextlib.suppress(psutil.Error):
                member.kill()


def test_interrupts_reach_the_loop_and_are_given_back(strategy):
    previous = signal.getsignal(signal.SIGINT)

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        seen = asyncio.Event()
        release = interrupts.catch_interrupts(loop, seen.set)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(seen.wait(), 5)
        finally:
            release()
        return 1

    assert asyncio.run(scenario()) == 1
    assert signal.getsignal(signal.SIGINT) == previous


def test_identity_is_never_empty_and_hard_links_share_it(tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("x")
    os.link(first, tmp_path / "b.txt")
    entries = {e.name: e for e in os.scandir(tmp_path)}
    keys = {name: files.identity(e.stat(), e.path) for name, e in entries.items()}
    assert keys["a.txt"] == keys["b.txt"] != (0, 0)
    # a DirEntry without an inode (as on Windows) is asked again through os.stat
    bare = SimpleNamespace(st_ino=0, st_dev=0)
    assert files.identity(bare, first) == keys["a.txt"]


def test_hidden_flags_of_macos_and_windows(monkeypatch):
    import stat

    monkeypatch.setattr(files, "MACOS", True)
    assert files.hidden_by_flags(SimpleNamespace(st_flags=stat.UF_HIDDEN))
    assert not files.hidden_by_flags(SimpleNamespace(st_flags=0))
    monkeypatch.setattr(files, "MACOS", False)
    monkeypatch.setattr(files, "WINDOWS", True)
    assert files.hidden_by_flags(SimpleNamespace(st_file_attributes=2))


def test_the_windows_job_object_is_laid_out_as_windows_expects_and_idle_here():
    import ctypes

    # sizes of JOBOBJECT_EXTENDED_LIMIT_INFORMATION in the Windows SDK: a wrong
    # field makes SetInformationJobObject refuse, and commands outlive batchgui
    wide = ctypes.sizeof(ctypes.c_void_p) == 8
    assert ctypes.sizeof(jobs.BasicLimits) == (64 if wide else 48)
    assert ctypes.sizeof(jobs.ExtendedLimits) == (144 if wide else 112)
    limits = jobs.kill_on_close_limits()
    assert limits.BasicLimitInformation.LimitFlags == 0x2000
    # elsewhere the guardian does the job: contain() declines, the command runs on
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert jobs.contain(proc) is False
    assert proc.wait(timeout=10) == 0


def test_the_package_runs_without_the_posix_only_modules(tmp_path):
    """As on Windows: fcntl, resource, pwd and termios cannot be imported."""
    (tmp_path / "in").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "in" / name).write_text(name)
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "for name in ('fcntl', 'resource', 'pwd', 'termios'):\n"
        "    sys.modules[name] = None\n"
        "import batchgui.cli, batchgui.store, batchgui.core, batchgui.session\n"
        "sys.exit(batchgui.cli.main(sys.argv[1:]))\n"
    )
    args = ["--data-dir", str(tmp_path / "data"), "run", str(tmp_path / "in"), "--op", "checksum"]
    args += ["--out", str(tmp_path / "out"), "--mode", "process", "--quiet"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, platform.ENV: "portable"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "SHA256SUMS").read_text().count(".txt") == 2


PROCESS_CONTROL_TESTS = [
    "tests/test_control.py",  # pause, freeze, cancel, stop points, workers
    "tests/test_exec.py",  # commands: output, exit codes, time limits, hostile names
    "tests/test_cli_control.py",  # Ctrl-C, SIGTERM, the batch lock
    "tests/test_engine.py",  # crashes, time limits, the memory cap
    # the batch lock, Ctrl-C, and a kill at a fault point in each mode
    "tests/test_recovery.py::test_a_second_process_cannot_resume_a_running_batch",
    "tests/test_recovery.py::test_two_different_batches_run_at_once",
    "tests/test_recovery.py::test_ctrl_c_saves_state_and_resume_finishes",
    "tests/test_recovery.py::test_killed_at_a_fault_point_then_resumed",
]


def test_the_process_control_tests_pass_under_the_portable_strategy(tmp_path):
    """What Windows runs (psutil trees, the RSS watchdog, pipe threads, a parent
    watcher, signal.signal), exercised here by the same tests as the native one."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path / 'portable'}", *PROCESS_CONTROL_TESTS],
        cwd=ROOT,
        env={**os.environ, platform.ENV: "portable"},
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    print(f"portable strategy: {summary}")
    assert " passed" in summary and "failed" not in summary


@pytest.mark.parametrize("how", ["pidfd", "polling", "portable"])
def test_a_worker_thread_waits_for_a_command_in_slices_and_leaves_it_to_be_reaped(
    how, monkeypatch, tmp_path
):
    from batchgui.core.platform import exits, spawn

    if how == "portable":
        monkeypatch.setenv(platform.ENV, "portable")
    if how == "polling":  # a POSIX system with neither pidfd nor kqueue
        monkeypatch.setattr(exits, "pidfd_of", lambda pid: None)
    gate = tmp_path / "go"
    script = f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.01)"
    output = spawn.output_file()
    proc = spawn.spawn(
        [sys.executable, "-c", script], sys.executable, None, stdout=output, stderr=output
    )
    watch = exits.ExitWatch(proc)
    try:
        assert not watch.ended(0.05)  # running: the slice ends, the caller looks at its flag
        gate.touch()
        began = time.monotonic()
        assert watch.ended(20)
        assert time.monotonic() - began < 5  # woken by the exit, not by the end of the slice
        if how == "pidfd":  # not reaped: its group can still be ended safely
            assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
        assert proc.wait() == 0
    finally:
        watch.close()
        os.close(output)
