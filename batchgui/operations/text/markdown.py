"""What every converter writes with: Markdown tables, and the pictures it meets.

`Assets` collects images as converters find them and saves them as
`<name>.assets/image-N.<ext>` when the `images` option is on; names come from a
counter and the part's content type, never from names inside the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from batchgui.core.operation import atomic_write, make_folder


class Assets:
    """Images a converter meets, saved as <folder>/image-N.<ext> when enabled.

    Names come from a counter and the part's content type, never from names
    inside the document, so nothing embedded can choose where a file lands.
    """

    TYPES = {
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "image/bmp": "bmp",
        "image/tiff": "tiff",
        "image/webp": "webp",
        "image/svg+xml": "svg",
        "image/x-emf": "emf",
        "image/x-wmf": "wmf",
    }

    def __init__(self, folder: str, *, enabled: bool) -> None:
        self.folder = folder
        self.enabled = enabled
        self._blobs: list[tuple[str, bytes]] = []
        self._names: dict[str, str] = {}  # the document's own part name -> our file name

    def add(self, key: str, blob: bytes, content_type: str, alt: str = "") -> str:
        """The Markdown for one image (`key` names it inside the document, so a picture
        shown twice is saved once): a link when saving, else its description if any."""
        if not self.enabled:  # the description is content: kept, with no file to link
            return f"![{_escape(alt)}]()" if alt else ""
        name = self._names.get(key)
        if name is None:
            name = f"image-{len(self._blobs) + 1}.{self.TYPES.get(content_type, 'bin')}"
            self._names[key] = name
            self._blobs.append((name, blob))
        return f"![{_escape(alt)}]({quote(self.folder)}/{name})"

    def save(self, out_dir: Path) -> list[Path]:
        saved = []
        for name, blob in self._blobs:
            target = make_folder(out_dir / self.folder) / name
            with atomic_write(target) as handle:
                handle.write(blob)
            saved.append(target)
        return saved


def _escape(alt: str) -> str:
    return alt.replace("[", "\\[").replace("]", "\\]")


def table(rows: Iterable[list[str]]) -> str:
    """Rows as a Markdown table; the first row is the header."""
    rows = [[_cell(c) for c in row] for row in rows]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")
