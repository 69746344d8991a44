"""Batches, tasks, history and the incremental cache in one SQLite file.

    create_batch(batch) ─► one transaction: the batch row and its task list (what
        every task is, one value); a task gets its own row when it first changes
    BatchJournal (journal.py) ─► save_changes(rows) every 250 ms and at batch end
    load_batch(id) ─► Batch with its tasks (the list, the changed tasks' rows laid
        over it); running ones come back pending
    reopen(id) ─► a stored batch made ready to run again (resume)
    results (cache.py) ─► remembered in memory, written with the next flush

All writes happen under one lock on one connection (the writer); async
callers reach it through a single-thread executor, so the event loop never
waits on SQLite. Reads for history and reports open their own connection:
WAL lets them run beside the writer. Paths are stored as bytes (file names
need not be UTF-8); how a task or batch becomes a row and back is columns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from batchgui.core.files import content_hash, remove_batch_temp_files
from batchgui.core.models import Batch, BatchStatus, Task, TaskStatus
from batchgui.core.platform.guardian import kill_leftovers
from batchgui.store.cache import StoredResultCache
from batchgui.store.columns import (
    BATCH_SELECT,
    DEFAULT_EXTRAS,
    EXTRAS_PLACES,
    INSERT_BATCH,
    STATE_SELECT,
    TASK_SELECT,
    TASK_STATE,
    UPDATE_BATCH,
    UPSERT_TASK,
    UPSERT_TASK_PROGRESS,
    batch_from_row,
    batch_state_row,
    has_extras,
    new_batch_row,
    progress_row,
    set_task_state,
    task_from_row,
    task_list_values,
    task_state_row,
    tasks_from_list,
)
from batchgui.store.db import StoreError, connect, db_path, describe, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
UNFINISHED = (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.PAUSED)
Row = tuple[Any, ...]  # column values in the order store/columns.py gives

_EXTRAS = slice(EXTRAS_PLACES[0], EXTRAS_PLACES[-1] + 1)  # contiguous in TASK_STATE
_WHOLE = len(TASK_STATE) + 2  # a whole task row: its state, batch id and seq


MadeRow = tuple[bytes, str | None, bytes | None]  # path, BLAKE3 (None: hash it), source


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = db_path(data_dir)
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        self._damaged: str | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="batchgui-store")
        self._seqs: dict[str, dict[int, int]] = {}  # batch id -> task id -> seq
        # batches created here: seq -> the extras (outputs, data, errors…) last written
        # where they are not the defaults; a task whose extras are unchanged is saved
        # with UPSERT_TASK_PROGRESS. Batches loaded from the file are not listed (their
        # rows are written whole), nor is any after a failed write.
        self._extras: dict[str, dict[int, tuple[Any, ...]]] = {}
        self.results = StoredResultCache(self._reading)  # the incremental cache
        self._made: dict[bytes, tuple[str | None, bytes | None]] | None = None
        self._made_by_source: dict[bytes, dict[str, str | None]] = {}

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        with self._lock:
            self._conn.close()

    # --- writing ---------------------------------------------------------------------
    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction (blocking); StoreError if SQLite fails.
        Once SQLite has found damage, nothing more is written to the file."""
        with self._lock:
            if self._damaged is not None:
                raise StoreError(self._damaged)
            try:
                with transaction(self._conn):
                    return work(self._conn)
            except sqlite3.Error as exc:
                message = describe(exc, self.path)
                if isinstance(exc, sqlite3.DatabaseError) and "damaged" in message:
                    self._damaged = message
                raise StoreError(message) from None

    async def write_async(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self.write, work)

    def create_batch(self, batch: Batch) -> None:
        batch.created_at = time.time()
        self._seqs[batch.id] = {task.id: seq for seq, task in enumerate(batch.tasks)}

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(INSERT_BATCH, new_batch_row(batch))
            # what the tasks are, as one value; a task gets its row when its state
            # first changes, and the few that start with more than that (skipped
            # ones) get theirs now
            conn.execute(
                "INSERT INTO task_lists VALUES (?,?,?,?)", (batch.id, len(batch.tasks), *listed)
            )
            conn.executemany(UPSERT_TASK, updated)

        listed = task_list_values(batch.tasks)
        updated = [
            (*task_state_row(t), batch.id, seq)
            for seq, t in enumerate(batch.tasks)
            if t.status is not TaskStatus.PENDING or t.duplicate_of or t.content_hash
        ]
        self.write(insert)
        self._extras[batch.id] = {
            row[-1]: extras for row in updated if (extras := row[_EXTRAS]) != DEFAULT_EXTRAS
        }

    def task_rows(self, tasks: list[Task]) -> list[Row]:
        """The rows that save these tasks' current state (made on the loop thread,
        where the tasks cannot change meanwhile): whole rows, or, where the extras
        are as last written, progress rows (shorter; save_changes_now tells them
        apart by length)."""
        seqs, known_of = self._seqs, self._extras
        rows: list[Row] = []
        for t in tasks:
            batch_id = t.batch.id  # type: ignore[union-attr]
            seq = seqs[batch_id][t.id]
            known = known_of.get(batch_id)
            if known is None:  # what was last written is not known: all of it
                rows.append((*task_state_row(t), batch_id, seq))
                continue
            if seq not in known and not has_extras(t):  # the most common case
                rows.append(progress_row(t, batch_id, seq))
                continue
            state = task_state_row(t)
            extras = state[_EXTRAS]
            if extras == known.get(seq, DEFAULT_EXTRAS):
                rows.append(progress_row(t, batch_id, seq))
                continue
            if extras == DEFAULT_EXTRAS:
                known.pop(seq, None)
            else:
                known[seq] = extras
            rows.append((*state, batch_id, seq))
        return rows

    def batch_rows(self, batches: list[Batch]) -> list[Row]:
        return [batch_state_row(b) for b in batches]

    async def save_changes(
        self, batch_rows: list[Row], task_rows: list[Row], made_rows: list[MadeRow]
    ) -> None:
        """save_changes_now on the store's writer thread (what the journal calls)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._writer, self.save_changes_now, batch_rows, task_rows, made_rows
        )

    def save_changes_now(
        self, batch_rows: list[Row], task_rows: list[Row], made_rows: Iterable[MadeRow] = ()
    ) -> None:
        """Write batch and task changes, the files batchgui made (path, BLAKE3 or None:
        hash it here, source or None) and remembered cache entries in one transaction."""
        made = [
            (path, digest if digest is not None else _digest_or_none(path), source)
            for path, digest, source in made_rows
        ]
        hashes, results = self.results.take_rows()

        def flush(conn: sqlite3.Connection) -> None:
            from batchgui.core import faults

            conn.executemany(UPDATE_BATCH, batch_rows)
            conn.executemany(UPSERT_TASK, [r for r in task_rows if len(r) == _WHOLE])
            conn.executemany(UPSERT_TASK_PROGRESS, [r for r in task_rows if len(r) != _WHOLE])
            conn.executemany("INSERT OR REPLACE INTO file_hashes VALUES (?,?,?)", hashes)
            conn.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?)", results)
            conn.executemany("INSERT OR REPLACE INTO made_files VALUES (?,?,?)", made)
            faults.reached("in-commit")

        try:
            self.write(flush)
        except StoreError:
            self.results.put_back(hashes, results)  # kept for the next attempt
            # what the extras last written are is no longer certain: whole rows from now
            self._extras.clear()
            raise
        if self._made is not None:
            with self._lock:
                for path, digest, source in made:
                    self._made[path] = (digest, source)
                    if source is not None:
                        self._made_by_source.setdefault(source, {})[os.fsdecode(path)] = digest

    # --- files batchgui made (scan.safety.MadeFiles) --------------------------------------
    def _load_made(self) -> None:
        if self._made is not None:
            return
        with self._reading() as conn:
            rows = conn.execute("SELECT path, digest, source FROM made_files").fetchall()
        made: dict[bytes, tuple[str | None, bytes | None]] = {}
        by_source: dict[bytes, dict[str, str | None]] = {}
        for path, digest, source in rows:
            made[path] = (digest, source)
            if source is not None:
                by_source.setdefault(source, {})[os.fsdecode(path)] = digest
        with self._lock:
            self._made, self._made_by_source = made, by_source

    def made_digest(self, path: Path) -> str | None:
        self._load_made()
        assert self._made is not None
        known = self._made.get(os.fsencode(path))
        return known[0] if known is not None else None

    def made_for(self, source: Path) -> dict[str, str]:
        """Files made for this input by earlier runs: path -> BLAKE3."""
        self._load_made()
        found = self._made_by_source.get(os.fsencode(source), {})
        return {path: digest for path, digest in found.items() if digest}

    # --- reading -----------------------------------------------------------------------
    def _read(self) -> sqlite3.Connection:
        try:
            return connect(self.path, create=False)
        except StoreError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(describe(exc, self.path)) from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read connection; any SQLite error (a damaged page) becomes one line."""
        conn = self._read()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise StoreError(describe(exc, self.path)) from None
        finally:
            conn.close()

    def batch_ids(self, unfinished_only: bool = False) -> list[str]:
        with self._reading() as conn:
            query = "SELECT id FROM batches"
            if unfinished_only:
                query += " WHERE status IN ('pending', 'running', 'paused')"
            return [row[0] for row in conn.execute(query + " ORDER BY created_at DESC")]

    def load_batch(self, batch_id: str, *, recover: bool = True) -> Batch:
        """The batch and its tasks; with `recover`, tasks a dead process left running
        (or waiting to retry) come back pending, and that is written at once."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {BATCH_SELECT} FROM batches WHERE id=?", (batch_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no batch {batch_id!r} (see 'batchgui history')")
            tasks = _stored_tasks(conn, batch_id)
        recovered = []
        if recover:
            for seq, task in enumerate(tasks):
                if task.status in (TaskStatus.RUNNING, TaskStatus.RETRY_WAIT):
                    # before the batch owns it (so not a move): a dead process's state
                    task.status = TaskStatus.PENDING
                    recovered.append(seq)
        batch = batch_from_row(batch_id, row, tasks)
        self._seqs[batch_id] = {task.id: seq for seq, task in enumerate(tasks)}
        self._extras.pop(batch_id, None)  # written whole from now on
        if recovered:
            self.write(
                lambda c: c.executemany(
                    "UPDATE tasks SET status='pending' WHERE batch_id=? AND seq=?",
                    [(batch_id, seq) for seq in recovered],
                )
            )
        return batch

    def reopen(self, batch_id: str) -> Batch:
        """A stored batch made ready to run again: commands of it still running ended,
        recovered (see load_batch), the temporaries a killed process left swept, and an
        unfinished batch moved back to pending (Batch.reopen). Call it holding the
        batch's lock. Blocking (it reads folders): off the event loop."""
        # commands a killed batchgui left running (its guardian killed too) would
        # race the new attempts: end them first (the caller holds the batch lock)
        kill_leftovers(batch_id)
        batch = self.load_batch(batch_id)
        remove_batch_temp_files(batch)
        batch.reopen()  # submit() starts it again
        return batch

    def forget(self, batch_ids: list[str]) -> int:
        """Delete these batches and their tasks (the files batchgui made stay
        recorded as its own). Returns how many were found. Blocking."""

        def delete(conn: sqlite3.Connection) -> int:
            found = 0
            for batch_id in batch_ids:
                conn.execute("DELETE FROM tasks WHERE batch_id=?", (batch_id,))
                conn.execute("DELETE FROM task_lists WHERE batch_id=?", (batch_id,))
                found += conn.execute("DELETE FROM batches WHERE id=?", (batch_id,)).rowcount
            return found

        found = self.write(delete)
        for batch_id in batch_ids:
            self._seqs.pop(batch_id, None)
            self._extras.pop(batch_id, None)
        return found

    def history(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT b.id, b.op, b.mode, b.status, b.created_at, b.started_at, "
                "b.finished_at, b.out_root, b.settings, t.status, count(t.seq) FROM batches b "
                "LEFT JOIN tasks t ON t.batch_id = b.id GROUP BY b.id, t.status "
                "ORDER BY b.created_at DESC"
            ).fetchall()
            # a listed task without a row has not changed since it was saved: pending
            listed = dict(conn.execute("SELECT batch_id, count FROM task_lists"))
        batches: dict[str, dict[str, Any]] = {}
        for (
            bid,
            op,
            mode,
            status,
            created,
            started,
            finished,
            out_root,
            settings,
            tstatus,
            n,
        ) in rows:
            entry = batches.get(bid) or batches.setdefault(
                bid,
                {
                    "batch_id": bid,
                    "op": op,
                    "mode": mode,
                    "status": status,
                    "created_at": created,
                    "started_at": started,
                    "finished_at": finished,
                    "out": os.fsdecode(out_root),
                    "sources": _sources_of(settings),
                    "counts": dict.fromkeys(("total", *(s.value for s in TaskStatus)), 0),
                },
            )
            if tstatus is not None:
                entry["counts"][tstatus] = n
                entry["counts"]["total"] += n
        for bid, entry in batches.items():
            counts = entry["counts"]
            unchanged = listed.get(bid, 0) - counts["total"]
            if unchanged > 0:
                counts[TaskStatus.PENDING.value] += unchanged
                counts["total"] += unchanged
        return list(batches.values())


