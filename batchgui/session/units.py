"""How sizes and durations are written, the same in the window and the CLI.

Sizes in binary units, as the operating systems' file managers on Linux and
Windows count them: 1 KiB = 1024 bytes ("512 bytes", "1.5 KiB", "3.2 GiB").
Durations as a clock: "0:07", "12:34", "1:02:03"; an unknown one as a dash.
Counts with their noun: "1 task", "3 tasks".
"""

from __future__ import annotations

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
