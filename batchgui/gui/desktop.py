"""Opening files and folders with the desktop's own programs.

    a button or menu ─► open_path(path) ─► QDesktopServices.openUrl
        ─► "" when the desktop took it, else one line for the status bar

Qt answers False when no program is registered (or there is no desktop, as
in a bare X session without xdg-open): the user is told so, never left
clicking a button that does nothing. "Show in folder" opens the folder that
holds the file (selecting the file in it has no portable way).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def open_path(path: Path) -> str:
    """Open a file or folder; "" on success, else why not, in one line."""
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        log.info("the desktop could not open %s", path)
        return f"The system has no program to open {path}"
    return ""


def show_in_folder(path: Path) -> str:
    return open_path(path.parent)
