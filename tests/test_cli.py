"""The command line as a user runs it: a real `batchgui` process, exit codes, report JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import psutil
import pytest

from tests.conftest import make_files

REPORT_SCHEMA = {
    "type": "object",
    "required": [
        "schema",
        "batch_id",
        "op",
        "mode",
        "workers",
        "started_at",
        "finished_at",
        "elapsed_s",
        "totals",
        "tasks",
    ],
    "properties": {
        "schema": {"const": 1},
        "batch_id": {"type": "string", "minLength": 1},
        "op": {"type": "string"},
        "mode": {"enum": ["async", "thread", "process"]},
        "workers": {"type": "integer", "minimum": 1},
        "started_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": "string", "format": "date-time"},
        "elapsed_s": {"type": "number", "minimum": 0},
        "totals": {
            "type": "object",
            "required": ["total", "completed", "failed", "skipped", "cancelled"],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "path",
                    "status",
                    "reason",
                    "duplicate_of",
                    "attempts",
                    "error",
                    "error_kind",
                    "outputs",
                    "duration_s",
                ],
                "properties": {
                    "path": {"type": "string"},
                    "status": {"enum": ["completed", "failed", "skipped", "cancelled"]},
                    "reason": {"enum": [None, "duplicate", "unchanged"]},
                    "attempts": {"type": "integer", "minimum": 0},
                    "error": {"type": ["string", "null"]},
                    "error_kind": {
                        "enum": [
                            None,
                            "password_required",
                            "corrupt",
                            "unsupported",
                            "too_large",
                            "timeout",
                            "crashed",
                            "cancelled",
                            "error",
                        ]
                    },
                    "outputs": {"type": "array", "items": {"type": "string"}},
                    "duration_s": {"type": ["number", "null"]},
                },
            },
        },
    },
}


def batchgui(*args: str, cwd: Path | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "batchgui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def test_run_checksum_exits_0_and_reports_every_task(tmp_path):
    make_files(tmp_path / "photos", 12)
    result = batchgui(
        "run",
        str(tmp_path / "photos"),
        "--op",
        "checksum",
        "--out",
        str(tmp_path / "sums"),
        "--workers",
        "4",
        "--report",
        "-",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["totals"] == {
        "total": 12,
        "completed": 12,
        "failed": 0,
        "skipped": 0,
        "cancelled": 0,
    }
    assert report["mode"] == "thread" and report["workers"] == 4
    assert "checksum: 12 completed, 0 failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_exec_failure_exits_1_with_error_kinds_in_the_report(tmp_path):
    make_files(tmp_path / "logs", 3)
    (tmp_path / "logs" / "bad.log").write_text("x")
    report_file = tmp_path / "report.json"
    result = batchgui(
        "run",
        str(tmp_path / "logs"),
        "--exec",
        "sh -c 'case \"$0\" in *bad*) echo no good >&2; exit 4;; esac' {path}",
        "--mode",
        "async",
        "--workers",
        "2",
        "--retries",
        "1",
        "--backoff",
        "0",
        "--report",
        str(report_file),
    )
    assert result.returncode == 1
    report = json.loads(report_file.read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    failed = [t for t in report["tasks"] if t["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["error_kind"] == "error" and failed[0]["attempts"] == 2
    assert failed[0]["error"] == "exit status 4: no good"
    assert "failed: " in result.stderr and "bad.log" in result.stderr


def test_timeout_shows_as_error_kind_timeout(tmp_path):
    make_files(tmp_path / "in", 1)
    result = batchgui(
        "run",
        str(tmp_path / "in"),
        "--exec",
        "sleep 30",
        "--timeout",
        "0.3",
        "--report",
        "-",
        "--quiet",
    )
    assert result.returncode == 1
    [task] = json.loads(result.stdout)["tasks"]
    assert task["error_kind"] == "timeout"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{missing}", "--op", "checksum"],
        ["run", "{in}", "--op", "no-such-op"],
        ["run", "{in}", "--exec", "echo {size}"],
        ["run", "{in}", "--exec", "echo 'unbalanced"],
        ["run", "{in}", "--op", "checksum", "--set", "algo"],
        ["run", "{in}", "--op", "checksum", "--set", "colour=red"],
        ["run", "{in}", "--op", "checksum", "--set", "algo=crc32"],
        ["run", "{in}", "--op", "checksum", "--workers", "none"],
        ["run", "{in}", "--op", "checksum", "--mode", "gpu"],
        ["run", "{in}", "--op", "checksum", "--shell"],
        ["run", "{in}", "--op", "checksum", "--report", "{missing}/r.json"],
        ["run", "{in}"],
        ["frobnicate"],
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path, args):
    make_files(tmp_path / "in", 1)
    filled = [
        a.format(missing=tmp_path / "nope", **{"in": tmp_path / "in"})
        if "{missing}" in a or a == "{in}"
        else a
        for a in args
    ]
    result = batchgui(*filled, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("batchgui: error: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "batchgui-output").exists()


def test_ops_lists_the_built_in_operations(tmp_path):
    result = batchgui("ops", "--json")
    assert result.returncode == 0
    names = {op["name"]: op for op in json.loads(result.stdout)["operations"]}
    assert {"checksum", "exec"} <= set(names)
    assert names["checksum"]["options"][0]["choices"] == ["sha256", "blake3", "md5"]
    human = batchgui("ops")
    assert "checksum" in human.stdout and "--set algo=" in human.stdout


def test_version_comes_from_the_package():
    from batchgui import __version__

    result = batchgui("--version")
    assert result.stdout.strip() == f"batchgui {__version__}"


def test_ctrl_c_stops_running_commands_and_exits_130(tmp_path):
    make_files(tmp_path / "in", 4)
    token = f"{time.time_ns() % 100000}.5"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchgui",
            "run",
            str(tmp_path / "in"),
            "--exec",
            f"sleep {token}",
            "--workers",
            "2",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sleeps = [
                p
                for p in psutil.Process(proc.pid).children(recursive=True)
                if token in " ".join(p.cmdline())
            ]
            if len(sleeps) == 2:
                break
            time.sleep(0.02)
        assert len(sleeps) == 2
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in sleeps)


def test_python_dash_m_and_the_script_agree(tmp_path):
    script = Path(sys.executable).with_name("batchgui")
    if not script.exists():
        script = Path(os.environ.get("VIRTUAL_ENV", sys.prefix)) / "bin" / "batchgui"
    result = subprocess.run([str(script), "ops"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "checksum" in result.stdout


def test_a_terminal_gets_a_progress_bar_and_a_pipe_does_not(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    make_files(tmp_path / "in", 30)
    args = [
        sys.executable,
        "-m",
        "batchgui",
        "run",
        str(tmp_path / "in"),
        "--exec",
        "sleep 0.02",
        "--workers",
        "2",
        "--out",
        str(tmp_path / "out"),
    ]
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert proc.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert "exec" in text and "30/30" in text and "files/s" in text and "ETA" in text
    piped = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert "30/30" not in piped.stderr and "exec: 30 completed" in piped.stderr


PREVIEW_SCHEMA = {
    "type": "object",
    "required": ["files", "totals"],
    "properties": {
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "size", "included", "reason", "duplicate_of"],
                "properties": {
                    "reason": {
                        "enum": [
                            None,
                            "extension",
                            "size",
                            "date",
                            "name",
                            "excluded",
                            "hidden",
                            "symlink",
                            "duplicate",
                            "unreadable",
                        ]
                    }
                },
            },
        },
        "totals": {"type": "object", "required": ["files", "included", "bytes", "excluded"]},
    },
}


def test_preview_json_explains_every_file(tmp_path):
    root = tmp_path / "docs"
    make_files(root, 3)
    (root / "zz-copy.txt").write_bytes((root / "f0000.txt").read_bytes())
    (root / "notes.md").write_text("x")
    (root / ".cache").mkdir()
    (root / ".cache" / "c.txt").write_text("c")
    result = batchgui("preview", str(root), "--ext", ".txt", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, PREVIEW_SCHEMA)
    rows = {Path(f["path"]).name: f for f in report["files"]}
    assert rows["notes.md"]["reason"] == "extension"
    assert rows[".cache"]["reason"] == "hidden"
    assert rows["f0000.txt"]["included"] is True
    assert rows["zz-copy.txt"]["reason"] == "duplicate"
    assert rows["zz-copy.txt"]["duplicate_of"] == str(root / "f0000.txt")
    assert report["totals"]["included"] == 3
    assert report["totals"]["excluded"] == {"duplicate": 1, "extension": 1, "hidden": 1}


def test_preview_text_lists_files_groups_and_reasons(tmp_path):
    root = tmp_path / "docs"
    make_files(root, 2)
    (root / "g-copy.txt").write_bytes((root / "f0001.txt").read_bytes())
    (root / "big.bin").write_bytes(b"x" * 5000)
    result = batchgui("preview", str(root), "--max-size", "1K")
    assert result.returncode == 0
    assert "2 files to process" in result.stdout
    assert "= " + str(root / "g-copy.txt") in result.stdout
    assert "size: 1 (big.bin)" in result.stdout


def test_run_with_filters_and_no_dedupe(tmp_path):
    root = tmp_path / "logs"
    make_files(root, 4)
    (root / "zdup.txt").write_bytes((root / "f0000.txt").read_bytes())
    (root / "skip.md").write_text("x")
    result = batchgui(
        "run",
        str(root),
        "--op",
        "checksum",
        "--ext",
        "txt",
        "--out",
        str(tmp_path / "sums"),
        "--report",
        "-",
    )
    report = json.loads(result.stdout)
    assert report["totals"] == {
        "total": 5,
        "completed": 4,
        "failed": 0,
        "skipped": 1,
        "cancelled": 0,
    }
    dup = next(t for t in report["tasks"] if t["path"].endswith("zdup.txt"))
    assert (dup["status"], dup["reason"]) == ("skipped", "duplicate")
    manifest = (tmp_path / "sums" / "SHA256SUMS").read_text()
    assert "  zdup.txt\n" in manifest and "skip.md" not in manifest
    result = batchgui(
        "run",
        str(root),
        "--op",
        "checksum",
        "--ext",
        "txt",
        "--no-dedupe",
        "--force",
        "--out",
        str(tmp_path / "sums"),
        "--report",
        "-",
    )
    assert json.loads(result.stdout)["totals"]["completed"] == 5


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "(["],
        ["--min-size", "big"],
        ["--newer-than", "someday"],
        ["--min-size", "2M", "--max-size", "1M"],
    ],
)
def test_bad_filters_are_one_line_errors(tmp_path, args):
    make_files(tmp_path / "in", 1)
    for command in (
        ["preview", str(tmp_path / "in")],
        ["run", str(tmp_path / "in"), "--op", "checksum"],
    ):
        result = batchgui(*command, *args, cwd=tmp_path)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_names_that_are_not_utf8_are_printed_as_their_bytes_even_to_a_strict_stream(tmp_path):
    """A file name that is not UTF-8 reaches `preview` and `report --csv` as its own
    bytes (as `find` prints it) where stdout's encoding is strict, as it is in most
    Linux desktops' locales; never a UnicodeEncodeError traceback."""
    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"caf\xe9 \xff.txt")
    with open(raw, "wb") as handle:
        handle.write(b"content")
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "batchgui", "--data-dir", str(data), *args],
                              capture_output=True, env=env, timeout=60)  # fmt: skip

    preview = run("preview", str(folder))
    assert preview.returncode == 0, preview.stderr.decode(errors="replace")
    assert raw in preview.stdout
    ran = run("run", str(folder), "--op", "checksum", "--out", str(tmp_path / "out"), "--quiet")
    assert ran.returncode == 0, ran.stderr.decode(errors="replace")
    [entry] = json.loads(run("history", "--json").stdout)["batches"]
    report = run("report", "--csv", entry["batch_id"])
    assert report.returncode == 0 and b"Traceback" not in report.stderr
    assert raw in report.stdout


