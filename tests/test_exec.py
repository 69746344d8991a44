"""The `exec` operation: argv without a shell, failures, and killing whole process groups."""

from __future__ import annotations

import asyncio
import os
import random
import shlex
import sys
import time
from pathlib import Path

import psutil
import pytest

from batchgui.core import BatchProcessor, BatchStatus, RetryPolicy, TaskStatus
from batchgui.operations.command import build_argv, fields, placeholders_in, run_command
from tests.conftest import Recorder, build_batch, make_files, wait_for

WEIRD_NAMES = [
    b"with space.txt",
    b'it\'s "quoted".txt',
    b"$HOME and `id`.txt",
    b"semi;colon && rm -rf x.txt",
    b"-n leading dash.txt",
    b"caf\xe9 latin1.txt",  # not UTF-8
    b"\xff\xfe raw bytes.txt",
    b"back\\slash*?[glob].txt",
]


def _weird_tree(root: Path) -> list[Path]:
    folder = root / "in"
    folder.mkdir()
    paths = []
    for raw in WEIRD_NAMES:
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))
        path.write_bytes(b"content of " + raw)
        paths.append(path)
    return paths


def _run(batch, spec, workers=2, retries=0):
    async def scenario():
        engine = BatchProcessor(workers, retry=RetryPolicy(max_retries=retries, base_delay_s=0))
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", ["async", "thread", "process"])
def test_file_names_reach_the_command_byte_for_byte_without_a_shell(tmp_path, mode):
    paths = _weird_tree(tmp_path)
    script = (
        "import os, sys; "
        "open(os.path.join(sys.argv[2], os.path.basename(sys.argv[1]) + '.seen'), 'wb')"
        ".write(os.fsencode(sys.argv[1]))"
    )
    template = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {{path}} {{out}}"
    out = tmp_path / "out"
    batch, spec = build_batch(
        run_command, [tmp_path / "in"], out, mode=mode, options={"command": template}
    )
    _run(batch, spec)
    assert batch.counts[TaskStatus.COMPLETED] == len(WEIRD_NAMES), [t.error for t in batch.tasks]
    for path in paths:
        seen = out / (path.name + ".seen")
        assert seen.read_bytes() == os.fsencode(path)


def test_shell_mode_quotes_every_field(tmp_path):
    paths = _weird_tree(tmp_path)
    out = tmp_path / "out"
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        out,
        mode="async",
        options={"command": "cp -- {path} {out}/{name}.copy; echo $0", "shell": True},
    )
    _run(batch, spec)
    assert batch.counts[TaskStatus.COMPLETED] == len(WEIRD_NAMES), [t.error for t in batch.tasks]
    for path in paths:
        assert (out / (path.name + ".copy")).read_bytes() == path.read_bytes()
    assert not (tmp_path / "in" / "x").exists()


def test_non_zero_exit_fails_with_the_tail_of_stderr(tmp_path):
    make_files(tmp_path / "in", 2)
    command = "sh -c 'echo first line >&2; echo the real reason >&2; exit 7'"
    batch, spec = build_batch(
        run_command, [tmp_path / "in"], tmp_path / "out", options={"command": command}
    )
    _run(batch, spec, retries=1)
    for task in batch.tasks:
        assert task.status is TaskStatus.FAILED
        assert task.attempts == 2  # an ordinary failure is retried
        assert task.error.startswith("exit status 7")
        assert "the real reason" in task.error


def test_each_task_keeps_only_its_own_output_though_the_files_are_reused(tmp_path):
    """Output files pass from command to command (spawn.OutputFiles): what one wrote,
    long or short, never shows in the tail or the error of the next."""
    files = make_files(tmp_path / "in", 12)
    script = (
        'case "$1" in *[02468].txt) printf \'%s\\n\' LONG-OUT-$(basename "$1")'
        ' LONG-OUT-$(basename "$1") ;; esac; echo err-$(basename "$1") >&2;'
        ' case "$1" in *3.txt) exit 3 ;; esac'
    )
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        tmp_path / "out",
        options={"command": "sh -c " + shlex.quote(script) + " sh {path}"},
    )
    _run(batch, spec, workers=1)
    assert len(batch.tasks) == len(files)
    for task in batch.tasks:
        name = Path(task.path).name
        assert task.data["stderr_tail"] == f"err-{name}\n"
        out = task.data.get("stdout_tail", "")
        assert out in ("", f"LONG-OUT-{name}\nLONG-OUT-{name}\n"), out
        if name.endswith("3.txt"):
            assert task.status is TaskStatus.FAILED
            assert task.error == f"exit status 3: err-{name}"
        else:
            assert task.status is TaskStatus.COMPLETED


