"""Results a user can trust: the same answer every run, figures that add up, and
filters and options that do what they say."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import psutil

from batchgui.core.operation import spec_of
from tests.plugins import testops
from tests.test_cli import batchgui


def test_exclude_regex_leaves_out_matching_paths(tmp_path):
    for rel in ("keep/a.txt", "build/b.txt", "src/build/c.txt", "src/rebuild.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    result = batchgui("preview", str(tmp_path), "--exclude-regex", "(^|/)build/", "--json")
    assert result.returncode == 0, result.stderr
    import json

    rows = {
        r["path"].removeprefix(str(tmp_path) + "/"): r for r in json.loads(result.stdout)["files"]
    }
    assert rows["keep/a.txt"]["included"] and rows["src/rebuild.txt"]["included"]
    assert rows["build"]["reason"] == "excluded" and rows["src/build"]["reason"] == "excluded"
    bad = batchgui("preview", str(tmp_path), "--exclude-regex", "(")
    assert bad.returncode == 2 and "bad exclude regex" in bad.stderr


def test_the_manifest_is_in_path_order_and_the_same_every_run(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"f{i:02d}.txt").write_text(f"content {i * 7919}")
    manifests = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        result = batchgui("run", str(src), "--op", "checksum", "--out", str(out), "--workers", "3")
        assert result.returncode == 0, result.stderr
        manifests.append((out / "SHA256SUMS").read_bytes())
    assert manifests[0] == manifests[1]
    names = [line.split(b"  ", 1)[1] for line in manifests[0].splitlines()]
    assert names == sorted(names) and len(names) == 30


def test_a_plugin_without_declared_options_gets_set_values_as_strings():
    spec = spec_of(testops.noop)
    assert spec.resolve_options({"level": "3", "mode": "fast"}) == {"level": "3", "mode": "fast"}


def test_the_summary_after_ctrl_c_never_shows_a_negative_time(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"f{i}.txt").write_text(str(i))
    token = f"{time.time_ns() % 100000 + 200}.25"
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchgui", "--data-dir", str(tmp_path / "data"), "run", str(src),
         "--exec", f"sleep {token}", "--workers", "2", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sleeps = [
                p for p in psutil.Process(proc.pid).children(recursive=True)
                if token in " ".join(p.cmdline())
            ]  # fmt: skip
            if len(sleeps) == 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    seconds = re.search(r" in (-?[\d.]+) s", err)
    assert seconds is not None and float(seconds.group(1)) >= 0, err


def test_files_the_operation_cannot_take_are_left_out_as_unsupported(tmp_path):
    import json

    from PIL import Image

    src = tmp_path / "src"
    src.mkdir()
    (src / "readme.txt").write_text("not a picture")
    (src / "clip.mov").write_bytes(b"\0\0\0\x18ftypqt  ")
    Image.new("RGB", (8, 8)).save(src / "photo.jpg")
    preview = batchgui("preview", str(src), "--op", "image", "--out", str(tmp_path / "o"), "--json")
    assert preview.returncode == 0, preview.stderr
    doc = json.loads(preview.stdout)
    reasons = {r["path"].rsplit("/", 1)[1]: r["reason"] for r in doc["files"]}
    assert reasons == {"readme.txt": "unsupported", "clip.mov": "unsupported", "photo.jpg": None}
    assert doc["totals"]["included"] == 1 and doc["totals"]["excluded"] == {"unsupported": 2}
    run = batchgui("run", str(src), "--op", "image", "--out", str(tmp_path / "o"),
                   "--report", str(tmp_path / "r.json"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    tasks = json.loads((tmp_path / "r.json").read_text())["tasks"]
    assert [t["path"].rsplit("/", 1)[1] for t in tasks] == ["photo.jpg"]


JAPANESE = (
    "氏名,年齢,住所\n山田太郎,30,東京都千代田区\n鈴木花子,25,大阪府大阪市北区\n"
    "佐藤一郎,41,福岡県福岡市\n"
)
RUSSIAN = "Фамилия;Город;Примечание\nИванов;Москва;постоянный клиент, скидка пять процентов\n"


def test_text_in_other_encodings_is_read_in_its_own(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "people.csv").write_bytes(JAPANESE.encode("cp932") * 3)
    (src / "clients.csv").write_bytes(RUSSIAN.encode("cp1251") * 3)
    (src / "bom.txt").write_bytes("\ufeffWith a byte-order mark: naïve café".encode("utf-16"))
    (src / "page.html").write_bytes(
        '<html><head><meta charset="windows-1252"></head><body><p>Caf\xe9 cr\xe8me</p>'
        "</body></html>".encode("cp1252")
    )
    (src / "blob.txt").write_bytes(bytes(range(256)) * 8)  # binary: no encoding is credible
    out = tmp_path / "out"
    result = batchgui("run", str(src), "--op", "text", "--out", str(out),
                      "--report", str(tmp_path / "r.json"))  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "| 山田太郎 | 30 | 東京都千代田区 |" in (out / "people.csv.md").read_text()
    assert "Иванов" in (out / "clients.csv.md").read_text()
    assert "naïve café" in (out / "bom.txt.md").read_text()
    assert "Café crème" in (out / "page.html.md").read_text()
    import json

    tasks = {
        t["path"].rsplit("/", 1)[1]: t
        for t in json.loads((tmp_path / "r.json").read_text())["tasks"]
    }
    assert tasks["blob.txt"]["error_kind"] == "corrupt" and tasks["blob.txt"]["attempts"] == 1
    assert not (out / "blob.txt.md").exists()


def test_a_file_gone_before_its_turn_is_said_in_words_in_every_mode(tmp_path):
    """Deleted or moved between the scan (or a pause) and its turn: one plain line,
    not Python's "FileNotFoundError: [Errno 2] ..."; other errors of the system name
    the file without the exception's class."""
    import asyncio

    from batchgui.core import BatchProcessor, TaskStatus
    from batchgui.core.runners.base import describe_exception
    from batchgui.operations.checksum import checksum
    from tests.conftest import build_batch, make_files

    for mode in ("thread", "process"):
        paths = make_files(tmp_path / mode, 3)
        batch, spec = build_batch(checksum, [tmp_path / mode], tmp_path / f"out-{mode}", mode=mode)
        paths[1].unlink()

        async def scenario(batch=batch, spec=spec):
            engine = BatchProcessor(2)
            await asyncio.wait_for(engine.run(batch, spec), 60)
            await engine.aclose()

        asyncio.run(scenario())
        [gone] = [t for t in batch.tasks if t.status is TaskStatus.FAILED]
        assert gone.path == paths[1] and gone.attempts == 1  # never retried
        assert gone.error == "the file is gone: moved or deleted after it was found"
    denied = PermissionError(13, "Permission denied", "/data/report.pdf")
    assert describe_exception(denied) == "Permission denied: /data/report.pdf"
    moved = OSError(18, "Invalid cross-device link", "/a/x", None, "/b/x")
    assert describe_exception(moved) == "Invalid cross-device link: /a/x -> /b/x"