def test_a_data_folder_that_is_a_file_is_one_clear_line(tmp_path):
    taken = tmp_path / "data"
    taken.write_text("not a folder")
    result = batchgui("--data-dir", str(taken), "history")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"batchgui: error: the data folder {taken} is a file, not a folder"
    )
    assert taken.read_text() == "not a folder"  # left as it was


def test_control_characters_in_a_file_name_are_escaped_in_the_summary(tmp_path):
    """A name holding a newline or an escape sequence stays one line of the summary and
    is shown, not obeyed by the terminal; the command still gets the name as it is."""
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["new\nline.txt", "\x1b[2Jclear.txt", "bell\x07\x9b.txt"]
    for name in names:
        (folder / name).write_text("x")
    script = 'test -f "$1" && echo "refused $(basename "$1")" >&2 && exit 3'
    result = batchgui(
        "run", str(folder), "--exec", f"sh -c '{script}' sh {{path}}",
        "--retries", "0", "--out", str(tmp_path / "out\x1b]0;title\x07"),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 3, result.stderr  # one line each: no name broke its line
    assert not any(c in result.stderr for c in "\x1b\x07\x9b")
    shown = "\n".join(failed)
    assert f"{folder}/new\\nline.txt: exit status 3: refused new | line.txt" in shown
    assert "\\x1b[2Jclear.txt" in shown and "bell\\x07\\x9b.txt" in shown
    history = batchgui("history").stdout  # the output folder's name, too
    assert "out\\x1b]0;title\\x07" in history and "\x1b" not in history


def test_a_run_that_finds_nothing_to_do_says_why_and_keeps_the_manifest(tmp_path):
    """Every file left out (a filter, an operation that does not take them): the summary
    says what left them out, and the manifest an earlier run wrote is not emptied."""
    make_files(tmp_path / "in", 3)
    out = tmp_path / "sums"
    common = ("--data-dir", str(tmp_path / "data"), "run", str(tmp_path / "in"), "--out", str(out))
    first = batchgui(*common, "--op", "checksum", "--quiet")
    assert first.returncode == 0, first.stderr
    manifest = (out / "SHA256SUMS").read_text()
    assert len(manifest.splitlines()) == 3

    again = batchgui(*common, "--op", "checksum", "--ext", ".pdf")
    assert again.returncode == 0, again.stderr
    assert "nothing to process: 3 files found, all left out: extension: 3 (such as " in again.stderr
    assert (out / "SHA256SUMS").read_text() == manifest

    pictures = batchgui(*common, "--op", "image")
    assert "all left out: unsupported: 3 (such as " in pictures.stderr
    assert "image takes .bmp" in pictures.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = batchgui("--data-dir", str(tmp_path / "data"), "run", str(empty), "--op", "checksum",
                    "--out", str(out))  # fmt: skip
    assert "nothing to process: no files in the paths given" in none.stderr
    assert (out / "SHA256SUMS").read_text() == manifest


def test_preview_says_a_shared_reason_once_for_the_files_it_left_out(tmp_path):
    make_files(tmp_path / "in", 4)
    result = batchgui("--data-dir", str(tmp_path / "data"), "preview", str(tmp_path / "in"),
                      "--op", "image")  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith("  unsupported: ")]
    assert line.startswith("  unsupported: 4 (image takes .bmp, ")
    assert line.endswith(".webp: f0000.txt, f0001.txt, f0002.txt, … 1 more)")
