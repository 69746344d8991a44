"""Sizes checked before a parser runs, so a bomb is refused as `too_large` in every
mode instead of being parsed until memory runs out.

    Office files (ZIP): the members' declared sizes (Python's zipfile never
        inflates a member past its declared size, so they bound what is read),
        their sum, their ratio to the file's size, and how many there are
    HTML, JSON, text: the file's size (their parsers need many times as much)
    CSV: the length of a line, read in bounded pieces
    images: every frame's pixels together (Pillow checks one frame at a time)

The limits are far above real documents (the largest in public test suites
are a few MB) and far below what a 4 GB process can hold while parsing.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from batchgui.core.errors import ErrorKind, PermanentError

MiB = 1 << 20
MAX_OFFICE_EXPANDED = 1024 * MiB  # all members together, uncompressed
MAX_OFFICE_MEMBER = 256 * MiB  # one member (an XML part is parsed whole)
MAX_OFFICE_RATIO = 100  # uncompressed / compressed, once past RATIO_FROM
RATIO_FROM = 64 * MiB
MAX_OFFICE_MEMBERS = 20_000
MAX_HTML = 64 * MiB
MAX_JSON = 64 * MiB
MAX_TEXT = 256 * MiB
MAX_CSV_LINE = 4 * MiB
MAX_FRAME_PIXELS = 400_000_000  # all frames of one image (about 1.6 GB as RGBA)


def too_large(message: str) -> PermanentError:
    return PermanentError(f"refused: {message}", ErrorKind.TOO_LARGE)


def check_size(src: Path, limit: int, what: str) -> int:
    size = os.path.getsize(src)
    if size > limit:
        raise too_large(f"{src.name} is {size / MiB:.0f} MiB; {what} over {limit // MiB} MiB")
    return size


def check_zip(src: Path) -> None:
    """Refuse an Office file whose members would inflate past the limits."""
    try:
        with zipfile.ZipFile(src) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # the converter reports a damaged file as corrupt
    if len(members) > MAX_OFFICE_MEMBERS:
        raise too_large(f"{src.name} has {len(members)} parts (a ZIP bomb?)")
    expanded = 0
    for member in members:
        if member.file_size > MAX_OFFICE_MEMBER:
            raise too_large(
                f"{src.name}: part {member.filename[:80]} inflates to "
                f"{member.file_size / MiB:.0f} MiB (a ZIP bomb?)"
            )
        expanded += member.file_size
    if expanded > MAX_OFFICE_EXPANDED:
        raise too_large(f"{src.name} inflates to {expanded / MiB:.0f} MiB (a ZIP bomb?)")
    packed = max(1, os.path.getsize(src))
    if expanded > RATIO_FROM and expanded / packed > MAX_OFFICE_RATIO:
        raise too_large(
            f"{src.name} inflates {expanded / packed:.0f} times, to {expanded / MiB:.0f} MiB "
            "(a ZIP bomb?)"
        )


def bounded_lines(handle, limit: int = MAX_CSV_LINE):
    """The lines of a text file, refusing one longer than `limit` characters before
    it is held whole."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            raise too_large(f"a line longer than {limit // MiB} MiB")
        yield line


def check_frames(name: str, frames: int, width: int, height: int) -> None:
    pixels = frames * width * height
    if pixels > MAX_FRAME_PIXELS:
        raise too_large(
            f"{name} has {frames} frames of {width}x{height} ({pixels / 1e6:.0f} Mpixels together)"
        )
