"""File names as the window shows them.

A name that is not valid UTF-8 reaches Python with each odd byte carried as a
surrogate escape (os.fsdecode); Qt cannot hold those, and PySide drops them,
so 'caf\\udce9.txt' would show as 'caf.txt', a file that does not exist. The
window shows such a byte as U+FFFD (�), as file managers do, and keeps the real
Path beside anything it opens:

    Path or text with escapes ─► shown() ─► text for a widget
                              ─► shown_line() ─► text for one line (a table's
                                 cell, a title): control characters escaped too

A name may even hold a newline: in a cell it would make the row two lines, of
which one is hidden. One-line places write it as an escape, as the CLI does
(session/units.visible): "new\\nline.txt"; texts of many lines (a tooltip, a
summary) keep their line breaks.
"""

from __future__ import annotations

import os

from batchgui.session.units import visible


def shown(value: str | os.PathLike[str]) -> str:
    text = os.fsdecode(value)
    if text.isascii():  # nearly every name: nothing to look at
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def shown_line(value: str | os.PathLike[str]) -> str:
    text = shown(value)
    return text if text.isprintable() else visible(text)
