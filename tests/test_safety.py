"""Never harm a file: sources, files batchgui did not make, and everything outside the
output folder stay as they were, whatever the names, folders and commands.

Each test runs the real `batchgui` command and then compares bytes: sources and
files that were there before are byte-identical, folders outside the output are
walked for anything new, and hostile names only ever try to `touch` a marker.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.test_cli import batchgui

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below a folder (links as their target text), by relative path."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = b"-> " + os.fsencode(os.readlink(path))
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found


def report_of(path: Path) -> dict:
    return json.loads(path.read_text())


def by_name(report: dict) -> dict[str, dict]:
    return {os.path.basename(t["path"]): t for t in report["tasks"]}


def photo(path: Path, size=(64, 48), color="red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write text files below `root` (folders made as needed); returns root."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- 1. outputs never land on a source ------------------------------------------------------


def test_output_folder_equal_to_the_input_is_refused_and_photos_stay(tmp_path):
    photos = tmp_path / "photos"
    for i in range(3):
        photo(photos / f"p{i}.jpg")
    before = snapshot(photos)
    result = batchgui(
        "run", str(photos), "--op", "image", "--set", "max_width=32", "--out", str(photos)
    )
    assert result.returncode == 2
    assert "is the input folder" in one_line_error(result)
    assert snapshot(photos) == before


def test_output_folder_named_through_a_link_to_the_input_is_refused(tmp_path):
    photos = tmp_path / "photos"
    photo(photos / "p.jpg")
    (tmp_path / "alias").symlink_to(photos)
    before = snapshot(photos)
    result = batchgui("run", str(photos), "--op", "image", "--out", str(tmp_path / "alias"))
    assert result.returncode == 2, result.stderr
    one_line_error(result)
    assert snapshot(photos) == before


def test_a_planned_output_that_is_a_source_is_refused(tmp_path):
    # files given directly, their own folder as the output: image keeps the names
    photos = tmp_path / "photos"
    first = photo(photos / "a.jpg")
    (photos / "out").mkdir()
    before = snapshot(photos)
    result = batchgui("run", str(first), "--op", "image", "--out", str(photos))
    assert result.returncode == 2
    assert "one of the sources" in one_line_error(result)
    assert snapshot(photos) == before


def test_output_inside_the_input_named_through_a_link_is_never_read_back(tmp_path):
    docs = tmp_path / "docs"
    (docs / "a.txt").parent.mkdir(parents=True)
    (docs / "a.txt").write_text("alpha")
    (tmp_path / "via").symlink_to(docs)
    out = tmp_path / "via" / "md"
    for _ in range(2):  # the second run must not take md/a.txt.md as an input
        result = batchgui(
            "run", str(docs), "--op", "text", "--out", str(out), "--force",
            "--report", str(tmp_path / "r.json"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    report = report_of(tmp_path / "r.json")
    assert [os.path.basename(t["path"]) for t in report["tasks"]] == ["a.txt"]


# --- 2. existing files ------------------------------------------------------------------------


@pytest.fixture
def docs_with_a_user_file(tmp_path):
    src = tree(tmp_path / "src", {"y.txt": "why", "z.txt": "zed"})
    out = tree(tmp_path / "out", {"z.txt.md": "my own notes, not batchgui's"})
    return src, out


def test_a_file_batchgui_did_not_make_is_kept_and_skipped_as_exists(
    docs_with_a_user_file, tmp_path
):
    src, out = docs_with_a_user_file
    result = batchgui(
        "run", str(src), "--op", "text", "--out", str(out), "--report", str(tmp_path / "r.json")
    )
    assert result.returncode == 0, result.stderr
    assert (out / "z.txt.md").read_text() == "my own notes, not batchgui's"
    assert (out / "y.txt.md").read_text().strip() == "why"
    tasks = by_name(report_of(tmp_path / "r.json"))
    assert tasks["z.txt"]["status"] == "skipped" and tasks["z.txt"]["reason"] == "exists"
    assert tasks["y.txt"]["status"] == "completed"
    assert "exists" in result.stderr  # the summary says why


@pytest.mark.parametrize(
    ("choice", "code", "kept"), [("rename", 0, True), ("overwrite", 0, False), ("fail", 1, True)]
)
def test_on_exists_rename_overwrite_fail(docs_with_a_user_file, choice, code, kept):
    src, out = docs_with_a_user_file
    result = batchgui("run", str(src), "--op", "text", "--out", str(out), "--on-exists", choice)
    assert result.returncode == code, result.stderr
    mine = (out / "z.txt.md").read_text()
    assert (mine == "my own notes, not batchgui's") is kept
    if choice == "rename":
        assert (out / "z (2).txt.md").read_text().strip() == "zed"
    if choice == "overwrite":
        assert mine.strip() == "zed"


def test_outputs_batchgui_made_are_replaced_on_a_forced_rerun_but_edited_ones_kept(tmp_path):
    src = tree(tmp_path / "src", {"a.txt": "one", "b.txt": "two"})
    out = tmp_path / "out"
    assert batchgui("run", str(src), "--op", "text", "--out", str(out)).returncode == 0
    (src / "a.txt").write_text("one, changed")
    (out / "b.txt.md").write_text("edited by hand")  # no longer what batchgui wrote
    result = batchgui(
        "run", str(src), "--op", "text", "--out", str(out), "--force",
        "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / "a.txt.md").read_text().strip() == "one, changed"
    assert (out / "b.txt.md").read_text() == "edited by hand"
    assert by_name(report_of(tmp_path / "r.json"))["b.txt"]["reason"] == "exists"


def test_an_existing_manifest_is_not_overwritten(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    out = tmp_path / "out"
    out.mkdir()
    (out / "SHA256SUMS").write_text("someone else's list\n")
    result = batchgui("run", str(src), "--op", "checksum", "--out", str(out))
    assert result.returncode == 2
    assert "SHA256SUMS already exists" in one_line_error(result)
    assert (out / "SHA256SUMS").read_text() == "someone else's list\n"
    # made by batchgui: a second run replaces it
    assert batchgui("run", str(src), "--op", "checksum", "--out", str(out), "--on-exists",
                    "overwrite").returncode == 0  # fmt: skip
    (src / "b.txt").write_text("b")
    assert batchgui("run", str(src), "--op", "checksum", "--out", str(out)).returncode == 0
    assert "b.txt" in (out / "SHA256SUMS").read_text()


def test_writes_fall_back_to_an_exclusive_create_without_hard_links(tmp_path, monkeypatch):
    from batchgui.core import outputs

    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")  # what vfat answers

    monkeypatch.setattr(outputs.os, "link", no_links)
    guard = outputs.WriteGuard(str(tmp_path))
    with outputs.guarded(guard), outputs.atomic_write(tmp_path / "new.md") as handle:
        handle.write(b"content")
    assert (tmp_path / "new.md").read_bytes() == b"content"
    (tmp_path / "theirs.md").write_bytes(b"theirs")
    with (
        pytest.raises(outputs.OutputExists),
        outputs.guarded(guard),
        outputs.atomic_write(tmp_path / "theirs.md") as handle,
    ):
        handle.write(b"mine")
    assert (tmp_path / "theirs.md").read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir() if outputs.TEMP_MARK in p.name] == []


def test_a_file_that_appears_while_the_task_writes_is_not_clobbered(tmp_path):
    from batchgui.core import outputs

    guard = outputs.WriteGuard(str(tmp_path))
    with (
        pytest.raises(outputs.OutputExists),
        outputs.guarded(guard),
        outputs.atomic_write(tmp_path / "late.md") as handle,
    ):
        handle.write(b"batchgui's")
        (tmp_path / "late.md").write_bytes(b"the user's")  # appears meanwhile
    assert (tmp_path / "late.md").read_bytes() == b"the user's"


# --- 3. containment ---------------------------------------------------------------------------


def test_a_link_inside_the_output_folder_never_leads_outputs_out(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.txt").write_text("x")
    (src / "top.txt").write_text("top")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "x.txt.md").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(victim)
    before = snapshot(victim)
    result = batchgui(
        "run", str(src), "--op", "text", "--out", str(out), "--on-exists", "overwrite",
        "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert result.returncode == 1
    assert snapshot(victim) == before
    tasks = by_name(report_of(tmp_path / "r.json"))
    assert tasks["x.txt"]["status"] == "failed"
    assert "outside the output folder" in tasks["x.txt"]["error"]
    assert tasks["top.txt"]["status"] == "completed"


def test_plugins_get_the_check_through_atomic_write(tmp_path):
    import batchgui
    from batchgui.core import outputs

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "up").symlink_to(tmp_path)
    guard = outputs.WriteGuard(outputs.real_folder(tmp_path / "out"))
    with (
        pytest.raises(outputs.OutputRefused),
        outputs.guarded(guard),
        batchgui.atomic_write(tmp_path / "out" / "up" / "escaped.txt") as handle,
    ):
        handle.write(b"no")
    with pytest.raises(outputs.OutputRefused), outputs.guarded(guard):
        batchgui.check_inside(tmp_path / "out" / ".." / "escaped.txt")
    assert not (tmp_path / "escaped.txt").exists()


# --- 4. one output, one source ------------------------------------------------------------------


def test_the_same_name_from_two_folders_gives_two_outputs(tmp_path):
    for folder, words in (("x", "from x"), ("y", "from y")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.txt").write_text(words)
    out = tmp_path / "out"
    result = batchgui(
        "run", str(tmp_path / "x" / "a.txt"), str(tmp_path / "y" / "a.txt"),
        "--op", "text", "--out", str(out), "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / "a.txt.md").read_text().strip() == "from x"
    assert (out / "y" / "a.txt.md").read_text().strip() == "from y"
    outputs = [t["outputs"] for t in report_of(tmp_path / "r.json")["tasks"]]
    assert outputs == [[str(out / "a.txt.md")], [str(out / "y" / "a.txt.md")]]


def test_frames_of_an_animation_never_overwrite_another_sources_output(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    frames[0].save(src / "a.png", save_all=True, append_images=frames[1:])
    photo(src / "a.frame-1.png", size=(33, 11), color="green")
    out = tmp_path / "out"
    result = batchgui(
        "run", str(src), "--op", "image", "--set", "all_frames=true", "--out", str(out),
        "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tasks = by_name(report_of(tmp_path / "r.json"))
    assert tasks["a.png"]["reason"] == "name clash"
    assert "a.frame-1.png" in tasks["a.png"]["detail"]
    with Image.open(out / "a.frame-1.png") as kept:
        assert kept.size == (33, 11)  # the real source's own output


def test_duplicate_documents_with_pictures_each_get_their_own_assets(tmp_path):
    docx = CORPUS / "office" / "having-images.docx"
    (tmp_path / "src" / "one").mkdir(parents=True)
    (tmp_path / "src" / "two").mkdir()
    shutil.copy(docx, tmp_path / "src" / "one" / "report.docx")
    shutil.copy(docx, tmp_path / "src" / "two" / "copy.docx")
    out = tmp_path / "out"
    result = batchgui(
        "run", str(tmp_path / "src"), "--op", "text", "--set", "images=true", "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for folder, name in (("one", "report.docx"), ("two", "copy.docx")):
        markdown = (out / folder / f"{name}.md").read_text()
        assert f"]({name}.assets/image-1." in markdown
        assert list((out / folder / f"{name}.assets").iterdir())


# --- 5. commands ------------------------------------------------------------------------------

HOSTILE = "a$(touch MARKER)b;touch MARKER2;`touch MARKER3`.txt"


@pytest.fixture
def hostile_folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / HOSTILE).write_text("x")
    (src / "-rf.txt").write_text("y")
    work = tmp_path / "work"  # the commands run here: a marker would appear here
    work.mkdir()
    return src, work


@pytest.mark.parametrize(
    ("template", "shell"),
    [
        ('echo "{name}" > /dev/null', True),
        ("echo {name} {path} > /dev/null", True),
        ("sh -c 'echo {name} >/dev/null'", False),
        ('bash -c \'echo "{name}" "$0" >/dev/null\' zero', False),
    ],
)
def test_file_names_never_run_as_shell_code(hostile_folder, template, shell):
    src, work = hostile_folder
    args = ["run", str(src), "--exec", template, "--out", str(work / "out")]
    result = batchgui(*args, *(["--shell"] if shell else []), cwd=work)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("MARKER")) == []


def test_names_reach_commands_whole_and_never_as_options(hostile_folder, tmp_path):
    src, _work = hostile_folder
    log = tmp_path / "names.log"
    result = batchgui(
        "run", str(src), "--exec", f"sh -c 'printf \"%s\\n\" \"$1\" >> {log}' _ {{name}}",
        "--workers", "1", cwd=src,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(log.read_text().splitlines()) == sorted(["./-rf.txt", HOSTILE])


@pytest.mark.parametrize(
    ("template", "shell", "words"),
    [
        ("echo '{name}'", True, "single quotes"),
        ("sh -c \"echo '{name}'\"", False, "single quotes"),
        ("python3 -c 'print(\"{name}\")'", False, "read as code"),
        ('echo "{name}', True, "unbalanced"),
    ],
)
def test_templates_that_cannot_pass_names_safely_are_refused(tmp_path, template, shell, words):
    (tmp_path / "f.txt").write_text("f")
    args = ["run", str(tmp_path / "f.txt"), "--exec", template, "--out", str(tmp_path / "o")]
    result = batchgui(*args, *(["--shell"] if shell else []))
    assert result.returncode == 2
    assert words in one_line_error(result)


# --- 6. commands are not deduplicated ------------------------------------------------------------


def test_every_equal_file_gets_the_command(tmp_path):
    src = tmp_path / "logs"
    src.mkdir()
    for name in ("a.log", "b.log", "c.log"):
        (src / name).write_text("the same line\n" * 50)
    result = batchgui("run", str(src), "--exec", "gzip -kf {path}", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in src.glob("*.gz")) == ["a.log.gz", "b.log.gz", "c.log.gz"]


# --- 9. a damaged database ---------------------------------------------------------------------


def test_a_damaged_database_gives_one_line_and_is_never_written(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(400):
        (src / f"file-with-a-longish-name-{i:04d}.txt").write_text(str(i))
    data = tmp_path / "data"
    first = batchgui(
        "--data-dir", str(data), "run", str(src), "--op", "checksum",
        "--out", str(tmp_path / "sums"), "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    batch_id = report_of(tmp_path / "r.json")["batch_id"]
    db = data / "batchgui.db"
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    raw = bytearray(db.read_bytes())
    page = 4096
    for number in range(3, len(raw) // page - 1, 2):  # every other page past the schema
        raw[number * page + 100 : number * page + 400] = b"\xa5" * 300
    db.write_bytes(bytes(raw))
    damaged = db.read_bytes()

    for args in (
        ("history",),
        ("report", batch_id),
        ("run", str(src), "--op", "checksum", "--out", str(tmp_path / "again")),
        ("resume",),
    ):
        result = batchgui("--data-dir", str(data), *args)
        assert result.returncode == 2, (args, result.stderr)
        line = one_line_error(result)
        assert "is damaged" in line and "batchgui doctor" in line and str(db) in line, line
    assert db.read_bytes() == damaged  # nothing was written into it

    checked = batchgui("--data-dir", str(data), "doctor")
    assert checked.returncode == 1 and "damaged" in checked.stderr
    repaired = batchgui("--data-dir", str(data), "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert list(data.glob("batchgui.db.damaged-*"))
    assert batchgui("--data-dir", str(data), "history").returncode == 0
    assert batchgui("--data-dir", str(data), "doctor").returncode == 0


# --- 10. errors that fail the same way every time --------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (OSError(36, "File name too long"), "error"),  # ENAMETOOLONG
        (OSError(30, "Read-only file system"), "error"),  # EROFS
        (PermissionError(13, "Permission denied"), "error"),
        (RecursionError("maximum recursion depth exceeded"), "corrupt"),
        (type("XMLSyntaxError", (Exception,), {})("not well-formed"), "corrupt"),
    ],
)
def test_errors_that_repeat_are_permanent(exc, kind):
    from batchgui.core.runners.base import error_result

    result = error_result(exc, False, 0.0)
    assert (result[2], result[3]) == (kind, True)


def test_a_full_disk_pauses_the_batch_once_and_resume_finishes_it(tmp_path):
    import asyncio

    from batchgui.core import BatchProcessor, BatchStatus, TaskStatus
    from tests.conftest import build_batch, make_files
    from tests.plugins import testops

    flag = tmp_path / "disk-is-full"
    flag.touch()
    files = make_files(tmp_path / "in", 30)
    batch, spec = build_batch(
        testops.diskfull, files, tmp_path / "out", options={"flag": str(flag)}
    )

    async def scenario():
        engine = BatchProcessor(2)
        engine.submit(batch, spec)
        await asyncio.wait_for(engine.drained(batch), 20)
        assert batch.status is BatchStatus.PAUSED
        assert "disk is full" in (batch.halted or "")
        assert batch.counts[TaskStatus.FAILED] == 0
        assert batch.counts[TaskStatus.PENDING] >= 28  # it stopped at once, nothing charged
        assert all(t.attempts == 0 for t in batch.tasks if t.status is TaskStatus.PENDING)
        flag.unlink()  # space freed
        engine.resume(batch)
        await asyncio.wait_for(engine.wait(batch), 20)
        await engine.aclose()

    asyncio.run(scenario())
    assert batch.counts[TaskStatus.COMPLETED] == 30 and batch.halted is None


# --- 7. memory ------------------------------------------------------------------------------


def test_thread_mode_stops_a_task_that_eats_memory_and_stays_under_the_cap(tmp_path):
    import asyncio
    import threading

    import psutil

    from batchgui.core import BatchProcessor, TaskStatus
    from tests.conftest import build_batch, make_files
    from tests.plugins import testops

    files = make_files(tmp_path / "in", 3)
    batch, spec = build_batch(testops.memory_hog, files[:1], tmp_path / "out", mode="thread")
    small, _ = build_batch(testops.memory_hog, files[1:], tmp_path / "out2", mode="thread",
                           options={"mib": 5})  # fmt: skip
    me = psutil.Process()
    start = me.memory_info().rss
    peak = [start]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.01):
            peak[0] = max(peak[0], me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cap = 300 << 20

    async def scenario():
        engine = BatchProcessor(2, memory_limit=cap)
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await asyncio.wait_for(engine.run(small, spec), 60)
        await engine.aclose()

    try:
        asyncio.run(scenario())
    finally:
        stop.set()
        sampler.join()
    [task] = batch.tasks
    assert task.status is TaskStatus.FAILED and task.error_kind.value == "too_large", task.error
    assert task.attempts == 1  # alone when stopped: permanent
    assert small.counts[TaskStatus.COMPLETED] == 2  # the process carries on
    assert peak[0] - start < cap + (200 << 20), (peak[0] - start) >> 20


def _zip_bomb(path: Path, mib: int) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"<w:p/>" * (1 << 17)
            for _ in range(mib * (1 << 20) // len(chunk)):
                member.write(chunk)
    return path


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_docx_zip_bomb_is_too_large_at_once(tmp_path, mode):
    src = tmp_path / "src"
    src.mkdir()
    _zip_bomb(src / "bomb.docx", 300)
    assert (src / "bomb.docx").stat().st_size < 5 << 20
    (src / "big.html").write_bytes(b"<p>" + b"x" * (70 << 20) + b"</p>")
    result = batchgui(
        "run", str(src), "--op", "text", "--mode", mode, "--out", str(tmp_path / "out"),
        "--report", str(tmp_path / "r.json"), timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    tasks = by_name(report_of(tmp_path / "r.json"))
    for name in ("bomb.docx", "big.html"):
        assert tasks[name]["error_kind"] == "too_large", tasks[name]
        assert tasks[name]["attempts"] == 1
        assert tasks[name]["duration_s"] < 5


def test_csv_lines_are_bounded_and_the_sniffer_keeps_one_column(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "one.csv").write_text("".join(f"word number {i}\n" for i in range(200)))
    (src / "long.csv").write_bytes(b"a," + b"x" * (8 << 20) + b"\n")
    out = tmp_path / "out"
    result = batchgui("run", str(src), "--op", "text", "--mode", "thread", "--out", str(out),
                      "--report", str(tmp_path / "r.json"))  # fmt: skip
    assert result.returncode == 1
    one = (out / "one.csv.md").read_text()
    assert one.splitlines()[0] == "| word number 0 |"
    assert len(one) < 2 * (src / "one.csv").stat().st_size
    assert by_name(report_of(tmp_path / "r.json"))["long.csv"]["error_kind"] == "too_large"


# --- 8. children never outlive batchgui ----------------------------------------------------------


def _commands_of(batch_marker: str) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if (
                batch_marker in " ".join(proc.info["cmdline"] or ())
                and proc.info["status"] != psutil.STATUS_ZOMBIE
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _start_batch(tmp_path, mode: str, marker: str):
    import subprocess
    import sys
    import time

    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for i in range(4):
        (src / f"f{i}.txt").write_text(str(i))
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchgui", "--data-dir", str(tmp_path / "data"), "run", str(src),
         "--exec", f"sh -c 'sleep {marker}; echo late >> {tmp_path / 'late.log'}'",
         "--mode", mode, "--workers", "2", "--quiet", "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(_commands_of(f"sleep {marker}")) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the commands never started"
        time.sleep(0.05)
    return proc


def _settled(marker: str) -> list:
    """The marker's commands once each shell among them has started its sleep."""
    import time

    deadline = time.monotonic() + 10
    while True:
        found = _commands_of(marker)
        words = [(p.info["cmdline"] or [""])[0] for p in found]
        if words.count("sleep") >= words.count("sh"):
            return found
        assert time.monotonic() < deadline, words
        time.sleep(0.02)


