"""Word, PowerPoint and Excel to Markdown (python-docx, python-pptx, openpyxl).

    DOCX  headings, lists and tables in document order; pictures with their alt text
    PPTX  a section per slide: title, text, tables, charts (a table of categories and
          series), pictures with their alt text, speaker notes
    XLSX  a table per sheet (read-only, at most MAX_SHEET_ROWS rows each)
Nothing is fetched: the libraries parse XML without resolving external entities.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import TaskContext
from batchgui.operations.text.markdown import Assets, table

log = logging.getLogger(__name__)

MAX_SHEET_ROWS = 10_000


def docx(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(src))
    parts = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            line = _docx_paragraph(Paragraph(child, document))
            images = [_docx_image(document, blip, assets) for blip in child.xpath(".//a:blip")]
            line = " ".join(part for part in (line, *images) if part)
            if line:
                parts.append(line)
        elif tag == "tbl":
            rows = [[cell.text for cell in row.cells] for row in Table(child, document).rows]
            parts.append(table(rows))
    return "\n\n".join(parts) + "\n"


def _docx_image(document, blip, assets: Assets) -> str:
    """One picture of a paragraph (`a:blip` points at an image part by relationship id)."""
    rel_id = blip.get(f"{{{_R_NS}}}embed")
    part = document.part.related_parts.get(rel_id) if rel_id else None
    if part is None:  # linked (external) pictures are never fetched
        return ""
    props = blip.xpath("ancestor::wp:inline/wp:docPr | ancestor::wp:anchor/wp:docPr")
    alt = _alt_text(props[0]) if props else ""
    return assets.add(str(part.partname), part.blob, part.content_type, alt)


_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _docx_paragraph(paragraph) -> str:
    text = paragraph.text.strip()
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        return f"{'#' * min(6, int(level) + 1 if level.isdigit() else 2)} {text}"
    if "List" in style:
        return f"- {text}"
    return text


def pptx(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    from pptx import Presentation

    presentation = Presentation(str(src))
    parts = []
    for number, slide in enumerate(presentation.slides, 1):
        title_shape = slide.shapes.title
        title = title_shape.text.strip() if title_shape is not None else ""
        parts.append(f"## Slide {number}" + (f": {title}" if title else ""))
        for shape in _shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            parts.extend(_pptx_shape(shape, assets))
        notes = _notes(slide)
        if notes:
            parts.append(f"### Notes\n\n{notes}")
    return "\n\n".join(parts) + ("\n" if parts else "")


def _shapes(shapes):
    """Every shape of a slide, those inside groups included, in order."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _pptx_shape(shape, assets: Assets) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    found = []
    if shape.has_text_frame:
        text = shape.text_frame.text.strip()
        if text:
            found.append(text)
    if getattr(shape, "has_table", False) and shape.has_table:
        found.append(table([[c.text for c in row.cells] for row in shape.table.rows]))
    if getattr(shape, "has_chart", False) and shape.has_chart:
        found.append(_chart(shape.chart))
    if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
        picture = _pptx_picture(shape, assets)
        if picture:
            found.append(picture)
    return found


def _chart(chart) -> str:
    """A chart as a heading (its title) and a table: a row per category, a column
    per series."""
    title = ""
    if chart.has_title and chart.chart_title.has_text_frame:
        title = chart.chart_title.text_frame.text.strip()
    series = [s for plot in chart.plots for s in plot.series]
    categories: list[str] = []
    if chart.plots:
        categories = [str(c) for c in chart.plots[0].categories]
    values = [list(s.values) for s in series]
    rows = [["", *(s.name or f"Series {i}" for i, s in enumerate(series, 1))]]
    length = max([len(categories), *(len(v) for v in values)], default=0)
    for index in range(length):
        label = categories[index] if index < len(categories) else str(index + 1)
        rows.append([label, *(_number(v[index]) if index < len(v) else "" for v in values)])
    heading = f"### Chart: {title}" if title else "### Chart"
    return heading + ("\n\n" + table(rows) if len(rows) > 1 else "")


def _number(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _notes(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text.strip() if frame is not None else ""


def _pptx_picture(shape, assets: Assets) -> str:
    props = shape._element.xpath("./p:nvPicPr/p:cNvPr")
    alt = _alt_text(props[0]) if props else ""
    try:
        image = shape.image
    except (KeyError, ValueError, AttributeError) as exc:  # a linked or missing picture
        log.debug("picture %r has no embedded image (%s)", shape.name, exc)
        return f"![{alt}]()" if alt else ""
    return assets.add(f"sha1:{image.sha1}", image.blob, image.content_type, alt)


def _alt_text(props) -> str:
    """A picture's description (alt text), else its title."""
    return " ".join((props.get("descr") or props.get("title") or "").split())


def xlsx(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(src, read_only=True, data_only=True)
    try:
        sheets = []
        for sheet in workbook.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(["" if v is None else str(v) for v in row])
                if len(rows) >= MAX_SHEET_ROWS:
                    break
            sheets.append((sheet.title, rows))
        return _sheets(sheets)
    finally:
        workbook.close()


def _sheets(sheets: list[tuple[str, list[list[str]]]]) -> str:
    """A heading and a table per sheet; trailing empty rows left out."""
    parts = []
    for title, rows in sheets:
        while rows and not any(rows[-1]):
            rows.pop()
        parts.append(f"## {title}")
        if rows:
            parts.append(table(rows))
    return "\n\n".join(parts) + "\n"


def xls(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    """A legacy Excel workbook (BIFF, xlrd): a table per sheet, like XLSX."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(src), on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise PermanentError(
                f"{src.name} is password-protected", ErrorKind.PASSWORD_REQUIRED
            ) from None
        raise PermanentError(f"{src.name} is damaged: {exc}", ErrorKind.CORRUPT) from None
    try:
        return _sheets(
            [
                (
                    sheet.name,
                    [
                        [_xls_value(sheet.cell_value(r, c)) for c in range(sheet.ncols)]
                        for r in range(min(sheet.nrows, MAX_SHEET_ROWS))
                    ],
                )
                for sheet in book.sheets()
            ]
        )
    finally:
        book.release_resources()


def _xls_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
