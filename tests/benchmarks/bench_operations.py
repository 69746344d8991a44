"""files/s and MB/s of the `text` and `image` operations, process vs thread mode.

    python3 tests/benchmarks/bench_operations.py [--files 500]

text:  the corpus' valid documents (../shared/corpus, MANIFEST `ok`) copied to
       about --files files; also serially in one process, against markitdown over the
       same files when an interpreter has it (--markitdown-python).
content: the corpus documents and samples of the other formats (HTML, EPUB, XLS,
       notebook, RSS, ZIP, a deck with a chart, a CSV in Shift-JIS), converted
       once by batchgui and once by markitdown: the share of each document's
       reference phrases (phrases.py) found in the Markdown, by format, and
       the site chrome left in the HTML.
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


MARKITDOWN_WRITE = """
import sys, pathlib
from markitdown import MarkItDown
converter = MarkItDown()
out = pathlib.Path(sys.argv[1])
for name in sys.argv[2:]:
    try:
        text = converter.convert(name).text_content
    except Exception as exc:
        text = ""
    (out / (pathlib.Path(name).name + ".md")).write_text(text or "", encoding="utf-8")
"""


def content_samples(root: Path) -> list[Path]:
    """One of each document a person reads: the corpus' valid documents and samples
    of the other formats, made with the tests' builders."""
    import json
    import zipfile

    from tests.benchmarks.phrases import PHRASES
    from tests.test_honest_results import JAPANESE
    from tests.test_more_formats import NOTEBOOK, RSS, WIKI_PAGE, _epub, _xls
    from tests.test_office_content import _deck, _document

    folder = root / "content"
    folder.mkdir()
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = Path(row["file"]).name
            if row["operation"] == "text" and row["expected"] == "ok" and name in PHRASES:
                shutil.copyfile(CORPUS / row["file"], folder / name)
    (folder / "zebra.html").write_text(WIKI_PAGE)
    _epub(folder / "river.epub")
    _xls(folder / "stock.xls")
    (folder / "analysis.ipynb").write_text(json.dumps(NOTEBOOK))
    (folder / "news.rss").write_text(RSS)
    with zipfile.ZipFile(folder / "bundle.zip", "w") as archive:
        archive.writestr("notes/readme.txt", "Read me first.")
        archive.writestr("data/table.csv", "name,qty\npens,4\n")
    _deck(folder / "sales.pptx")
    _document(folder / "report.docx")
    (folder / "people.csv").write_bytes(JAPANESE.encode("cp932") * 3)
    return sorted(folder.iterdir())


CONTENT_TARGET = 0.95  # of the reference phrases, and no less than markitdown's


def content_table(files: list[Path], ours: Path, theirs: Path | None) -> bool:
    """Per format: the share of reference phrases each converter kept; whether
    batchgui's whole share meets CONTENT_TARGET (and markitdown's, if it ran)."""
    from tests.benchmarks.phrases import share_found

    def read(folder: Path | None, path: Path) -> str:
        output = folder / f"{path.name}.md" if folder is not None else None
        return output.read_text(encoding="utf-8") if output and output.exists() else ""

    # format -> [phrases listed, found by batchgui, by markitdown, chrome left: ours, theirs]
    totals: dict[str, list[int]] = {}
    for path in files:
        row = totals.setdefault(path.suffix.lower(), [0, 0, 0, 0, 0])
        found, wanted, noise = share_found(path.name, read(ours, path))
        their_found, _, their_noise = share_found(path.name, read(theirs, path))
        for index, value in enumerate((wanted, found, their_found, noise, their_noise)):
            row[index] += value
    print("content: share of reference phrases found (and site chrome left in HTML)")
    print(f"  {'format':8} {'batchgui':>9} {'markitdown':>11}")
    for fmt, (wanted, found, their_found, noise, their_noise) in [
        *sorted(totals.items()),
        ("all", [sum(col) for col in zip(*totals.values(), strict=True)]),
    ]:
        theirs_text = (
            f"{their_found / max(wanted, 1):11.0%}" if theirs is not None else "          -"
        )
        chrome = f"   chrome left: {noise} vs {their_noise}" if noise or their_noise else ""
        print(f"  {fmt:8} {found / max(wanted, 1):9.0%} {theirs_text}{chrome}")
    wanted, found, their_found = (sum(row[i] for row in totals.values()) for i in range(3))
    share = found / max(wanted, 1)
    met = share >= CONTENT_TARGET and (theirs is None or found >= their_found)
    print(
        f"content kept: {share:.0%} of the reference phrases (target >= "
        f"{CONTENT_TARGET:.0%}{', and >= markitdown' if theirs else ''}) "
        f"{'ok' if met else 'MISSED'}"
    )
    return met


def serial_time(files: list[Path], out: Path, keep: bool = False) -> float:
    """Seconds for the default `text` backend over files, serially, in this process."""
    from batchgui.core.operation import TaskContext, spec_of
    from batchgui.operations.text import to_markdown

    options = spec_of(to_markdown).resolve_options({})  # as a run would pass them
    out.mkdir(exist_ok=True)
    failed: list[str] = []
    start = time.perf_counter()
    for path in files:
        try:
            to_markdown(path, out, options, TaskContext())
        except Exception as exc:  # counted and said below, not hidden
            failed.append(f"{path.name}: {exc}")
    elapsed = time.perf_counter() - start
    if failed:
        print(f"text serial: {len(failed)} of {len(files)} failed, e.g. {failed[0]}")
    if not keep:
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
    status = 0
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
                total = sum(1 for _ in folder.iterdir())
                print(
                    f"{name:5} {mode:7}: {done} files in {elapsed:.2f} s = "
                    f"{done / elapsed:.1f} files/s, {size / elapsed / 1e6:.1f} MB/s; "
                    f"{done} of {total} converted (target: all) "
                    f"{'ok' if done == total else 'MISSED'}"
                )
                status |= done != total
        samples = content_samples(work)
        serial_time(samples, work / "ours", keep=True)
        theirs = None
        if markitdown_times(args.markitdown_python, samples[:1]) is not None:
            theirs = work / "theirs"
            theirs.mkdir()
            subprocess.run(
                [args.markitdown_python, "-c", MARKITDOWN_WRITE, str(theirs), *map(str, samples)],
                check=True,
                capture_output=True,
            )
        status |= not content_table(samples, work / "ours", theirs)
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
    return status


if __name__ == "__main__":
    sys.exit(main())
