"""Web formats: HTML pages and RSS/Atom feeds.

    HTML  decoded (declared charset, else detected) ─► BeautifulSoup ─► scripts,
          styles, forms and embedded objects dropped ─► with `main_content` (the
          default) only the article: <main>, [role=main], the largest <article>,
          else <body>, less its navigation, sidebars, footers, edit links and
          language lists ─► markdownify (links kept as Markdown links)
    feeds feedparser ─► the feed's title, then each entry as a section: its
          title, date, link and summary or content (HTML in it converted too)

Nothing is fetched: no linked page, image, stylesheet or script is followed,
and `javascript:` or `file:` links become plain text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import TaskContext
from batchgui.operations.text.markdown import Assets
from batchgui.operations.text.plain import read_text

_NEVER_CONTENT = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "link",
    "meta",
)
_CHROME_TAGS = ("nav", "aside", "footer")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
# ids and classes of site chrome (and of MediaWiki's): matched as whole words
_CHROME_WORDS = re.compile(
    r"(^|[\s_-])(nav|navbar|navbox|navigation|menu|sidebar|breadcrumbs?|footer|toc|cookies?"
    r"|banner|share|social|related|advert|ads|noprint|editsection|jump|printfooter"
    r"|catlinks|language|languages|interlanguage|mw-portlet|vector-menu|skip)($|[\s_-])",
    re.I,
)
_UNSAFE_LINK = re.compile(r"^\s*(javascript|file|vbscript|data):", re.I)


def html(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    return page_markdown(read_text(src, html=True), main_only=options.get("main_content", True))


def page_markdown(text: str, *, main_only: bool = True) -> str:
    # imported here, not at the top: every batchgui command loads the operations,
    # and bs4 alone took 90 ms of each one's start-up
    from bs4 import BeautifulSoup
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction
    from markdownify import markdownify

    not_text = (Comment, Declaration, Doctype, ProcessingInstruction)

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(list(_NEVER_CONTENT)):
        tag.decompose()
    for node in soup.find_all(string=lambda n: isinstance(n, not_text)):
        node.extract()  # <?xml …?>, <!DOCTYPE>, comments
    for link in soup.find_all("a", href=True):
        if _UNSAFE_LINK.match(str(link["href"])):
            del link["href"]
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root: Any = soup
    if main_only:
        root = _main(soup)
        _drop_chrome(root)
    if soup.title is not None:
        soup.title.decompose()
    markdown = markdownify(str(root), heading_style="ATX", bullets="-").strip()
    markdown = re.sub(r"\n{3,}", "\n\n", markdown)
    if title and not markdown.lstrip().startswith("# "):
        markdown = f"# {title}\n\n{markdown}"
    return markdown + "\n"


def _main(soup):
    """The part of the page that is the article."""
    for found in (soup.find("main"), soup.find(attrs={"role": "main"})):
        if found is not None:
            return found
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=lambda a: len(a.get_text(" ", strip=True)))
    return soup.body or soup


def _drop_chrome(root) -> None:
    for tag in root.find_all(list(_CHROME_TAGS)):
        tag.decompose()
    for tag in root.find_all(True):
        if tag.decomposed:
            continue
        role = (tag.get("role") or "").lower()
        words = " ".join([tag.get("id") or "", *(tag.get("class") or [])])
        if role in _CHROME_ROLES or (words.strip() and _CHROME_WORDS.search(words)):
            tag.decompose()


def feed(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    import feedparser

    parsed = feedparser.parse(src.read_bytes(), resolve_relative_uris=False, sanitize_html=True)
    if parsed.bozo and not parsed.entries and not parsed.feed.get("title"):
        raise PermanentError(
            f"{src.name} is not a feed: {parsed.get('bozo_exception')}", ErrorKind.CORRUPT
        )
    parts = [f"# {parsed.feed.get('title') or src.name}"]
    subtitle = parsed.feed.get("subtitle")
    if subtitle:
        parts.append(_inline(subtitle))
    for entry in parsed.entries:
        lines = [f"## {entry.get('title') or 'Untitled'}"]
        when = entry.get("published") or entry.get("updated")
        link = entry.get("link")
        meta = " · ".join(x for x in (when, f"<{link}>" if link else "") if x)
        if meta:
            lines.append(meta)
        body = ""
        if entry.get("content"):
            body = entry["content"][0].get("value", "")
        body = body or entry.get("summary", "")
        if body:
            lines.append(_inline(body))
        parts.append("\n\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _inline(fragment: str) -> str:
    """A piece of HTML (or plain text) inside a feed, as Markdown."""
    if "<" not in fragment:
        return fragment.strip()
    return page_markdown(fragment, main_only=False).strip()
