"""Logging: full detail to a rotating file, one-line warnings to the terminal.

A library's Python warning about a file it reads (Pillow's "Corrupt EXIF
data", with its own source path) goes to the file only: the task's verdict is
what the user reads, and the terminal gets batchgui's lines alone. Process
mode's workers drop such warnings (core/runners/processes.py).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

_FILE_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def setup_logging(folder: Path, *, quiet: bool = False) -> Path | None:
    """Returns the log file, or None when it could not be opened (said once on stderr)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.ERROR if quiet else logging.WARNING)
    console.setFormatter(logging.Formatter("batchgui: %(message)s"))
    # tracebacks and libraries' warnings go to the file only
    console.addFilter(lambda record: not record.exc_info and record.name != "py.warnings")
    root.addHandler(console)
    logging.captureWarnings(True)
    path = folder / "batchgui.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # a file name that is not UTF-8 (surrogate-escaped) is written escaped, not
        # refused: a refused record prints a "Logging error" traceback on stderr
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8", errors="backslashreplace"
        )
    except OSError as exc:
        print(f"batchgui: cannot write the log in {folder}: {exc.strerror or exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    root.addHandler(handler)
    return path