def _gone_within(marker: str, seconds: float) -> list:
    import time

    deadline = time.monotonic() + seconds
    while (alive := _commands_of(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@pytest.mark.parametrize("mode", ["async", "thread", "process"])
def test_no_command_outlives_batchgui_killed_with_sigkill(tmp_path, mode):
    import signal

    marker = f"{hash((str(tmp_path), mode)) % 1000 + 100}.{os.getpid()}"
    proc = _start_batch(tmp_path, mode, marker)
    os.kill(proc.pid, signal.SIGKILL)  # batchgui alone: its commands are in other sessions
    proc.wait(10)
    assert _gone_within(f"sleep {marker}", 2.0) == []


_RACE_SCRIPT = r"""
import os, signal, sys, threading, time
from batchgui.core.platform import guardian as g, spawn

class SlowToStart(g.Guardian):  # a loaded machine: the guardian takes a while to start
    def _ensure(self):
        if self._fd is None:
            time.sleep(0.5)
        return super()._ensure()

keeper = SlowToStart()
first = threading.Thread(target=keeper.start, args=("race",))
first.start()
time.sleep(0.1)  # the first worker is starting the guardian: a second one begins
keeper.start("race")
quiet = os.open(os.devnull, os.O_WRONLY)  # not this script's pipe: the test reads it
spawn.spawn(["sleep", sys.argv[1]], "/bin/sleep", g.command_environment("race"),
            stdout=quiet, stderr=quiet)
os.kill(os.getpid(), signal.SIGKILL)  # before the first worker is done
"""


def test_a_command_started_while_another_thread_starts_the_guardian_dies_with_batchgui(
    tmp_path,
):
    """Two worker threads, the guardian still starting in the first one: the second
    thread's command must not run unknown to the guardian (it did, in CI)."""
    import subprocess
    import sys

    marker = f"{os.getpid() % 1000 + 2100}.7"
    script = tmp_path / "race.py"
    script.write_text(_RACE_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), marker], start_new_session=True,
                          stderr=subprocess.PIPE, timeout=30)  # fmt: skip
    assert proc.returncode == -9, proc.stderr.decode()
    try:
        assert _gone_within(f"sleep {marker}", 3.0) == []
    finally:
        for left in _commands_of(f"sleep {marker}"):
            left.kill()