def test_a_missing_command_fails_permanently(tmp_path):
    make_files(tmp_path / "in", 1)
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        tmp_path / "out",
        options={"command": "no-such-command-xyz {path}"},
    )
    _run(batch, spec, retries=3)
    [task] = batch.tasks
    assert task.status is TaskStatus.FAILED and task.attempts == 1
    assert task.error == "command not found: no-such-command-xyz"


def test_names_that_are_not_utf8_are_logged_escaped_not_refused(tmp_path):
    """A failing file whose name is not UTF-8: its failure reaches the log (the name
    escaped) and nothing but batchgui's own lines reaches the terminal."""
    from tests.conftest import batchgui_in

    _weird_tree(tmp_path)
    data = tmp_path / "data"
    result = batchgui_in(data, "run", str(tmp_path / "in"), "--exec", "false {path}",
                         "--out", str(tmp_path / "out"), "--quiet")  # fmt: skip
    assert result.returncode == 1
    assert "Logging error" not in result.stderr and "Traceback" not in result.stderr
    log = (data / "logs" / "batchgui.log").read_text(encoding="utf-8")
    assert "raw bytes.txt failed: exit status 1" in log
    assert "\\udcff" in log  # the byte the name had, escaped


def test_placeholders_are_filled_and_unknown_ones_refused(tmp_path):
    src = tmp_path / "root" / "sub" / "photo.tar.gz"
    values = fields(src, tmp_path / "out" / "sub", tmp_path / "root")
    assert build_argv("x {name} {stem} {ext} {rel} {parent}", values, shell=False) == [
        "x",
        "photo.tar.gz",
        "photo.tar",
        ".gz",
        "sub/photo.tar.gz",
        str(src.parent),
    ]
    assert placeholders_in("a {path} {{literal}} {out}") == {"path", "out"}
    with pytest.raises(ValueError, match=r"unknown placeholder \{size\}"):
        placeholders_in("echo {size}")
    with pytest.raises(ValueError, match="unknown placeholder"):
        placeholders_in("echo {path.name}")


def _token() -> str:
    return f"{random.randint(10000, 99999)}.{random.randint(100, 999)}"


