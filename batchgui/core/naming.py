"""Output names from a template: `{stem}.{newext}`, `{parent}-{n:04d}{ext}`, …

    an operation's `name` option (`--name TEMPLATE`, the window's Name field)
        ─► check_template: unknown placeholders and bad syntax refused (one line)
    planning (preview, prepare: scan/safety.py) and running (core/operation.invoke)
        ─► naming_for(root, seq): which batch position and dropped folder
           this file has, for the call in progress (a context variable, so a
           worker thread or process sets its own)
        ─► render(template, src, newext): the name; a name that is empty or
           illegal on this system is refused (NameRefused, shown as a
           `name clash` in the preview), two equal names are a clash too

Placeholders: {stem} "IMG_1092", {ext} ".jpg" (with its dot, as in `exec`),
{name} "IMG_1092.jpg", {parent} the folder's name, {rel} the path below the
dropped folder with "/" turned into "_", {n} the position in the batch
(1, 2, …; `{n:04d}` pads), {date} the file's modification date (2026-12-02),
{hash8} the first 8 hex digits of its content's BLAKE3, {newext} the
extension the operation writes ("png", "md"; without a dot).
"""

from __future__ import annotations

import functools
import os
import string
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import blake3

from batchgui.core.platform import WINDOWS

PLACEHOLDERS = ("stem", "ext", "name", "parent", "rel", "n", "date", "hash8", "newext")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}
_WINDOWS_ILLEGAL = set('<>:"|?*\\') | {chr(c) for c in range(32)}
MAX_NAME_BYTES = 255


class NameRefused(ValueError):
    """A rendered name no file system here can hold (empty, a separator, too long)."""


class NameSource(NamedTuple):
    root: Path | None = None  # the dropped folder (for {rel})
    seq: int = 0  # 1-based position in the batch (for {n}); 0: not known


_UNKNOWN = NameSource()
_source: ContextVar[NameSource | None] = ContextVar("batchgui_name_source", default=None)


class naming_for:  # lower case: used as a function, `with naming_for(root, seq):`
    """The source's place for the names rendered inside the `with` (once per task:
    a class, not a @contextmanager generator, and a NamedTuple, not a frozen
    dataclass, measured at a third of the cost)."""

    __slots__ = ("_place", "_token")

    def __init__(self, root: Path | None, seq: int) -> None:
        self._place = NameSource(root, seq)

    def __enter__(self) -> None:
        self._token = _source.set(self._place)

    def __exit__(self, *exc: object) -> None:
        _source.reset(self._token)


@functools.lru_cache(maxsize=64)  # asked once per file: a batch has a handful of templates
def check_template(template: str) -> frozenset[str]:
    """The placeholders a template uses; ValueError (one line) for anything else."""
    if not template.strip():  # every file would be refused a name, as a "name clash"
        raise ValueError("the output name is empty: give a template such as {stem}.{newext}")
    used = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bad name template {template!r}: {exc}") from None
    for _text, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            known = " ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValueError(
                f"unknown placeholder {{{field}}} in name template {template!r} (use {known})"
            )
        if conversion or "{" in (spec or ""):
            raise ValueError(f"bad name template {template!r}: only {{field}} or {{n:04d}} forms")
        used.add(field)
    return frozenset(used)


def render(template: str, src: Path, newext: str) -> str:
    """The output name for `src`; NameRefused if the result cannot be a file name."""
    used = check_template(template)
    source = _source.get() or _UNKNOWN
    fields: dict[str, Any] = {
        "stem": src.stem,
        "ext": src.suffix,
        "name": src.name,
        "parent": src.parent.name,
        "newext": newext.lstrip("."),
        "n": source.seq,
    }
    if "rel" in used:
        fields["rel"] = _relative(src, source.root).replace(os.sep, "_").replace("/", "_")
    if "date" in used:
        fields["date"] = datetime.fromtimestamp(src.stat().st_mtime).strftime("%Y-%m-%d")
    if "hash8" in used:
        fields["hash8"] = _hash8(src)
    try:
        name = template.format(**fields)
    except (ValueError, TypeError) as exc:  # a format spec that does not fit, e.g. {stem:04d}
        raise NameRefused(f"name template {template!r}: {exc}") from None
    problem = illegal(name)
    if problem:
        raise NameRefused(f"{template!r} gives {name!r} for {src.name}: {problem}")
    return name


def _hash8(src: Path) -> str:
    """The first 8 hex digits of the content's BLAKE3 (the store's content hash)."""
    hasher = blake3.blake3()
    with open(src, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return str(hasher.hexdigest())[:8]


def _relative(src: Path, root: Path | None) -> str:
    if root is None or root == src:
        return src.name
    try:
        return str(src.relative_to(root))
    except ValueError:
        return src.name


def illegal(name: str) -> str | None:
    """Why `name` cannot be a file name on this system (None: it can)."""
    if not name.strip():
        return "an empty name"
    if name in (".", ".."):
        return "not a file name"
    if "/" in name or "\0" in name or os.sep in name:
        return "a name cannot hold a path separator"
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    if WINDOWS:
        if set(name) & _WINDOWS_ILLEGAL:
            return 'Windows names cannot hold < > : " | ? * or control characters'
        if name.split(".")[0].upper() in _WINDOWS_RESERVED:
            return "a name Windows reserves for a device"
        if name.endswith((".", " ")):
            return "Windows names cannot end with a dot or a space"
    return None
