"""How sizes and durations are written, the same in the window and the CLI.

Sizes in binary units, as the operating systems' file managers on Linux and
Windows count them: 1 KiB = 1024 bytes ("512 bytes", "1.5 KiB", "3.2 GiB").
Durations as a clock: "0:07", "12:34", "1:02:03"; an unknown one as a dash.
Counts with their noun: "1 task", "3 tasks".
Names with their control characters escaped (`visible`): a file name may hold
any byte but "/" and NUL, and a newline would split a line of the summary or
a cell of the task list, an escape sequence (ESC [ 2 J) would be obeyed by a
terminal instead of shown; as `ls` and `git` quote them, "new\\nline.txt" is
written with a backslash and an n. Data for programs (`preview`'s list of
paths, the JSON report) keeps the real name.
"""

from __future__ import annotations

import re

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def size(count: float) -> str:
    if count < 1024:
        return "1 byte" if count == 1 else f"{count:.0f} bytes"
    value = float(count)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 task", "2 tasks", "0 tasks"; `many` for words that do not take an s."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def words(code: str) -> str:
    """A code as plain words: "password_required" -> "Password required"."""
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL and the C1 controls (ESC's 8-bit forms: U+009B is CSI)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """The text with every control character written as an escape ("\\n", "\\x1b")."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"
