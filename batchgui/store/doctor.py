"""`batchgui doctor`: check the database, and save what can be read from a damaged one.

    check(path)   ─► SQLite's integrity_check ─► the problems found ([] if none)
    repair(path)  ─► the damaged file (and its -wal, -shm) moved aside as
                     batchgui.db.damaged-<time> ─► a new database ─► every table
                     copied from the old file, row by row where a damaged page
                     stops a bulk copy ─► counts of rows saved per table

Nothing is ever written to the damaged file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from batchgui.store.db import StoreError, connect, transaction

TABLES = ("batches", "task_lists", "tasks", "file_hashes", "results", "made_files")


def check(path: Path) -> list[str]:
    if not path.exists():
        raise StoreError(f"no batchgui database at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == [("ok",)] else [str(r[0]) for r in rows]


@dataclass
class Repaired:
    moved_to: Path
    saved: dict[str, int] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  # table -> why rows stopped


def repair(path: Path) -> Repaired:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    result = Repaired(aside)
    new = connect(path)  # a fresh database with the current schema
    try:
        old = sqlite3.connect(f"file:{aside}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        new.close()
        result.lost["*"] = str(exc)
        return result
    try:
        for table in TABLES:
            _copy_table(old, new, table, result)
    finally:
        old.close()
        new.close()
    return result


def _copy_table(
    old: sqlite3.Connection, new: sqlite3.Connection, table: str, result: Repaired
) -> None:
    try:
        old_columns = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError as exc:
        result.lost[table] = str(exc)
        return
    new_columns = {r[1] for r in new.execute(f"PRAGMA table_info({table})")}
    columns = [c for c in old_columns if c in new_columns]
    if not columns:
        return
    names = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    saved = 0
    try:  # a damaged page can fail the query at its first step, not only later
        cursor = old.execute(f"SELECT {names} FROM {table}")
    except sqlite3.DatabaseError as exc:
        result.lost[table] = str(exc)
        return
    with transaction(new):
        while True:
            try:
                rows = cursor.fetchmany(500)
            except sqlite3.DatabaseError as exc:
                result.lost[table] = str(exc)
                break
            if not rows:
                break
            new.executemany(insert, rows)
            saved += len(rows)
    result.saved[table] = saved
