"""What a person reads in each sample document: phrases a faithful conversion keeps.

Written by reading the documents themselves (the corpus files and the samples
the tests make), not from any converter's output: a title, a line of body text,
a table cell, a chart value, a speaker note. `NOISE` lists what a reader of the
article would not want in it (a web page's site chrome). Matching ignores
whitespace and Markdown's escaping and emphasis.
"""

from __future__ import annotations

import re
import unicodedata

PHRASES: dict[str, list[str]] = {
    # ../shared/corpus
    "ExternalEntityInText.docx": ["Here should not be the POI web site"],
    "GeoTopo-komprimiert.pdf": [
        "Einführung in die Geometrie und Topologie",
        "Martin Thoma",
        "Vorwort",
        "Prof. Dr. Herrlich",
        "Zwischenwertsatz",
    ],
    "act-props.pptm": ["run macro", "custom slideshow", "named slide", "last slide viewed"],
    "habibi.pdf": ["habibi", "حَبيبي"],
    "issue-1113-evil-xobjects.pdf": ["Hello world"],
    "issue_566_test_1.pdf": ["ISSUE", "2019-4-25", "黎荣"],
    "minimal-document.pdf": ["Lorem ipsum dolor sit amet", "Stet clita kasd gubergren"],
    "missing_rels_item.pptx": ["Presentation Title Text", "Subtitle Text"],
    "pdflatex-4-pages.pdf": ["Hello, here is some text without a meaning", "Huardest gefburn"],
    "simple1.pdf": ["Hello World"],
    "test.docx": ["python-docx was here!", "python-docx was here too!"],
    "test.pptx": ["Presentation Title Text", "Subtitle Text"],
    "unreadablemetadata.pdf": [
        "Rotary Potentiometer",
        "Dust-proof construction",
        "Precision linearity",
    ],
    "with-attachment.pdf": ["Lorem ipsum dolor sit amet"],
    "zen_of_python_corrupted.pdf": [
        "Beautiful is better than ugly",
        "Readability counts",
        "Errors should never pass silently",
    ],
    # made by the benchmark (the same builders as the tests)
    "zebra.html": ["Zebra", "Zebras are African equines", "three living species"],
    "river.epub": [
        "The Quiet River",
        "Ada Example",
        "The river was quiet at dawn",
        "By noon the boats came",
    ],
    "stock.xls": ["Inventory", "Lamp", "19.5", "Desk"],
    "analysis.ipynb": ["Analysis", "Load the data", "total = 2 + 3", "50"],
    "news.rss": ["Town News", "Bridge reopens", "The old bridge is open", "Fresh bread and apples"],
    "bundle.zip": ["Read me first", "pens"],
    "sales.pptx": [
        "Quarterly sales",
        "Sales by region",
        "North",
        "12.5",
        "A bar of orange",
        "Mention the new southern office",
        "Text inside a group",
    ],
    "report.docx": ["Before the picture", "An orange rectangle", "Figure 1: the rectangle"],
    "people.csv": ["山田太郎", "東京都千代田区"],
}

NOISE: dict[str, list[str]] = {
    "zebra.html": ["Jump to content", "move to sidebar", "last edited", "Deutsch", "Random"],
}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", text)  # Markdown escapes
    text = text.replace("**", "").replace("__", "")
    return " ".join(text.split())


def share_found(name: str, markdown: str) -> tuple[int, int, int]:
    """(phrases found, phrases listed, noise phrases present) for one output."""
    text = normalise(markdown)
    wanted = PHRASES.get(name, [])
    found = sum(1 for phrase in wanted if normalise(phrase) in text)
    noise = sum(1 for phrase in NOISE.get(name, []) if normalise(phrase) in text)
    return found, len(wanted), noise
