"""What the user asked to include, and the parsing of the CLI's filter words.

`Filters` is plain data (the window's filter controls and the CLI's options
both build one); `Filters.reason_for_file` answers "why is this file left
out?" with one of the reasons listed in docs/ARCHITECTURE.md, or None when it is included. The
checks run cheapest first, and the first that fails names the reason:
excluded (path, pattern), extension, name, size, date. Hidden files and
symbolic links are decided by the walk, which sees them first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

REASONS = (
    "extension",
    "size",
    "date",
    "name",
    "excluded",
    "hidden",
    "symlink",
    "duplicate",
    "unreadable",
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SPANS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_size(text: str) -> int:
    """'10K', '2G', '1.5MiB', '300' (bytes) -> bytes; ValueError for anything else."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"bad size {text!r} (examples: 300, 10K, 1.5M, 2G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_when(text: str, now: datetime | None = None) -> float:
    """An ISO date or time ('2024-05-01', '2024-05-01T12:30') or an age ('7d', '12h',
    '2w', '30m', '90s') -> a POSIX timestamp; ValueError for anything else."""
    match = _AGO.match(text)
    if match:
        span = timedelta(**{_SPANS[match.group(2).lower()]: float(match.group(1))})
        return ((now or datetime.now()) - span).timestamp()
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"bad date {text!r} (examples: 2024-05-01, 2024-05-01T12:30, 7d, 12h, 2w)"
        ) from None


def compile_name(pattern: str, what: str = "name pattern") -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad {what} {pattern!r}: {exc}") from None


def normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """'.PDF', 'tar.gz', 'md' -> ('.pdf', '.tar.gz', '.md'); longest first."""
    cleaned = {"." + e.strip().lower().lstrip(".") for e in extensions if e.strip(" .")}
    return tuple(sorted(cleaned, key=len, reverse=True))


@dataclass(frozen=True)
class Filters:
    extensions: tuple[str, ...] = ()  # empty: every extension
    min_size: int | None = None
    max_size: int | None = None
    newer_than: float | None = None  # POSIX timestamps
    older_than: float | None = None
    name: re.Pattern[str] | None = None  # searched in the file name
    exclude: tuple[str, ...] = ()  # gitignore-style patterns, relative to each root
    exclude_paths: tuple[Path, ...] = ()
    # regular expressions searched in the path below each root ('/' between
    # folders, a folder's path ending in '/')
    exclude_regex: tuple[re.Pattern[str], ...] = ()
    hidden: bool = False  # include dot-files and dot-folders
    follow_symlinks: bool = False
    _spec: pathspec.GitIgnoreSpec | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", normalise_extensions(self.extensions))
        if self.exclude:
            import pathspec  # here: a scan without patterns need not load it (start-up)

            object.__setattr__(self, "_spec", pathspec.GitIgnoreSpec.from_lines(self.exclude))
        paths = tuple(Path(os.path.normpath(os.path.abspath(p))) for p in self.exclude_paths)
        object.__setattr__(self, "exclude_paths", paths)
        if (
            self.min_size is not None
            and self.max_size is not None
            and self.min_size > self.max_size
        ):
            raise ValueError("the minimum size is larger than the maximum size")

    def excluded(self, path: Path, relative: str, is_dir: bool) -> bool:
        """By --exclude-path, or by a pattern matched against the path below its root."""
        for prefix in self.exclude_paths:
            if path == prefix or prefix in path.parents:
                return True
        if not relative:
            return False
        if self.exclude_regex:
            text = relative.replace(os.sep, "/") + ("/" if is_dir else "")
            if any(pattern.search(text) for pattern in self.exclude_regex):
                return True
        if self._spec is not None:
            return self._spec.match_file(relative + "/" if is_dir else relative)
        return False

    def reason_for_file(self, name: str, size: int, mtime: float) -> str | None:
        if self.extensions and not name.lower().endswith(self.extensions):
            return "extension"
        if self.name is not None and not self.name.search(name):
            return "name"
        if (self.min_size is not None and size < self.min_size) or (
            self.max_size is not None and size > self.max_size
        ):
            return "size"
        if (self.newer_than is not None and mtime < self.newer_than) or (
            self.older_than is not None and mtime >= self.older_than
        ):
            return "date"
        return None
