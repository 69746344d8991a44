"""`text`: documents to Markdown, `<name>.<ext>.md` in UTF-8.

    sniff the real type by content (a name can lie) ─► one converter per type
        PDF   PDFium (pypdfium2, fast); where it cannot read a file, finds no text or
              its text looks mis-mapped: pypdf, then pdfminer.six (each of the
              three reads files the others cannot), keeping the cleanest text
        DOCX  python-docx: headings, lists and tables, in document order
        PPTX  python-pptx: a section per slide, titles, text, tables, pictures
        XLSX  openpyxl (read-only): a table per sheet
        HTML  markdownify; CSV a table; JSON a fenced block; TXT/MD as text
    ─► atomic write

Failures a retry cannot fix are permanent with SPEC §6 kinds: a password
(an encrypted PDF, or an encrypted Office file, which is an OLE2 container
whose name says .docx) -> password_required; a damaged or mislabelled file
-> corrupt; a type nothing here reads -> unsupported. Nothing is fetched: the
Office libraries parse XML without resolving external entities.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import Option, TaskContext, atomic_write, make_folder, operation
from batchgui.operations import encodings, limits
from batchgui.operations.failures import classify
from batchgui.operations.limits import bounded_lines

log = logging.getLogger(__name__)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OFFICE = {
    ".docx": "docx",
    ".docm": "docx",
    ".pptx": "pptx",
    ".pptm": "pptx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
PLAIN = {
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
    ".json": "json",
    ".txt": "txt",
    ".md": "txt",
    ".markdown": "txt",
}
MAX_SHEET_ROWS = 10_000
_FAMILY = {"pdf": "pdf", "docx": "office", "pptx": "office", "xlsx": "office"}


def sniff(src: Path) -> str:
    with open(src, "rb") as handle:
        head = handle.read(8)
    ext = src.suffix.lower()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head == OLE2 and ext in OFFICE:
        raise PermanentError(
            f"{src.name} is password-protected (an encrypted Office file)",
            ErrorKind.PASSWORD_REQUIRED,
        )
    if head.startswith(b"PK"):
        if ext in OFFICE:
            return OFFICE[ext]
        raise PermanentError(f"{src.name} is a ZIP archive, not a document", ErrorKind.UNSUPPORTED)
    if ext in OFFICE:
        raise PermanentError(f"{src.name} is damaged or not an Office file", ErrorKind.CORRUPT)
    if ext == ".pdf":
        raise PermanentError(f"{src.name} is not a PDF (no %PDF header)", ErrorKind.CORRUPT)
    if ext in PLAIN:
        return PLAIN[ext]
    raise PermanentError(
        f"{src.name}: no converter for {ext or 'files without an extension'}", ErrorKind.UNSUPPORTED
    )


def planned(src: Path, out_dir: Path, options: dict[str, Any]) -> list[Path]:
    """`<name>.md`, and the `<name>.assets` folder when pictures are saved."""
    outputs = [out_dir / f"{src.name}.md"]
    if options.get("images"):
        outputs.append(out_dir / f"{src.name}.assets")
    return outputs


@operation(
    "text",
    "Documents to Markdown",
    extensions=(".pdf", *OFFICE, *PLAIN),
    mode="process",
    default_timeout_s=600,
    planned_outputs=planned,
    options=[
        Option(
            "images",
            bool,
            False,
            "save pictures embedded in Word and PowerPoint files beside the Markdown "
            "(<name>.assets/) and link them",
        ),
    ],
)
def to_markdown(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """PDF, DOCX, PPTX, XLSX, HTML, CSV, JSON and text to <name>.<ext>.md."""
    kind = sniff(src)
    _check_limits(src, kind)
    assets = Assets(f"{src.name}.assets", enabled=bool(options.get("images")))
    try:
        markdown = CONVERTERS[kind](src, ctx, assets)
    except (PermanentError, InterruptedError):
        raise
    except Exception as exc:  # what the parser says about the file (operations/failures.py)
        failure = classify(_FAMILY.get(kind, "text"), exc, src.name)
        if failure is None:
            raise
        log.info("%s: %s", src, failure, exc_info=True)
        raise failure from None
    outputs = assets.save(out_dir)
    target = out_dir / f"{src.name}.md"
    with atomic_write(target) as handle:
        handle.write(markdown.encode("utf-8"))
    return [target, *outputs]


class Assets:
    """Images a converter meets, saved as <folder>/image-N.<ext> when enabled.

    Names come from a counter and the part's content type, never from names
    inside the document, so nothing embedded can choose where a file lands.
    """

    TYPES = {
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "image/bmp": "bmp",
        "image/tiff": "tiff",
        "image/webp": "webp",
        "image/svg+xml": "svg",
        "image/x-emf": "emf",
        "image/x-wmf": "wmf",
    }

    def __init__(self, folder: str, *, enabled: bool) -> None:
        self.folder = folder
        self.enabled = enabled
        self._blobs: list[tuple[str, bytes]] = []
        self._names: dict[str, str] = {}  # the document's own part name -> our file name

    def add(self, key: str, blob: bytes, content_type: str, alt: str = "") -> str:
        """The Markdown for one image (`key` names it inside the document, so a picture
        shown twice is saved once): a link when saving, else its description if any."""
        if not self.enabled:
            return f"*[image: {alt}]*" if alt else ""
        name = self._names.get(key)
        if name is None:
            name = f"image-{len(self._blobs) + 1}.{self.TYPES.get(content_type, 'bin')}"
            self._names[key] = name
            self._blobs.append((name, blob))
        return f"![{alt}]({quote(self.folder)}/{name})"

    def save(self, out_dir: Path) -> list[Path]:
        saved = []
        for name, blob in self._blobs:
            target = make_folder(out_dir / self.folder) / name
            with atomic_write(target) as handle:
                handle.write(blob)
            saved.append(target)
        return saved


# --- PDF ---------------------------------------------------------------------------------


def _pdf(src: Path, ctx: TaskContext, assets: Assets) -> str:
    pages = _pdf_with_pdfium(src, ctx)
    if _needs_fallback(pages):
        fallback = _pdf_with_pypdf(src, ctx)
        pages = _cleaner(pages, fallback)
    if _needs_fallback(pages):
        pages = _cleaner(pages, _pdf_with_pdfminer(src))
    if pages is None:
        raise PermanentError(
            f"{src.name} is a damaged PDF that none of PDFium, pypdf and pdfminer can read",
            ErrorKind.CORRUPT,
        )
    return "\n\n".join(f"## Page {n}\n\n{text.strip()}" for n, text in enumerate(pages, 1)) + "\n"


def _needs_fallback(pages: list[str] | None) -> bool:
    return pages is None or not any(p.strip() for p in pages) or _looks_mismapped(pages)


def _cleaner(pages: list[str] | None, other: list[str] | None) -> list[str] | None:
    """The better of two readings: one that exists, has text, and fewer mis-mapped glyphs."""
    if other is None:
        return pages
    if pages is None or not any(p.strip() for p in pages):
        return other
    return other if _mismapped(other) < _mismapped(pages) else pages


# Glyphs mapped to the wrong code points (fonts with custom CMaps, which
# pypdf reads less well than pdfminer) land in blocks real text rarely uses:
# spacing modifier letters and the rare CJK extension A ideographs.
_SUSPECT = (range(0x02B0, 0x0300), range(0x3400, 0x4DC0))


def _mismapped(pages: list[str]) -> int:
    return sum(1 for page in pages for ch in page if any(ord(ch) in r for r in _SUSPECT))


def _looks_mismapped(pages: list[str]) -> bool:
    """More than 1% suspect glyphs (real text has a few: tildes and dots over math)."""
    return _mismapped(pages) * 100 > max(1, sum(len(p) for p in pages))


# PDFium is not thread-safe: one call at a time per process (thread mode shares one).
_PDFIUM_LOCK = threading.Lock()
# C0 controls other than tab and newline are glyphs PDFium could not map; U+FFFE
# marks where it joined a word hyphenated across a line break.
_PDFIUM_JUNK = dict.fromkeys([*range(0, 9), *range(11, 32), 0xFFFE])


def _pdf_with_pdfium(src: Path, ctx: TaskContext) -> list[str] | None:
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(src)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
                raise PermanentError(
                    f"{src.name} is password-protected", ErrorKind.PASSWORD_REQUIRED
                ) from None
            log.debug("PDFium cannot read %s (%s); trying pypdf", src, exc)
            return None
        try:
            pages = []
            total = len(document)
            for number in range(total):
                page = document[number]
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
                    page.close()
                pages.append(text.replace("\r\n", "\n").translate(_PDFIUM_JUNK))
                ctx.progress((number + 1) / max(total, 1))
                if ctx.cancelled:
                    raise InterruptedError("cancelled")
            return pages
        except pdfium.PdfiumError as exc:
            log.debug("PDFium failed inside %s (%s); trying pypdf", src, exc)
            return None
        finally:
            document.close()


def _pdf_with_pypdf(src: Path, ctx: TaskContext) -> list[str] | None:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns per damaged object
    try:
        reader = PdfReader(src, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PermanentError(f"{src.name} is password-protected", ErrorKind.PASSWORD_REQUIRED)
        pages = []
        total = len(reader.pages)
        for number, page in enumerate(reader.pages, 1):
            pages.append(page.extract_text() or "")
            ctx.progress(number / max(total, 1))
            if ctx.cancelled:
                raise InterruptedError("cancelled")
        return pages
    except FileNotDecryptedError:
        raise PermanentError(
            f"{src.name} is password-protected", ErrorKind.PASSWORD_REQUIRED
        ) from None
    except (InterruptedError, PermanentError):
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files (DeprecationError too)
        log.debug("pypdf cannot read %s (%s); trying pdfminer", src, exc)
        return None


def _pdf_with_pdfminer(src: Path) -> list[str] | None:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # it warns about every quirk

    try:
        pages = []
        for layout in extract_pages(src):
            pages.append(
                "".join(
                    element.get_text() for element in layout if isinstance(element, LTTextContainer)
                )
            )
        return pages
    except PDFPasswordIncorrect:
        raise PermanentError(
            f"{src.name} is password-protected", ErrorKind.PASSWORD_REQUIRED
        ) from None
    except Exception as exc:  # pdfminer raises many kinds on damaged files
        log.debug("pdfminer cannot read %s (%s)", src, exc)
        return None


# --- Office ---------------------------------------------------------------------------------


def _docx(src: Path, ctx: TaskContext, assets: Assets) -> str:
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


def _pptx(src: Path, ctx: TaskContext, assets: Assets) -> str:
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


def _xlsx(src: Path, ctx: TaskContext, assets: Assets) -> str:
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


# --- plain formats ------------------------------------------------------------------------


def _read_text(src: Path, *, html: bool = False) -> str:
    """The file's text in its own encoding (operations/encodings.py), or corrupt."""
    data = src.read_bytes()
    return encodings.decode(data, src.name, encodings.declared_charset(data) if html else None)