def _processes_with(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(token in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("mode", ["async", "thread", "process"])
def test_cancel_all_kills_commands_and_their_children_and_starts_nothing(tmp_path, mode):
    make_files(tmp_path / "in", 6)
    token = _token()
    # the shell starts two grandchildren; both must die with it
    command = f"sh -c 'sleep {token} & sleep {token}; wait'"
    batch, spec = build_batch(
        run_command, [tmp_path / "in"], tmp_path / "out", mode=mode, options={"command": command}
    )

    async def scenario():
        engine = BatchProcessor(2)
        rec = Recorder()
        rec.attach(engine)
        engine.submit(batch, spec)
        # two shells and their four sleeps are up
        await wait_for(lambda: len(_processes_with(token)) >= 6, timeout=20)
        cancelled_at = time.monotonic()
        engine.cancel_batch(batch)
        await wait_for(lambda: not _processes_with(token), timeout=2)
        gone_after = time.monotonic() - cancelled_at
        await asyncio.wait_for(engine.wait(batch), 10)
        await engine.aclose()
        return rec, cancelled_at, gone_after

    rec, cancelled_at, gone_after = asyncio.run(scenario())
    assert gone_after < 2
    assert not [t for t, _ in rec.of("task_started") if t > cancelled_at]
    assert batch.counts[TaskStatus.CANCELLED] == 6
    assert batch.status is BatchStatus.CANCELLED
    assert all(t.error_kind == "cancelled" for t in batch.tasks)


@pytest.mark.parametrize("mode", ["async", "thread", "process"])
def test_timeout_kills_the_command_group(tmp_path, mode):
    make_files(tmp_path / "in", 1)
    token = _token()
    batch, spec = build_batch(
        run_command,
        [tmp_path / "in"],
        tmp_path / "out",
        mode=mode,
        options={"command": f"sh -c 'sleep {token} & wait'"},
        timeout_s=0.5,
    )

    async def scenario():
        engine = BatchProcessor(1)
        await asyncio.wait_for(engine.run(batch, spec), 20)
        await wait_for(lambda: not _processes_with(token), timeout=2)
        await engine.aclose()

    asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.FAILED
    assert task.error_kind == "timeout"


def test_a_program_that_is_not_installed_is_refused_before_the_batch(tmp_path):
    """A typo in the program's name is one line before anything runs, not a failed task
    per file; a program named by a placeholder, or run on a cluster (whose workers may
    have what this computer lacks), is not looked for here."""
    from batchgui.operations.registry import find_operation
    from batchgui.session.batch_session import check_here
    from batchgui.session.settings import ClusterSettings, RunSettings
    from tests.conftest import batchgui_in

    make_files(tmp_path / "in", 3)
    data = tmp_path / "data"
    for template, said in (
        ("no-such-command-xyz {path}", "command not found: no-such-command-xyz"),
        (f"{tmp_path / 'in'} {{path}}", "not executable"),  # a folder, not a program
    ):
        result = batchgui_in(data, "run", str(tmp_path / "in"), "--exec", template,
                             "--out", str(tmp_path / "out"))  # fmt: skip
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("batchgui: error: ") and said in line
    assert "no batches" in batchgui_in(data, "history").stdout  # none left pending
    assert not (tmp_path / "out").exists()

    spec = find_operation("exec")
    for template, cluster in (("{path} --version", None), ("no-such-command-xyz {path}",
                              ClusterSettings("tcp://elsewhere:8786"))):  # fmt: skip
        options = spec.resolve_options({"command": template})
        check_here(spec, RunSettings(operation="exec", options=options, cluster=cluster))
    with pytest.raises(ValueError, match="command not found: no-such-command-xyz"):
        options = spec.resolve_options({"command": "no-such-command-xyz {path}"})
        check_here(spec, RunSettings(operation="exec", options=options))


def test_resume_with_the_program_gone_says_so_and_keeps_the_batch(tmp_path):
    """The program was uninstalled between a pause and `resume`: one line, and the tasks
    left stay as they were (not each failed for good); back in place, resume finishes."""
    import json

    from tests.conftest import batchgui_in

    data = tmp_path / "data"
    tool, _ = paused_on_a_tool(tmp_path, data, files=4)
    tool.rename(tool.with_name("moved.sh"))
    again = batchgui_in(data, "resume")
    assert again.returncode == 2
    [line] = again.stderr.strip().splitlines()
    assert line.startswith("batchgui: error: cannot resume batch ") and str(tool) in line
    [entry] = json.loads(batchgui_in(data, "history", "--json").stdout)["batches"]
    assert entry["counts"]["failed"] == 0 and entry["status"] == "paused"
    tool.with_name("moved.sh").rename(tool)
    finished = batchgui_in(data, "resume", "--quiet")
    assert finished.returncode == 0, finished.stderr
    assert len(list((tmp_path / "in").glob("*.done"))) == 4


def paused_on_a_tool(tmp_path: Path, data: Path, files: int) -> tuple[Path, str]:
    """An exec batch over `files` files, run by a script of its own (tool.sh, which
    marks each file done), paused after one task: (the script, the batch's id)."""
    import json
    import stat

    from tests.conftest import batchgui_in

    make_files(tmp_path / "in", files)
    tool = tmp_path / "bin" / "tool.sh"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\ncp "$1" "$1.done"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    paused = batchgui_in(data, "run", str(tmp_path / "in"), "--exec", f"{tool} {{path}}",
                         "--workers", "1", "--stop-after", "1",
                         "--out", str(tmp_path / "out"))  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    [entry] = json.loads(batchgui_in(data, "history", "--json").stdout)["batches"]
    return tool, entry["batch_id"]
