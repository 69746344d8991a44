"""PDF to text: PDFium first, then pypdf, then pdfminer.six.

    PDFium (pypdfium2, fast) ─► no file, no text, or text that looks mis-mapped
    (custom CMaps)? ─► pypdf ─► still? ─► pdfminer.six; the cleanest reading wins.
Each of the three reads files the others cannot; a password stops all three.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import TaskContext
from batchgui.operations.text.markdown import Assets

log = logging.getLogger(__name__)


def pdf(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
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