def _html(src: Path, ctx: TaskContext, assets: Assets) -> str:
    from markdownify import markdownify

    return markdownify(_read_text(src, html=True), heading_style="ATX").strip() + "\n"


def _csv(src: Path, ctx: TaskContext, assets: Assets) -> str:
    """Streamed: a huge file is read only as far as the rows shown, in bounded lines."""
    with open(src, "rb") as handle:
        encoding = encodings.detect(handle.read(encodings.SAMPLE), src.name)
    try:
        rows = _csv_rows(src, encoding)
    except UnicodeDecodeError as exc:
        raise encodings.not_text(src.name, f"it is not valid {encoding} ({exc})") from None
    except csv.Error as exc:
        raise PermanentError(f"{src.name} is not valid CSV: {exc}", ErrorKind.CORRUPT) from None
    return (table(rows) + "\n") if rows else ""


_CSV_DELIMITERS = ",;\t|"  # a sniffer free to pick any character splits words apart
_CSV_SAMPLE = 8192


def _csv_rows(src: Path, encoding: str) -> list[list[str]]:
    with open(src, encoding=encoding, newline="") as handle:
        sample = handle.read(_CSV_SAMPLE)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
        except csv.Error:
            dialect = csv.excel
        handle.seek(0)
        rows = []
        for row in csv.reader(bounded_lines(handle), dialect):
            rows.append(row)
            if len(rows) >= MAX_SHEET_ROWS:
                break
        return rows


