"""A file ends with the same kind in every mode and every run: the verdict comes
from what the parser says about the file (operations/failures.py), never from
timing or from which reader ran first."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import shutil
from pathlib import Path

import pytest
from PIL import Image

from batchgui.core import BatchProcessor, RetryPolicy, TaskStatus
from batchgui.operations.failures import classify
from batchgui.operations.image import convert_image
from batchgui.operations.text import to_markdown
from tests.conftest import build_batch

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
RUNS = 3


def _expected() -> dict[str, tuple[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        return {
            r["file"]: (r["operation"], r["expected"])
            for r in csv.DictReader(handle, delimiter="\t")
        }


def _copies(tmp_path: Path) -> Path:
    """Every corpus file RUNS times, under names that keep their extension."""
    root = tmp_path / "copies"
    for rel in _expected():
        for n in range(RUNS):
            target = root / Path(rel).parent / f"run{n}-{Path(rel).name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CORPUS / rel, target)
    return root


def _verdicts(
    root: Path, out: Path, mode: str, errors: dict[str, list[str]]
) -> dict[str, set[str]]:
    """Each corpus file's kinds over its copies; what each copy ended with goes to `errors`."""
    verdicts: dict[str, set[str]] = {}
    for func, folders in (
        (convert_image, [root / "images"]),
        (to_markdown, [root / "pdf", root / "office"]),
    ):
        batch, spec = build_batch(func, folders, out / func.__name__, mode=mode)

        async def scenario(batch=batch, spec=spec):
            engine = BatchProcessor(2, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
            await asyncio.wait_for(engine.run(batch, spec), 300)
            await engine.aclose()

        asyncio.run(scenario())
        for task in batch.tasks:
            rel = str(task.path.relative_to(root).parent / task.path.name.split("-", 1)[1])
            kind = "ok" if task.status is TaskStatus.COMPLETED else task.error_kind.value
            assert task.attempts == 1, (rel, mode, task.error)  # never retried
            verdicts.setdefault(rel, set()).add(kind)
            errors.setdefault(rel, []).append(f"{task.path.name}: {kind}: {task.error}")
    return verdicts


@pytest.mark.parametrize("mode", ["process", "thread", "async"])
def test_every_corpus_file_gets_one_kind_in_every_run(tmp_path, mode):
    errors: dict[str, list[str]] = {}
    verdicts = _verdicts(_copies(tmp_path), tmp_path / "out", mode, errors)
    expected = _expected()
    assert set(verdicts) == set(expected)
    for rel, kinds in verdicts.items():
        assert len(kinds) == 1, (rel, mode, errors[rel])
        [kind] = kinds
        want = expected[rel][1]
        assert kind == want or (want == "ok_or_corrupt" and kind in ("ok", "corrupt")), (rel, kind)


def _damaged_images(folder: Path) -> list[Path]:
    rng = random.Random(11)
    picture = Image.effect_noise((48, 48), 40).convert("RGB")
    made = []
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp")):
        buffer = io.BytesIO()
        picture.save(buffer, fmt)
        data = buffer.getvalue()
        for n in range(6):
            damaged = bytearray(data)
            for _ in range(8):
                damaged[rng.randrange(40, len(damaged))] = rng.randrange(256)
            damaged = damaged[: rng.randrange(60, len(damaged))] if n % 2 else damaged
            path = folder / f"{fmt.lower()}{n}.{ext}"
            path.write_bytes(bytes(damaged))
            made.append(path)
    return made


def test_damaged_images_are_corrupt_never_retried(tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    _damaged_images(folder)
    batch, spec = build_batch(convert_image, [folder], tmp_path / "out", mode="thread")

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
        await asyncio.wait_for(engine.run(batch, spec), 120)
        await engine.aclose()

    asyncio.run(scenario())
    failed = [t for t in batch.tasks if t.status is TaskStatus.FAILED]
    assert failed, "the damage should break at least some of them"
    for task in failed:
        assert task.error_kind.value == "corrupt", (task.path.name, task.error)
        assert task.attempts == 1


def test_the_tables_say_file_or_environment():
    from pypdf.errors import DeprecationError, FileNotDecryptedError

    assert classify("pdf", DeprecationError("old filter"), "a.pdf").kind.value == "corrupt"
    assert classify("pdf", FileNotDecryptedError("x"), "a.pdf").kind.value == "password_required"
    assert classify("image", OSError("decoder error -2"), "a.png").kind.value == "corrupt"
    assert classify("image", SyntaxError("not a PNG file"), "a.png").kind.value == "corrupt"
    assert classify("image", PermissionError(13, "Permission denied"), "a.png") is None
    assert classify("office", OSError(28, "No space left on device"), "a.docx") is None
