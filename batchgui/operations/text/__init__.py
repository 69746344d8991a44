"""`text`: documents to Markdown, `<name>.<ext>.md` in UTF-8.

    sniff the real type by content (a name can lie) ─► size limits
        (operations/limits.py) ─► one converter per type:
        PDF        pdf.py: PDFium, then pypdf, then pdfminer.six
        DOCX PPTX  office.py: python-docx, python-pptx (charts, notes, alt text)
        XLSX XLS   office.py: openpyxl, xlrd: a table per sheet
        HTML       web.py: the article only (main_content), markdownify
        RSS Atom   web.py: feedparser, a section per entry
        EPUB       books.py: EbookLib, chapters in reading order
        IPYNB      plain.py: cells in order, code fenced in the kernel's language
        CSV JSON   plain.py: a table; a fenced block; TXT/MD as text
        ZIP        archives.py: every member it can read, a heading each
        MSG EML    mail.py: python-oxmsg, email: headers, body, attachments listed
    ─► what the parser's errors mean (operations/failures.py) ─► atomic write

Failures a retry cannot fix are permanent with the report's kinds (docs/ARCHITECTURE.md): a password
(an encrypted PDF, or an encrypted Office file, which is an OLE2 container
whose name says .docx) -> password_required; a damaged or mislabelled file
-> corrupt; a type nothing here reads -> unsupported. Nothing is fetched: the
libraries parse XML without resolving external entities, and no link is followed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.files import read_steadily
from batchgui.core.operation import (
    Option,
    TaskContext,
    atomic_write,
    name_option,
    operation,
    output_name,
)
from batchgui.operations import limits
from batchgui.operations.failures import classify
from batchgui.operations.text.archives import archive
from batchgui.operations.text.books import epub
from batchgui.operations.text.mail import mime, outlook
from batchgui.operations.text.markdown import Assets, table
from batchgui.operations.text.office import MAX_SHEET_ROWS, docx, pptx, xls, xlsx
from batchgui.operations.text.pdf import pdf
from batchgui.operations.text.plain import csv_table, json_block, notebook, plain_text
from batchgui.operations.text.web import feed, html

__all__ = ["MAX_SHEET_ROWS", "Assets", "convert_file", "kind_of", "sniff", "table", "to_markdown"]

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
    ".xhtml": "html",
    ".csv": "csv",
    ".json": "json",
    ".txt": "txt",
    ".md": "txt",
    ".markdown": "txt",
    ".ipynb": "ipynb",
    ".rss": "feed",
    ".atom": "feed",
    ".eml": "eml",
}
OTHER = (".xls", ".msg", ".epub", ".zip", ".xml")  # recognised by their content (see kind_of)
_FAMILY = {"pdf": "pdf", "docx": "office", "pptx": "office", "xlsx": "office", "xls": "office"}
_FEED_MARKS = (b"<rss", b"<feed", b"<rdf:rdf")


def kind_of(src: Path) -> str:
    """The converter a file needs, from its content first and its name second."""
    with open(src, "rb") as handle:
        head = handle.read(512)
    ext = src.suffix.lower()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(OLE2):
        if ext == ".xls":
            return "xls"
        if ext == ".msg":
            return "msg"
        if ext in OFFICE:
            raise PermanentError(
                f"{src.name} is password-protected (an encrypted Office file)",
                ErrorKind.PASSWORD_REQUIRED,
            )
        raise PermanentError(
            f"{src.name}: no converter for this OLE2 file ({ext or 'no extension'})",
            ErrorKind.UNSUPPORTED,
        )
    if head.startswith(b"PK"):
        if ext in OFFICE:
            return OFFICE[ext]
        if ext == ".epub" or b"application/epub+zip" in head[:90]:
            return "epub"
        if ext == ".zip":
            return "zip"
        raise PermanentError(f"{src.name} is a ZIP archive, not a document", ErrorKind.UNSUPPORTED)
    if ext in OFFICE or ext in (".xls", ".msg", ".epub", ".zip"):
        raise PermanentError(f"{src.name} is damaged or not a {ext[1:]} file", ErrorKind.CORRUPT)
    if ext == ".pdf":
        raise PermanentError(f"{src.name} is not a PDF (no %PDF header)", ErrorKind.CORRUPT)
    if ext == ".xml":
        if any(mark in head.lower() for mark in _FEED_MARKS):
            return "feed"
        raise PermanentError(f"{src.name}: an XML file that is not a feed", ErrorKind.UNSUPPORTED)
    if ext in PLAIN:
        return PLAIN[ext]
    raise PermanentError(
        f"{src.name}: no converter for {ext or 'files without an extension'}", ErrorKind.UNSUPPORTED
    )


sniff = kind_of  # the name earlier code and tests use


def markdown_name(src: Path, options: dict[str, Any]) -> str:
    """From the `name` template: `{name}.md` by default (report.pdf -> report.pdf.md,
    so report.pdf and report.docx never meet)."""
    return output_name(options, src, "md")


def assets_name(markdown: str) -> str:
    """The pictures' folder beside the Markdown: report.pdf.md -> report.pdf.assets."""
    return f"{markdown.removesuffix('.md')}.assets"