def _json(src: Path, ctx: TaskContext, assets: Assets) -> str:
    try:
        value = json.loads(_read_text(src))
    except json.JSONDecodeError as exc:
        raise PermanentError(f"{src.name} is not valid JSON: {exc}", ErrorKind.CORRUPT) from None
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```\n"


def _txt(src: Path, ctx: TaskContext, assets: Assets) -> str:
    return _read_text(src)


CONVERTERS: dict[str, Callable[[Path, TaskContext, Assets], str]] = {
    "pdf": _pdf,
    "docx": _docx,
    "pptx": _pptx,
    "xlsx": _xlsx,
    "html": _html,
    "csv": _csv,
    "json": _json,
    "txt": _txt,
}


def table(rows: Iterable[list[str]]) -> str:
    """Rows as a Markdown table; the first row is the header."""
    rows = [[_cell(c) for c in row] for row in rows]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _check_limits(src: Path, kind: str) -> None:
    """Refuse what would take more memory to parse than a document ever needs."""
    if kind in ("docx", "pptx", "xlsx"):
        limits.check_zip(src)
    elif kind == "html":
        limits.check_size(src, limits.MAX_HTML, "HTML is refused")
    elif kind == "json":
        limits.check_size(src, limits.MAX_JSON, "JSON is refused")
    elif kind == "txt":
        limits.check_size(src, limits.MAX_TEXT, "text is refused")
