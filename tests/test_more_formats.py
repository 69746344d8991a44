"""The formats people expect of a documents-to-Markdown tool beyond Office and PDF:
HTML articles without their site, EPUB, legacy XLS, notebooks, feeds, ZIP archives.
Each file is made at test time with the format's own library (or written out as
the format's text), then converted the way a user's run converts it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from batchgui.core import TaskStatus
from tests.test_text import _run

WIKI_PAGE = """<!DOCTYPE html><html><head><title>Zebra - Wikipedia</title></head><body>
<a class="mw-jump-link" href="#content">Jump to content</a>
<header class="vector-header"><nav><a href="/">Main page</a>
<a href="/random">Random</a></nav></header>
<div id="mw-navigation"><div class="vector-menu">Contents move to sidebar hide</div></div>
<main id="content"><h1>Zebra</h1>
<div class="vector-menu vector-page-toolbar">Read Edit View history</div>
<p>Zebras are African equines with distinctive <a href="https://example.org/stripes">black-and-white
striped coats</a>.</p><p>There are three living species.
<span class="mw-editsection">[edit]</span></p>
<div class="interlanguage-links">Afrikaans Deutsch Español Français</div>
<script>document.write("tracking")</script>
<p><a href="javascript:alert(1)">Click me</a> and <a href="file:///etc/passwd">this</a>.</p>
</main>
<footer id="footer">This page was last edited on 1 May. Privacy policy</footer>
</body></html>"""


def test_html_keeps_the_article_and_drops_the_site_around_it(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "zebra.html").write_text(WIKI_PAGE)
    _run([src], tmp_path / "out", mode="thread")
    text = (tmp_path / "out" / "zebra.html.md").read_text()
    assert text.startswith("# Zebra")
    assert "[black-and-white striped coats](https://example.org/stripes)" in " ".join(text.split())
    assert "three living species" in text
    for chrome in ("Jump to content", "Random", "move to sidebar", "Edit View history",
                   "Deutsch", "last edited", "[edit]", "tracking"):  # fmt: skip
        assert chrome not in text, chrome
    assert "javascript:" not in text and "file:" not in text and "Click me" in text
    _run([src], tmp_path / "whole", mode="thread", main_content=False)
    whole = (tmp_path / "whole" / "zebra.html.md").read_text()
    assert "last edited" in whole and "three living species" in whole


def _epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("batchgui-test-book")
    book.set_title("The Quiet River")
    book.set_language("en")
    book.add_author("Ada Example")
    book.add_author("Ben Sample")
    chapters = []
    for number, words in ((1, "The river was quiet at dawn."), (2, "By noon the boats came.")):
        chapter = epub.EpubHtml(title=f"Chapter {number}", file_name=f"ch{number}.xhtml")
        chapter.content = f"<h1>Chapter {number}</h1><p>{words}</p>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [chapters[1], chapters[0]]  # reading order is the spine's, not the files'
    epub.write_epub(str(path), book)
    return path


def _xls(path: Path) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Inventory")
    for r, row in enumerate((("Item", "Count", "Price"), ("Lamp", 3, 19.5), ("Desk", 1, 120))):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.add_sheet("Empty")
    book.save(str(path))
    return path


NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Py"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "Load the data."]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": ["total = 2 + 3\n", "print(total)"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["5\n"]}],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "source": "total * 10",
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "data": {"text/plain": ["50"]},
                    "metadata": {},
                }
            ],
        },
    ],
}

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Town News</title>
<description>What happens in town</description>
<item><title>Bridge reopens</title><link>https://example.org/bridge</link>
<pubDate>Mon, 01 Dec 2025 09:00:00 GMT</pubDate><description>&lt;p&gt;The old bridge is
open &lt;b&gt;again&lt;/b&gt;.&lt;/p&gt;</description></item>
<item><title>Market on Sunday</title><description>Fresh bread and apples.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Lab notes</title><id>urn:lab</id><updated>2025-11-30T10:00:00Z</updated>
<entry><title>Calibration done</title><id>urn:lab:1</id><updated>2025-11-30T10:00:00Z</updated>
<content type="html">&lt;p&gt;All sensors within 0.1%.&lt;/p&gt;</content></entry></feed>"""


def test_epub_xls_notebooks_and_feeds(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _epub(src / "river.epub")
    _xls(src / "stock.xls")
    (src / "analysis.ipynb").write_text(json.dumps(NOTEBOOK))
    (src / "news.rss").write_text(RSS)
    (src / "lab.xml").write_text(ATOM)
    tasks = _run([src], tmp_path / "out", mode="thread")
    assert {n: t.status for n, t in tasks.items()} == dict.fromkeys(tasks, TaskStatus.COMPLETED), {
        n: t.error for n, t in tasks.items()
    }
    out = tmp_path / "out"
    book = (out / "river.epub.md").read_text()
    assert book.startswith("# The Quiet River\n\n*Ada Example, Ben Sample*")
    assert book.index("By noon the boats came.") < book.index("The river was quiet at dawn.")
    assert "xml version" not in book
    sheet = (out / "stock.xls.md").read_text()
    assert "## Inventory" in sheet and "| Lamp | 3 | 19.5 |" in sheet and "## Empty" in sheet
    notebook = (out / "analysis.ipynb.md").read_text()
    assert notebook.startswith("# Analysis\nLoad the data.")
    assert "```python\ntotal = 2 + 3\nprint(total)\n```\n\n```\n5\n```" in notebook
    assert "```\n50\n```" in notebook
    news = (out / "news.rss.md").read_text()
    assert news.startswith("# Town News") and "## Bridge reopens" in news
    assert "<https://example.org/bridge>" in news and "open **again**" in " ".join(news.split())
    assert "## Market on Sunday" in news
    lab = (out / "lab.xml.md").read_text()
    assert lab.startswith("# Lab notes") and "All sensors within 0.1%." in lab


def test_a_zip_of_documents_becomes_one_markdown_and_names_stay_inside(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    with zipfile.ZipFile(src / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes/readme.txt", "Read me first.")
        archive.writestr("data/table.csv", "name,qty\npens,4\n")
        archive.writestr("../../escape.txt", "a name that tries to leave")
        archive.writestr("inner.zip", b"PK\x05\x06" + b"\0" * 18)
        archive.writestr("video.mov", b"\0\0\0\x18ftypqt  ")
    tasks = _run([src], tmp_path / "out", mode="thread")
    assert tasks["bundle.zip"].status is TaskStatus.COMPLETED, tasks["bundle.zip"].error
    text = (tmp_path / "out" / "bundle.zip.md").read_text()
    assert "## notes/readme.txt\n\nRead me first." in text
    assert "## data/table.csv\n\n| name | qty |" in text
    assert "## ../../escape.txt" in text  # a heading, never a path
    assert "## Not converted" in text and "- inner.zip" in text and "- video.mov" in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bundle.zip.md"]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