def planned(src: Path, out_dir: Path, options: dict[str, Any]) -> list[Path]:
    """The Markdown file, and its `.assets` folder when pictures are saved."""
    name = markdown_name(src, options)
    outputs = [out_dir / name]
    if options.get("images"):
        outputs.append(out_dir / assets_name(name))
    return outputs


@operation(
    "text",
    "Documents to Markdown",
    extensions=(".pdf", *OFFICE, *PLAIN, *OTHER),
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
        Option(
            "main_content",
            bool,
            True,
            "HTML: only the page's article, without its navigation, sidebars and footer",
        ),
        name_option("{name}.md"),
    ],
)
def to_markdown(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """Documents (PDF, Office, EPUB, HTML, feeds, mail, notebooks, CSV, ZIP, ...) to Markdown."""
    kind = kind_of(src)
    name = markdown_name(src, options)
    assets = Assets(assets_name(name), enabled=bool(options.get("images")))
    with read_steadily(src):  # a document changed mid-read would give a mix of two
        markdown = convert_file(src, kind, ctx, assets, options)
    outputs = assets.save(out_dir)
    target = out_dir / name
    with atomic_write(target) as handle:
        handle.write(markdown.encode("utf-8"))
    return [target, *outputs]


def convert_file(
    src: Path, kind: str, ctx: TaskContext, assets: Assets, options: dict[str, Any]
) -> str:
    """One file's Markdown; a PermanentError says what is wrong with the file."""
    _check_limits(src, kind)
    try:
        return CONVERTERS[kind](src, ctx, assets, options)
    except (PermanentError, InterruptedError):
        raise
    except Exception as exc:  # what the parser says about the file (operations/failures.py)
        failure = classify(_FAMILY.get(kind, "text"), exc, src.name)
        if failure is None:
            raise
        log.info("%s: %s", src, failure, exc_info=True)
        raise failure from None


CONVERTERS: dict[str, Callable[[Path, TaskContext, Assets, dict[str, Any]], str]] = {
    "pdf": pdf,
    "docx": docx,
    "pptx": pptx,
    "xlsx": xlsx,
    "xls": xls,
    "html": html,
    "feed": feed,
    "epub": epub,
    "ipynb": notebook,
    "csv": csv_table,
    "json": json_block,
    "txt": plain_text,
    "zip": archive,
    "msg": outlook,
    "eml": mime,
}


def _check_limits(src: Path, kind: str) -> None:
    """Refuse what would take more memory to parse than a document ever needs."""
    if kind in ("docx", "pptx", "xlsx", "epub", "zip"):
        limits.check_zip(src)
    elif kind in ("html", "feed"):
        limits.check_size(src, limits.MAX_HTML, "HTML and feeds are refused")
    elif kind == "xls":
        limits.check_size(src, limits.MAX_OFFICE_MEMBER, "legacy Excel is refused")
    elif kind in ("msg", "eml"):
        limits.check_size(src, limits.MAX_OFFICE_MEMBER, "a mail message is refused")
    elif kind in ("json", "ipynb"):
        limits.check_size(src, limits.MAX_JSON, "JSON is refused")
    elif kind == "txt":
        limits.check_size(src, limits.MAX_TEXT, "text is refused")
