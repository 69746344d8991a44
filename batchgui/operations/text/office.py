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

from batchgui.core.operation import TaskContext
from batchgui.operations.text.markdown import Assets, table

log = logging.getLogger(__name__)

MAX_SHEET_ROWS = 10_000


def docx(src: Path, ctx: TaskContext, assets: Assets) -> str:
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
    alt = (props[0].get("descr") or "").strip() if props else ""
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


def pptx(src: Path, ctx: TaskContext, assets: Assets) -> str:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    presentation = Presentation(str(src))
    parts = []
    for number, slide in enumerate(presentation.slides, 1):
        title = slide.shapes.title.text.strip() if slide.shapes.title is not None else ""
        parts.append(f"## Slide {number}" + (f": {title}" if title else ""))
        for shape in slide.shapes:
            if shape.has_text_frame and shape != slide.shapes.title:
                text = shape.text_frame.text.strip()
                if text:
                    parts.append(text)
            if getattr(shape, "has_table", False) and shape.has_table:
                parts.append(table([[c.text for c in row.cells] for row in shape.table.rows]))
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                picture = _pptx_picture(shape, assets)
                if picture:
                    parts.append(picture)
    return "\n\n".join(parts) + ("\n" if parts else "")


def _pptx_picture(shape, assets: Assets) -> str:
    try:
        image = shape.image
    except (KeyError, ValueError, AttributeError) as exc:  # a linked or missing picture
        log.debug("picture %r has no embedded image (%s)", shape.name, exc)
        return ""
    alt = (shape._element.xpath("./p:nvPicPr/p:cNvPr/@descr") or [""])[0].strip()
    return assets.add(f"sha1:{image.sha1}", image.blob, image.content_type, alt)


def xlsx(src: Path, ctx: TaskContext, assets: Assets) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(src, read_only=True, data_only=True)
    try:
        parts = []
        for sheet in workbook.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(["" if v is None else str(v) for v in row])
                if len(rows) >= MAX_SHEET_ROWS:
                    break
            while rows and not any(rows[-1]):
                rows.pop()
            parts.append(f"## {sheet.title}")
            if rows:
                parts.append(table(rows))
        return "\n\n".join(parts) + "\n"
    finally:
        workbook.close()
