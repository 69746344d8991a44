"""The `image` operation on real files from ../shared/corpus, in process mode."""

from __future__ import annotations

import asyncio
import csv
import shutil
from pathlib import Path

import pytest
from PIL import Image

from batchgui.core import BatchProcessor, ErrorKind, RetryPolicy, TaskStatus
from batchgui.operations.image import convert_image
from tests.conftest import build_batch

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _manifest() -> dict[str, str]:
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {r["file"]: r["expected"] for r in rows if r["operation"] == "image"}


def _run(folder: Path, out: Path, **options):
    batch, spec = build_batch(convert_image, [folder], out, mode="process", options=options)

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
        await asyncio.wait_for(engine.run(batch, spec), 120)
        await engine.aclose()

    asyncio.run(scenario())
    return {t.path.name: t for t in batch.tasks}


def test_every_corpus_image_ends_in_its_manifest_class(tmp_path):
    expected = _manifest()
    assert len(expected) == 9
    before = {name: (CORPUS / name).read_bytes() for name in expected}
    tasks = _run(CORPUS / "images", tmp_path / "out", format="png", max_width=64)
    for name, outcome in expected.items():
        task = tasks[Path(name).name]
        if outcome == "ok":
            assert task.status is TaskStatus.COMPLETED, (name, task.error)
            assert task.attempts == 1
        else:
            assert task.status is TaskStatus.FAILED, name
            assert task.error_kind == ErrorKind(outcome), (name, task.error_kind, task.error)
            assert task.attempts == 1, f"{name} was retried"
    assert {name: (CORPUS / name).read_bytes() for name in expected} == before


def test_resize_format_quality_and_orientation(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("hopper.jpg", "hopper_orientation_6.jpg", "16bit.cropped.tif", "multipage.tiff"):
        shutil.copy(CORPUS / "images" / name, folder / name)
    wide = Image.new("RGB", (400, 100), "red")
    wide.save(folder / "wide.png")
    tasks = _run(folder, tmp_path / "out", format="jpeg", max_width=50, max_height=50, quality=70)
    out = tmp_path / "out"
    for task in tasks.values():
        assert task.status is TaskStatus.COMPLETED, (task.path.name, task.error)
    with Image.open(out / "wide.jpg") as image:
        assert image.format == "JPEG" and image.size == (50, 12)
    with Image.open(out / "16bit.cropped.jpg") as image:
        assert image.mode == "L" and image.size == (50, 50)
    # EXIF orientation 6 is applied to the pixels: compare with the plain image turned
    with (
        Image.open(out / "hopper_orientation_6.jpg") as turned,
        Image.open(CORPUS / "images" / "hopper_orientation_6.jpg") as source,
    ):
        assert turned.size == (50, 50)
        assert not turned.getexif().get(0x0112)
        assert source.getexif().get(0x0112) == 6


def test_all_frames_of_a_multipage_tiff(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CORPUS / "images" / "multipage.tiff", folder / "multipage.tiff")
    tasks = _run(folder, tmp_path / "out", format="png", all_frames=True)
    task = tasks["multipage.tiff"]
    assert task.status is TaskStatus.COMPLETED
    assert [p.name for p in task.outputs] == [f"multipage.frame-{n}.png" for n in (1, 2, 3)]
    kept = _run(folder, tmp_path / "out2", all_frames=True)["multipage.tiff"]
    with Image.open(kept.outputs[0]) as image:
        assert image.n_frames == 3


@pytest.mark.parametrize("strip", [True, False])
def test_metadata_is_stripped_unless_asked_to_keep_it(tmp_path, strip):
    folder = tmp_path / "in"
    folder.mkdir()
    image = Image.new("RGB", (20, 20), "blue")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    image.save(folder / "photo.jpg", exif=exif)
    task = _run(folder, tmp_path / "out", strip_metadata=strip)["photo.jpg"]
    with Image.open(task.outputs[0]) as result:
        assert (result.getexif().get(0x010F) == "CameraMaker") is (not strip)


def _claims_pixels(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height (its data is a 1x1 picture's)."""
    import io
    import struct
    import zlib

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    body = bytearray(data[12:29])  # b"IHDR" + its 13 bytes
    body[4:12] = struct.pack(">II", width, height)
    data[12:29] = body
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(body)))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_an_image_past_pillows_limit_is_refused_though_pillow_only_warns(tmp_path, mode):
    """Between Pillow's pixel limit and twice it, Pillow only warns (and a process-mode
    worker ignores warnings): it is refused as too large all the same, never decoded."""
    folder = tmp_path / "in"
    folder.mkdir()
    _claims_pixels(folder / "huge.png", 14_000, 14_000)  # 196 M pixels: limit 179 M
    batch, spec = build_batch(convert_image, [folder], tmp_path / "out", mode=mode)

    async def scenario():
        engine = BatchProcessor(1)
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.FAILED and task.error_kind.value == "too_large", task.error


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_librarys_warning_about_a_file_stays_off_the_terminal(tmp_path, mode):
    """Pillow warns "Corrupt EXIF data" (with its own source path) of a picture it still
    converts: the terminal gets batchgui's summary alone; the log keeps the warning."""
    from tests.conftest import batchgui_in

    source = CORPUS / "images"
    data = tmp_path / "data"
    result = batchgui_in(data, "run", str(source / "hopper_bad_exif.jpg"), "--op", "image",
                         "--mode", mode, "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines()
                                          if line.startswith(("image: ", "  wrote"))]  # fmt: skip
    if mode == "thread":
        assert "Corrupt EXIF data" in (data / "logs" / "batchgui.log").read_text()
