"""files/s and MB/s of the `text` and `image` operations, process vs thread mode.

    python3 tests/benchmarks/bench_operations.py [--files 500]

text:  the corpus' valid documents (../shared/corpus, MANIFEST `ok`) copied to
       about --files files; also serially in one process, against markitdown over the
       same files when an interpreter has it (--markitdown-python).
image: --files generated photos (2000x1500 JPEG) resized to fit 1024 px as JPEG.
Both through the engine with 2 workers; best of --repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

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


MARKITDOWN_LOOP = """
import sys, time
start = time.perf_counter()
from markitdown import MarkItDown
converter = MarkItDown()
ready = time.perf_counter()
for name in sys.argv[1:]:
    try:
        converter.convert(name)
    except Exception:
        pass
print(ready - start, time.perf_counter() - ready)
"""


def markitdown_times(python: str, files: list[Path]) -> tuple[float, float] | None:
    """(import and set-up s, conversion s) of markitdown over files, serially, in `python`."""
    probe = subprocess.run([python, "-c", "import markitdown"], capture_output=True)
    if probe.returncode != 0:
        return None
    done = subprocess.run(
        [python, "-c", MARKITDOWN_LOOP, *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    setup, convert = map(float, done.stdout.split())
    return setup, convert


def serial_time(files: list[Path], out: Path) -> float:
    """Seconds for the default `text` backend over files, serially, in this process."""
    from batchgui.core.operation import TaskContext
    from batchgui.operations.text import to_markdown

    out.mkdir(exist_ok=True)
    start = time.perf_counter()
    for path in files:
        with contextlib.suppress(Exception):
            to_markdown(path, out, {}, TaskContext())
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def main() -> int:
    from batchgui.operations.image import convert_image
    from batchgui.operations.text import to_markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--markitdown-python",
        default=os.environ.get("BATCHGUI_MARKITDOWN_PYTHON", sys.executable),
        help="an interpreter that has markitdown (default: this one)",
    )
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
        files = sorted(docs.iterdir())
        ours = serial_time(files, work / "serial")
        print(f"text serial : {len(files) / ours:.1f} files/s (1 process, default backend)")
        reference = markitdown_times(args.markitdown_python, files)
        if reference is None:
            print("markitdown is not installed: no comparison (pip install 'markitdown[all]')")
        else:
            setup, convert = reference
            print(
                f"markitdown  : {len(files) / convert:.1f} files/s (1 process) + {setup:.2f} s "
                f"import; batchgui is {convert / ours:.1f}x faster"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
