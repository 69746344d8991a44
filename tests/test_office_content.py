"""What a person reads in a presentation or a Word file reaches the Markdown:
charts (title and values), pictures' alt text, speaker notes, shapes in groups."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from batchgui.core import TaskStatus
from tests.test_text import _run


def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "orange").save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _deck(path: Path) -> Path:
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Quarterly sales"
    data = CategoryChartData()
    data.categories = ["Q1", "Q2", "Q3"]
    data.add_series("North", (12.5, 14.0, 9.25))
    data.add_series("South", (7, 8, 11))
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.5), Inches(6), Inches(4), data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Sales by region"
    picture = slide.shapes.add_picture(_png(), Inches(7), Inches(1))
    picture._element.nvPicPr.cNvPr.set("descr", "A bar of orange")
    group = slide.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1))
    box.text_frame.text = "Text inside a group"
    slide.notes_slide.notes_text_frame.text = "Mention the new southern office."
    deck.save(path)
    return path


def _document(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Before the picture.")
    document.add_picture(_png())
    props = document.element.body.xpath(".//wp:docPr")[0]
    props.set("descr", "An orange rectangle")
    document.add_paragraph("Figure 1: the rectangle", style="Caption")
    document.save(path)
    return path


def test_charts_alt_text_notes_and_groups_reach_the_markdown(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _deck(folder / "sales.pptx")
    _document(folder / "report.docx")
    tasks = _run([folder], tmp_path / "out", mode="thread")
    assert {t.status for t in tasks.values()} == {TaskStatus.COMPLETED}
    deck = (tmp_path / "out" / "sales.pptx.md").read_text()
    assert "## Slide 1: Quarterly sales" in deck
    assert "### Chart: Sales by region" in deck
    assert "|  | North | South |" in deck
    assert "| Q1 | 12.5 | 7 |" in deck and "| Q3 | 9.25 | 11 |" in deck
    assert "![A bar of orange]()" in deck  # pictures not saved: the description stays
    assert "Text inside a group" in deck
    assert "### Notes\n\nMention the new southern office." in deck
    report = (tmp_path / "out" / "report.docx.md").read_text()
    assert "![An orange rectangle]()" in report
    assert "Figure 1: the rectangle" in report


def test_saved_pictures_keep_their_alt_text(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _deck(folder / "sales.pptx")
    _run([folder], tmp_path / "out", mode="thread", images=True)
    deck = (tmp_path / "out" / "sales.pptx.md").read_text()
    assert "![A bar of orange](sales.pptx.assets/image-1.png)" in deck
    assert (tmp_path / "out" / "sales.pptx.assets" / "image-1.png").exists()


def test_a_truncated_office_file_is_damaged_in_words_that_do_not_mislead(tmp_path):
    """python-docx and python-pptx say "Package not found at PATH" of a file that is
    there; the user reads that the document is not whole."""
    folder = tmp_path / "in"
    folder.mkdir()
    whole = io.BytesIO()
    _deck(whole)
    for name in ("cut.docx", "cut.pptx"):
        (folder / name).write_bytes(whole.getvalue()[:600])  # its ZIP ends early
    tasks = _run([folder], tmp_path / "out", mode="thread")
    for name in ("cut.docx", "cut.pptx"):
        task = tasks[name]
        assert task.status is TaskStatus.FAILED and task.error_kind.value == "corrupt"
        assert (
            task.error == f"{name} is damaged: not a whole Office document (its ZIP cannot be read)"
        )
