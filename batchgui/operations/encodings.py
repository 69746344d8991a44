"""Which encoding a text-like file (CSV, TXT, MD, HTML, JSON) is in.

bytes ─► a byte-order mark?        ─► UTF-8 / UTF-16 / UTF-32, as it says
      ─► a declared charset (HTML) ─► that, if Python knows it
      ─► valid UTF-8?              ─► UTF-8 (most files: no guessing)
      ─► charset-normalizer's best guess over a sample, checked by decoding
         the whole file with it
      ─► nothing credible (binary data, or every guess fails): corrupt,
         never a "completed" file full of mojibake
"""

from __future__ import annotations

import codecs
import re

from batchgui.core.errors import ErrorKind, PermanentError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SAMPLE = 256 * 1024  # what the detector reads: enough for a verdict, bounded in time
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)


def not_text(name: str, why: str) -> PermanentError:
    return PermanentError(f"{name} is not readable text: {why}", ErrorKind.CORRUPT)


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML file declares in a <meta> tag, if Python knows it."""
    found = _META_CHARSET.search(head[:4096])
    if found is None:
        return None
    name = found.group(1).decode("ascii", "replace")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def detect(sample: bytes, name: str, declared: str | None = None) -> str:
    """The encoding of a file from (the start of) its bytes; PermanentError if none."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if declared:
        return declared
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) >= SAMPLE:
            return "utf-8"  # a character cut at the end of the sample
    if b"\x00" in sample:
        raise not_text(name, "it holds binary data (NUL bytes)")
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise not_text(name, "no text encoding reads it credibly")
    return best.encoding


def decode(data: bytes, name: str, declared: str | None = None) -> str:
    encoding = detect(data[:SAMPLE], name, declared)
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise not_text(name, f"it is not valid {encoding} ({exc.__class__.__name__})") from None
