"""EPUB books (EbookLib): the title and authors, then every chapter in spine
(reading) order, each converted as HTML is. Nothing the book links to is fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchgui.core.operation import TaskContext
from batchgui.operations import encodings
from batchgui.operations.text.markdown import Assets
from batchgui.operations.text.web import page_markdown


def epub(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    import ebooklib
    from ebooklib import epub as reader

    book = reader.read_epub(str(src), options={"ignore_ncx": True})
    title = _metadata(book, "title") or src.name
    authors = ", ".join(value for value, _ in book.get_metadata("DC", "creator") if value)
    parts = [f"# {title}"]
    if authors:
        parts.append(f"*{authors}*")
    chapters = [book.get_item_with_id(idref) for idref, _linear in book.spine]
    chapters = [c for c in chapters if c is not None and c.get_type() == ebooklib.ITEM_DOCUMENT]
    for number, chapter in enumerate(chapters, 1):
        html = encodings.decode(chapter.get_content(), f"{src.name}:{chapter.get_name()}")
        text = page_markdown(html, main_only=False).strip()
        if text:
            parts.append(text)
        ctx.progress(number / len(chapters))
        if ctx.cancelled:
            raise InterruptedError("cancelled")
    return "\n\n".join(parts) + "\n"


def _metadata(book, name: str) -> str:
    found = book.get_metadata("DC", name)
    return str(found[0][0]).strip() if found and found[0][0] else ""
