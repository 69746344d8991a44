"""files/s and MB/s of the `text` and `image` operations, process vs thread mode.

    python3 tests/benchmarks/bench_operations.py [--files 500]

text:  the corpus' valid documents (../shared/corpus, MANIFEST `ok`) copied to
       about --files files; also markitdown over the same files when installed.
image: --files generated photos (2000x1500 JPEG) resized to fit 1024 px as JPEG.
Both through the engine with 2 workers; best of --repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batchgui.core import BatchProcessor, RetryPolicy, TaskStatus
from tests.conftest import build_batch

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def text_tree(root: Path, count: int) -> Path:
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        valid = [
            CORPUS / r["file"]
            for r in csv.DictReader(handle, delimiter="\t")
            if r["operation"] == "text" and r["expected"] == "ok"
        ]
    folder = root / "docs"
    folder.mkdir()
    for i in range(count):
        source = valid[i % len(valid)]
        shutil.copyfile(source, folder / f"{i:04d}-{source.name}")
    return folder


def image_tree(root: Path, count: int) -> Path:
    from PIL import Image, ImageDraw

    folder = root / "photos"
    folder.mkdir()
    base = Image.new("RGB", (2000, 1500))
    draw = ImageDraw.Draw(base)
    for y in range(0, 1500, 10):
        draw.line([(0, y), (2000, 1500 - y)], fill=(y % 256, (y * 3) % 256, 128), width=5)
    for i in range(count):
        base.save(folder / f"IMG_{i:04d}.jpg", quality=90)
    return folder


def run(func, folder: Path, out: Path, mode: str, options: dict) -> tuple[float, int, int]:
    batch, spec = build_batch(func, [folder], out, mode=mode, options=options)

    async def main() -> None:
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=0))
        await engine.run(batch, spec)
        await engine.aclose()

    start = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    done = batch.counts[TaskStatus.COMPLETED]
    return elapsed, done, sum(t.size for t in batch.tasks)


def markitdown_time(folder: Path) -> float | None:
    try:
        from markitdown import MarkItDown
    except ImportError:
        return None
    converter = MarkItDown()
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        try:
            converter.convert(str(path))
        except Exception:
            continue
    return time.perf_counter() - start


def main() -> int:
    from batchgui.operations.image import convert_image
    from batchgui.operations.text import to_markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    try:
        docs, photos = text_tree(work, args.files), image_tree(work, args.files)
        jobs = [
            ("text", to_markdown, docs, {}),
            (
                "image",
                convert_image,
                photos,
                {"format": "jpeg", "max_width": 1024, "max_height": 1024},
            ),
        ]
        for name, func, folder, options in jobs:
            for mode in ("process", "thread"):
                best = min(
                    (run(func, folder, work / "out", mode, options) for _ in range(args.repeat)),
                    key=lambda r: r[0],
                )
                elapsed, done, size = best
                print(
                    f"{name:5} {mode:7}: {done} files in {elapsed:.2f} s = "
                    f"{done / elapsed:.1f} files/s, {size / elapsed / 1e6:.1f} MB/s"
                )
        reference = markitdown_time(docs)
        if reference is None:
            print("markitdown is not installed: no comparison (pip install markitdown)")
        else:
            print(f"markitdown (1 process): {args.files / reference:.1f} files/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