def test_resume_ends_commands_a_killed_run_left_before_starting_again(tmp_path):
    import signal
    import subprocess
    import sys

    import psutil

    marker = f"{os.getpid() % 1000 + 1100}.5"
    proc = _start_batch(tmp_path, "async", marker)
    # batchgui and its guardian both killed: nothing ends the commands on its own
    for child in psutil.Process(proc.pid).children():
        if "killpg" in " ".join(child.cmdline()):  # the guardian (core/platform/guardian.py)
            child.kill()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # what the killed run left (taken after the kill: it may have started more just
    # before, and a shell started then runs its sleep a moment later)
    old = {p.pid for p in _settled(f"sleep {marker}")}
    assert old  # still running
    resumed = subprocess.Popen(
        [sys.executable, "-m", "batchgui", "--data-dir", str(tmp_path / "data"), "resume",
         "--quiet"], stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        import time

        deadline = time.monotonic() + 30
        while True:
            now = {p.pid for p in _commands_of(f"sleep {marker}")}
            if now and not now & old:
                break  # the new attempts run, the old ones are gone
            assert not (now - old) or not (now & old), "old and new attempts ran together"
            assert time.monotonic() < deadline, (now, old)
            time.sleep(0.02)
    finally:
        os.killpg(resumed.pid, signal.SIGKILL)
        resumed.wait(10)
        _gone_within(f"sleep {marker}", 3.0)


def test_an_output_folder_deleted_between_batches_is_made_again(tmp_path):
    """One process, two batches into the same folder, the folder deleted in between
    (the window lets a user do just that)."""
    import asyncio
    import shutil as sh

    from batchgui.core import BatchProcessor, TaskStatus
    from tests.conftest import build_batch, make_files
    from tests.plugins import testops

    files = make_files(tmp_path / "in", 3)
    for _ in range(2):
        batch, spec = build_batch(testops.copy, files, tmp_path / "out", mode="thread")

        async def scenario(batch=batch, spec=spec):
            engine = BatchProcessor(2)
            await asyncio.wait_for(engine.run(batch, spec), 30)
            await engine.aclose()

        asyncio.run(scenario())
        assert batch.counts[TaskStatus.COMPLETED] == 3, [t.error for t in batch.tasks]
        sh.rmtree(tmp_path / "out")
