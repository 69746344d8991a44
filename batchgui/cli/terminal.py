"""Text for a person's terminal: file names and error tails with their control
characters escaped.

A file name may hold any byte but "/" and NUL: a newline would split one
failure into two lines of the summary, and an escape sequence (ESC [ 2 J, or
a title-setting OSC) would be obeyed by the terminal instead of shown. What
batchgui says about files on stderr goes through `for_terminal` first, as `ls`
and `git` quote such names:

    "new\\nline.txt"  ─►  'new\\\\nline.txt' (a backslash and an n)
    "\\x1b[2J.txt"     ─►  '\\\\x1b[2J.txt'

Data written for programs (`preview`'s list of paths, JSON reports) is left
byte for byte: a program reading it wants the real name.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL and the C1 controls (ESC's 8-bit forms: U+009B is CSI)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def for_terminal(text: str) -> str:
    """The text with every control character written as an escape."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"
