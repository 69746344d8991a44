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

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import Option, TaskContext, atomic_write, operation
from batchgui.operations import limits
from batchgui.operations.failures import classify
from batchgui.operations.text.markdown import Assets, table
from batchgui.operations.text.office import MAX_SHEET_ROWS, docx, pptx, xlsx
from batchgui.operations.text.pdf import pdf
from batchgui.operations.text.plain import csv_table, html, json_block, plain_text

__all__ = ["MAX_SHEET_ROWS", "Assets", "sniff", "table", "to_markdown"]

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


CONVERTERS: dict[str, Callable[[Path, TaskContext, Assets], str]] = {
    "pdf": pdf,
    "docx": docx,
    "pptx": pptx,
    "xlsx": xlsx,
    "html": html,
    "csv": csv_table,
    "json": json_block,
    "txt": plain_text,
}


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