def _stored_tasks(conn: sqlite3.Connection, batch_id: str) -> list[Task]:
    """A batch's tasks as stored: from its task list with the rows of the tasks that
    changed laid over it, or (a batch saved before task lists) from its rows alone."""
    listed = conn.execute(
        "SELECT count, paths, identities FROM task_lists WHERE batch_id=?", (batch_id,)
    ).fetchone()
    if listed is None:
        folders: dict[bytes, Path] = {}
        rows = conn.execute(
            f"SELECT {TASK_SELECT} FROM tasks WHERE batch_id=? ORDER BY seq", (batch_id,)
        )
        try:
            return [task_from_row(r, folders) for r in rows]
        except TypeError:  # a row without its path: the list it belonged to is gone
            raise StoreError(
                f"batch {batch_id}: its task list is missing (was the database repaired?); "
                "its tasks cannot be read"
            ) from None
    count, paths, identities = listed
    try:
        tasks = tasks_from_list(paths, identities)
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"batch {batch_id}: its task list cannot be read ({exc})") from None
    if len(tasks) != count:
        raise StoreError(f"batch {batch_id}: its task list holds {len(tasks)} of {count} tasks")
    for seq, *state in conn.execute(
        f"SELECT seq, {STATE_SELECT} FROM tasks WHERE batch_id=?", (batch_id,)
    ):
        if 0 <= seq < count:
            set_task_state(tasks[seq], state)
        else:  # not ours to guess at; the listed tasks are still whole
            log.warning(
                "batch %s: a task row (seq %s) outside its task list, ignored", batch_id, seq
            )
    return tasks


def _sources_of(settings: str) -> list[str]:
    """The files and folders a batch was started on, from its saved settings."""
    try:
        sources = json.loads(settings).get("sources", [])
    except (ValueError, AttributeError):
        return []
    return [str(s) for s in sources] if isinstance(sources, list) else []


def _digest_or_none(path: bytes) -> str | None:
    try:
        return content_hash(Path(os.fsdecode(path)))
    except OSError:
        return None
