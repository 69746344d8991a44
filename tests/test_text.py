"""The `text` operation on ../shared/corpus (and generated HTML, CSV, JSON, XLSX), process mode."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

from batchgui.core import BatchProcessor, ErrorKind, RetryPolicy, TaskStatus
from batchgui.operations.text import to_markdown
from tests.conftest import build_batch

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

PHRASES = {
    "minimal-document.pdf": ["Lorem ipsum dolor sit amet"],
    "zen_of_python_corrupted.pdf": ["Beautiful is better than ugly."],
    "habibi.pdf": ["حَبيبي habibi حَبيبي"],
    "GeoTopo-komprimiert.pdf": ["Topologische Räume", "Zwischenwertsatz, 107"],  # p.1, p.117
    "encrypted_doc_no_id.pdf": ["## Page 3"],
    "issue_566_test_1.pdf": ["Buyer：黎荣"],  # a custom CMap: pdfminer reads it right
    "simple1.pdf": ["Hello"],
    "test.docx": ["python-docx was here"],
    "test.pptx": ["## Slide 1: Presentation Title Text", "Subtitle Text"],
    "act-props.pptm": ["## Slide 1"],
    "ExternalEntityInText.docx": ["Here should not be the POI web site"],
}


def _run(folders: list[Path], out: Path, mode: str = "process", **options):
    batch, spec = build_batch(to_markdown, folders, out, mode=mode, options=options)

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
        await asyncio.wait_for(engine.run(batch, spec), 300)
        await engine.aclose()

    asyncio.run(scenario())
    return {t.path.name: t for t in batch.tasks}


def test_every_corpus_document_ends_in_its_manifest_class(tmp_path):
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        expected = {
            Path(r["file"]).name: r["expected"]
            for r in csv.DictReader(handle, delimiter="\t")
            if r["operation"] == "text"
        }
    assert len(expected) == 25
    tasks = _run([CORPUS / "pdf", CORPUS / "office"], tmp_path / "out")
    assert set(tasks) == set(expected)
    for name, outcome in expected.items():
        task = tasks[name]
        if outcome in ("ok", "ok_or_corrupt") and task.status is TaskStatus.COMPLETED:
            assert task.attempts == 1
            [output] = task.outputs
            assert output.name == f"{name}.md"
            text = output.read_text(encoding="utf-8")
            for phrase in PHRASES.get(name, []):
                assert phrase in text, (name, phrase)
        elif outcome == "ok":
            raise AssertionError(f"{name}: {task.error}")
        else:
            assert task.status is TaskStatus.FAILED, name
            kind = ErrorKind.CORRUPT if outcome == "ok_or_corrupt" else ErrorKind(outcome)
            assert task.error_kind == kind, (name, task.error)
            assert task.attempts == 1, f"{name} was retried"
    four = (tmp_path / "out" / "pdf" / "pdflatex-4-pages.pdf.md").read_text()
    assert [f"## Page {n}" in four for n in (1, 2, 3, 4)] == [True] * 4
    assert all(len(p.strip()) > 20 for p in four.split("## Page ")[1:])  # text from every page
    assert (tmp_path / "out" / "office" / "no-slides.pptx.md").read_text() == ""
    tables = (tmp_path / "out" / "office" / "tbl-having-tables.docx.md").read_text()
    assert [block.splitlines()[1] for block in tables.strip().split("\n\n")] == [
        "|---|---|",
        "|---|---|---|",
        "|---|---|---|---|",
    ]


def test_pdfs_in_thread_mode_read_the_same(tmp_path):
    """Thread mode reads every PDF as process mode does (PDFium calls share one lock)."""
    processes = _run([CORPUS / "pdf"], tmp_path / "p", mode="process")
    threads = _run([CORPUS / "pdf"], tmp_path / "t", mode="thread")
    assert {n: t.status for n, t in threads.items()} == {n: t.status for n, t in processes.items()}
    for name, task in threads.items():
        if task.status is TaskStatus.COMPLETED:
            assert task.outputs[0].read_bytes() == processes[name].outputs[0].read_bytes(), name


def test_embedded_word_images_are_saved_once_under_our_own_names(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "pictures.docx").write_bytes((CORPUS / "office" / "having-images.docx").read_bytes())
    [task] = _run([src], tmp_path / "out", images=True).values()
    assert task.status is TaskStatus.COMPLETED, task.error
    folder = tmp_path / "out" / "pictures.docx.assets"
    assert sorted(p.name for p in folder.iterdir()) == ["image-1.png", "image-2.png", "image-3.png"]
    saved = [tmp_path / "out" / "pictures.docx.md", *folder.iterdir()]
    assert sorted(task.outputs) == sorted(saved)
    markdown = (tmp_path / "out" / "pictures.docx.md").read_text()
    assert markdown.count("](pictures.docx.assets/image-") == 5  # two pictures appear twice
    from PIL import Image

    with Image.open(folder / "image-1.png") as image:
        assert image.format == "PNG"
    [plain] = _run([src], tmp_path / "plain").values()
    assert plain.outputs == [tmp_path / "plain" / "pictures.docx.md"]


def test_generated_html_csv_json_and_xlsx(tmp_path):
    import openpyxl

    src = tmp_path / "in"
    src.mkdir()
    (src / "page.html").write_text(
        "<html><body><h1>Report</h1><ul><li>one</li><li>two</li>"
        "</ul><table><tr><th>a</th><th>b</th></tr><tr><td>1</td>"
        "<td>2</td></tr></table></body></html>"
    )
    (src / "data.csv").write_text("name,amount\nwidget,3\ngadget|x,4\n")
    (src / "config.json").write_text(json.dumps({"name": "café", "items": [1, 2]}))
    (src / "notes.txt").write_bytes("plain text, ünïcode\n".encode())
    book = openpyxl.Workbook()
    book.active.title = "Totals"
    book.active.append(["region", "sales"])
    book.active.append(["north", 10])
    book.save(src / "book.xlsx")
    (src / "fake.docx").write_text("this is not a docx")
    tasks = _run([src], tmp_path / "out")
    out = tmp_path / "out"
    html = (out / "page.html.md").read_text()
    assert "# Report" in html and ("* one" in html or "- one" in html)
    assert "| a | b |" in html.replace("  ", " ")
    assert (out / "data.csv.md").read_text().splitlines()[:3] == [
        "| name | amount |",
        "|---|---|",
        "| widget | 3 |",
    ]
    assert "gadget\\|x" in (out / "data.csv.md").read_text()
    assert '"café"' in (out / "config.json.md").read_text(encoding="utf-8")
    assert (out / "notes.txt.md").read_text(encoding="utf-8") == "plain text, ünïcode\n"
    assert "## Totals" in (out / "book.xlsx.md").read_text()
    assert "| north | 10 |" in (out / "book.xlsx.md").read_text()
    fake = tasks["fake.docx"]
    assert fake.status is TaskStatus.FAILED and fake.error_kind == ErrorKind.CORRUPT


def test_slide_pictures_are_saved_and_linked(tmp_path):
    from PIL import Image
    from pptx import Presentation
    from pptx.util import Inches

    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "red.png")
    deck = Presentation()
    for title in ("First", "Second"):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = title
        slide.shapes.add_picture(str(tmp_path / "red.png"), Inches(1), Inches(2))
    deck.save(src / "deck.pptx")
    [task] = _run([src], tmp_path / "out", images=True).values()
    assert task.status is TaskStatus.COMPLETED, task.error
    markdown = (tmp_path / "out" / "deck.pptx.md").read_text()
    assert "## Slide 2: Second" in markdown
    assert markdown.count("](deck.pptx.assets/image-1.png)") == 2  # one picture, shown twice
    with Image.open(tmp_path / "out" / "deck.pptx.assets" / "image-1.png") as saved:
        assert saved.size == (40, 30)
