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


def csv_table(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
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


def json_block(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    try:
        value = json.loads(read_text(src))
    except json.JSONDecodeError as exc:
        raise PermanentError(f"{src.name} is not valid JSON: {exc}", ErrorKind.CORRUPT) from None
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```\n"


def plain_text(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    return read_text(src)


def notebook(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    """A Jupyter notebook: Markdown cells as they are, code cells fenced in the
    kernel's language, their text outputs fenced below them."""
    try:
        book = json.loads(read_text(src))
        cells = book["cells"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PermanentError(f"{src.name} is not a notebook: {exc}", ErrorKind.CORRUPT) from None
    meta = book.get("metadata") or {}
    language = (meta.get("kernelspec") or {}).get("language") or (
        meta.get("language_info") or {}
    ).get("name", "")
    parts = []
    for cell in cells:
        source = _joined(cell.get("source"))
        kind = cell.get("cell_type")
        if kind == "code":
            if source.strip():
                parts.append(f"```{language}\n{source.rstrip()}\n```")
            for output in cell.get("outputs") or ():
                text = _output_text(output)
                if text.strip():
                    parts.append(f"```\n{text.rstrip()}\n```")
        elif source.strip():
            parts.append(source.strip())
    return "\n\n".join(parts) + "\n"


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _output_text(output: dict[str, Any]) -> str:
    if output.get("output_type") == "stream":
        return _joined(output.get("text"))
    if output.get("output_type") == "error":
        return "\n".join([f"{output.get('ename')}: {output.get('evalue')}"])
    return _joined((output.get("data") or {}).get("text/plain"))
