"""File names as the window shows them.

A name that is not valid UTF-8 reaches Python with each odd byte carried as a
surrogate escape (os.fsdecode); Qt cannot hold those, and PySide drops them,
so 'caf\\udce9.txt' would show as 'caf.txt', a file that does not exist. The
window shows such a byte as U+FFFD (�), as file managers do, and keeps the real
Path beside anything it opens:

    Path or text with escapes ─► shown() ─► text for a widget
"""

from __future__ import annotations

import os


def shown(value: str | os.PathLike[str]) -> str:
    text = os.fsdecode(value)
    if text.isascii():  # nearly every name: nothing to look at
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
