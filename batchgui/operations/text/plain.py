"""Text-like formats: HTML, CSV, JSON and plain text or Markdown.

Each is decoded in its own encoding first (operations/encodings.py): a file no
encoding reads credibly is corrupt, never converted into mojibake.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import TaskContext
from batchgui.operations import encodings
from batchgui.operations.limits import bounded_lines
from batchgui.operations.text.markdown import Assets, table
from batchgui.operations.text.office import MAX_SHEET_ROWS


def read_text(src: Path, *, html: bool = False) -> str:
    """The file's text in its own encoding (operations/encodings.py), or corrupt."""
    data = src.read_bytes()
    return encodings.decode(data, src.name, encodings.declared_charset(data) if html else None)


def html(src: Path, ctx: TaskContext, assets: Assets) -> str:
    from markdownify import markdownify

    return markdownify(read_text(src, html=True), heading_style="ATX").strip() + "\n"


def csv_table(src: Path, ctx: TaskContext, assets: Assets) -> str:
    """Streamed: a huge file is read only as far as the rows shown, in bounded lines."""
    with open(src, "rb") as handle:
        encoding = encodings.detect(handle.read(encodings.SAMPLE), src.name)
    try:
        rows = _csv_rows(src, encoding)
    except UnicodeDecodeError as exc:
        raise encodings.not_text(src.name, f"it is not valid {encoding} ({exc})") from None
    except csv.Error as exc:
        raise PermanentError(f"{src.name} is not valid CSV: {exc}", ErrorKind.CORRUPT) from None
    return (table(rows) + "\n") if rows else ""


_CSV_DELIMITERS = ",;\t|"  # a sniffer free to pick any character splits words apart
_CSV_SAMPLE = 8192


def _csv_rows(src: Path, encoding: str) -> list[list[str]]:
    with open(src, encoding=encoding, newline="") as handle:
        sample = handle.read(_CSV_SAMPLE)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
        except csv.Error:
            dialect = csv.excel
        handle.seek(0)
        rows = []
        for row in csv.reader(bounded_lines(handle), dialect):
            rows.append(row)
            if len(rows) >= MAX_SHEET_ROWS:
                break
        return rows


def json_block(src: Path, ctx: TaskContext, assets: Assets) -> str:
    try:
        value = json.loads(read_text(src))
    except json.JSONDecodeError as exc:
        raise PermanentError(f"{src.name} is not valid JSON: {exc}", ErrorKind.CORRUPT) from None
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```\n"


def plain_text(src: Path, ctx: TaskContext, assets: Assets) -> str:
    return read_text(src)
