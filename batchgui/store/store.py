"""Batches, tasks, history and the incremental cache in one SQLite file.

    create_batch(batch) ─► one transaction: the batch row and every task row
    BatchJournal (journal.py) ─► flush(rows) every 250 ms and at batch end
    load_batch(id) ─► Batch with its tasks; running ones come back pending
    ResultCache methods ─► remembered in memory, written with the next flush

All writes happen under one lock on one connection (the writer); async
callers reach it through a single-thread executor, so the event loop never
waits on SQLite. Reads for history and reports open their own connection:
WAL lets them run beside the writer. Paths are stored as bytes (file names
need not be UTF-8); lists of paths as JSON of their surrogate-escaped text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from batchgui.core.errors import ErrorKind
from batchgui.core.files import content_hash, remove_batch_temp_files
from batchgui.core.guardian import kill_leftovers
from batchgui.core.models import Batch, BatchStatus, Priority, Task, TaskStatus
from batchgui.store.db import StoreError, connect, db_path, describe, fspath_bytes, transaction

T = TypeVar("T")
Fingerprint = tuple[int, ...]

_TASK_COLUMNS = (
    "status, attempts, crashes, next_attempt_at, started_at, finished_at, duration_s, "
    "outputs, output_hashes, data, error, error_kind, reason, duplicate_of, content_hash, "
    "priority"
)
_UPDATE_TASK = (
    "UPDATE tasks SET "
    + ", ".join(f"{c.strip()}=?" for c in _TASK_COLUMNS.split(","))
    + " WHERE batch_id=? AND seq=?"
)
UNFINISHED = (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.PAUSED)


# Most tasks have no outputs, hashes or data yet: skipping json for those
# halves the cost of saving and loading 100,000 tasks.


def _paths_json(paths: Iterable[os.PathLike[str]]) -> str:
    return json.dumps([os.fsdecode(p) for p in paths]) if paths else "[]"


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, default=str) if value else "{}"


def _load(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


def _paths_from(text: str) -> list[Path]:
    return [] if text == "[]" else [Path(p) for p in json.loads(text)]


def _path(raw: bytes | None, cache: dict[bytes, Path] | None = None) -> Path | None:
    """A Path from stored bytes; folders repeat, so a cache saves parsing them again."""
    if raw is None:
        return None
    if cache is None:
        return Path(os.fsdecode(raw))
    found = cache.get(raw)
    if found is None:
        found = cache[raw] = Path(os.fsdecode(raw))
    return found


def task_row(task: Task) -> tuple:
    """The changing columns of a task, in _TASK_COLUMNS order (made on the loop thread)."""
    return (
        task.status.value,
        task.attempts,
        task.crashes,
        None,
        task.started_at,
        task.finished_at,
        task.duration_s,
        _paths_json(task.outputs),
        _dump(task.output_hashes),
        _dump(task.data),
        task.error,
        task.error_kind.value if task.error_kind else None,
        task.reason,
        fspath_bytes(task.duplicate_of),
        task.content_hash,
        int(task.priority),
    )


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = db_path(data_dir)
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        self._damaged: str | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="batchgui-store")
        self._seqs: dict[str, dict[int, int]] = {}  # batch id -> task id -> seq
        # incremental cache: read once, written with the next flush
        self._hashes: dict[bytes, tuple[str, str]] | None = None
        self._results: dict[tuple[str, str], tuple[str, str]] | None = None
        self._pending_hashes: list[tuple[bytes, str, str]] = []
        self._pending_results: list[tuple[str, str, str, str]] = []
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
        now = batch.created_at = time.time()
        self._seqs[batch.id] = {task.id: seq for seq, task in enumerate(batch.tasks)}

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO batches (id, op, options, mode, out_root, base, timeout_s, "
                "rate_per_s, settings, status, created_at, started_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    batch.id,
                    batch.op_name,
                    json.dumps(batch.options, default=str),
                    batch.mode,
                    fspath_bytes(batch.out_root),
                    fspath_bytes(batch.base),
                    batch.timeout_s,
                    batch.rate_per_s,
                    json.dumps(batch.settings, default=str),
                    batch.status.value,
                    now,
                    batch.started_at,
                ),
            )
            # the columns every task has; the rest keep their defaults, and the few
            # tasks that already carry more (skipped ones) get them by UPDATE: binding
            # 9 values instead of 23 halves the time to save 100,000 tasks
            conn.executemany(
                "INSERT INTO tasks (batch_id, seq, path, root, out_dir, size, fingerprint, "
                "status, priority) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    (
                        batch.id,
                        seq,
                        os.fsencode(t.path),
                        fspath_bytes(t.root),
                        fspath_bytes(t.out_dir),
                        t.size,
                        json.dumps(t.fingerprint) if t.fingerprint else None,
                        t.status.value,
                        int(t.priority),
                    )
                    for seq, t in enumerate(batch.tasks)
                ),
            )
            conn.executemany(
                _UPDATE_TASK,
                (
                    (*task_row(t), batch.id, seq)
                    for seq, t in enumerate(batch.tasks)
                    if t.status is not TaskStatus.PENDING or t.duplicate_of or t.content_hash
                ),
            )

        self.write(insert)

    def flush_rows(
        self, batch_rows: list[tuple], task_rows: list[tuple], made_rows: Iterable[tuple] = ()
    ) -> None:
        """Write batch and task changes, the files batchgui made (path, BLAKE3 or None:
        hash it here, source or None) and remembered cache entries in one transaction."""
        made = [
            (path, digest if digest is not None else _digest_or_none(path), source)
            for path, digest, source in made_rows
        ]
        with self._lock:
            hashes, self._pending_hashes = self._pending_hashes, []
            results, self._pending_results = self._pending_results, []

        def flush(conn: sqlite3.Connection) -> None:
            from batchgui.core import faults

            conn.executemany(
                "UPDATE batches SET status=?, started_at=?, finished_at=?, outputs=?, error=?, "
                "mode=? WHERE id=?",
                batch_rows,
            )
            conn.executemany(_UPDATE_TASK, task_rows)
            conn.executemany("INSERT OR REPLACE INTO file_hashes VALUES (?,?,?)", hashes)
            conn.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?)", results)
            conn.executemany("INSERT OR REPLACE INTO made_files VALUES (?,?,?)", made)
            faults.reached("in-commit")

        try:
            self.write(flush)
        except StoreError:
            with self._lock:  # keep them for the next attempt
                self._pending_hashes[:0] = hashes
                self._pending_results[:0] = results
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

    def seq_of(self, task: Task) -> int:
        assert task.batch is not None
        return self._seqs[task.batch.id][task.id]

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
                "SELECT op, options, mode, out_root, base, timeout_s, rate_per_s, settings, "
                "status, started_at, finished_at, outputs, error, created_at "
                "FROM batches WHERE id=?",
                (batch_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no batch {batch_id!r} (see 'batchgui history')")
            rows = conn.execute(
                "SELECT seq, path, root, out_dir, size, fingerprint, "
                + _TASK_COLUMNS
                + " FROM tasks WHERE batch_id=? ORDER BY seq",
                (batch_id,),
            ).fetchall()
        folders: dict[bytes, Path] = {}
        tasks = [_task_from(r, folders) for r in rows]
        recovered = []
        if recover:
            for seq, task in enumerate(tasks):
                if task.status in (TaskStatus.RUNNING, TaskStatus.RETRY_WAIT):
                    task.status = TaskStatus.PENDING
                    recovered.append(seq)
        (
            op,
            options,
            mode,
            out_root,
            base,
            timeout_s,
            rate,
            settings,
            status,
            started,
            finished,
            outputs,
            error,
            created,
        ) = row
        batch = Batch(
            op,
            tasks,
            json.loads(options),
            mode=mode,
            out_root=_path(out_root),
            base=_path(base),
            timeout_s=timeout_s,
            rate_per_s=rate,
            id=batch_id,
            settings=json.loads(settings),
        )
        batch.status = BatchStatus(status)
        batch.started_at, batch.finished_at, batch.created_at = started, finished, created
        batch.outputs, batch.error = _paths_from(outputs), error
        self._seqs[batch_id] = {task.id: seq for seq, task in enumerate(tasks)}
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
        recovered (see load_batch), the temporaries a killed process left swept, its
        status back to pending. Call it holding the batch's lock.
        Blocking (it reads folders): off the event loop."""
        # commands a killed batchgui left running (its guardian killed too) would
        # race the new attempts: end them first (the caller holds the batch lock)
        kill_leftovers(batch_id)
        batch = self.load_batch(batch_id)
        remove_batch_temp_files(batch)
        batch.status = BatchStatus.PENDING  # submit() starts it again
        return batch

    def history(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT b.id, b.op, b.mode, b.status, b.created_at, b.started_at, "
                "b.finished_at, b.out_root, t.status, count(t.seq) FROM batches b "
                "LEFT JOIN tasks t ON t.batch_id = b.id GROUP BY b.id, t.status "
                "ORDER BY b.created_at DESC"
            ).fetchall()
        batches: dict[str, dict[str, Any]] = {}
        for bid, op, mode, status, created, started, finished, out_root, tstatus, n in rows:
            entry = batches.setdefault(
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
                    "counts": dict.fromkeys(("total", *(s.value for s in TaskStatus)), 0),
                },
            )
            if tstatus is not None:
                entry["counts"][tstatus] = n
                entry["counts"]["total"] += n
        return list(batches.values())

    # --- the incremental cache (scan.incremental.ResultCache) ----------------------------
    def _load_cache(self) -> None:
        if self._hashes is not None:
            return
        with self._reading() as conn:
            self._hashes = {p: (f, d) for p, f, d in conn.execute("SELECT * FROM file_hashes")}
            self._results = {(d, k): (o, a) for d, k, o, a in conn.execute("SELECT * FROM results")}

    def known_hash(self, path: Path, fingerprint: Fingerprint) -> str | None:
        self._load_cache()
        assert self._hashes is not None
        known = self._hashes.get(os.fsencode(path))
        return known[1] if known is not None and known[0] == json.dumps(fingerprint) else None

    def remember_hash(self, path: Path, fingerprint: Fingerprint, digest: str) -> None:
        self._load_cache()
        key, value = os.fsencode(path), (json.dumps(fingerprint), digest)
        with self._lock:
            assert self._hashes is not None
            self._hashes[key] = value
            self._pending_hashes.append((key, *value))

    def has_results(self, op_key: str) -> bool:
        self._load_cache()
        assert self._results is not None
        return any(key == op_key for _, key in self._results)

    def result(self, digest: str, op_key: str) -> tuple[list[Path], dict[str, Any]] | None:
        self._load_cache()
        assert self._results is not None
        known = self._results.get((digest, op_key))
        return None if known is None else (_paths_from(known[0]), json.loads(known[1]))

    def remember_result(
        self, digest: str, op_key: str, outputs: list[Path], data: dict[str, Any]
    ) -> None:
        self._load_cache()
        value = (_paths_json(outputs), json.dumps(data, default=str))
        with self._lock:
            assert self._results is not None
            self._results[(digest, op_key)] = value
            self._pending_results.append((digest, op_key, *value))


def _digest_or_none(path: bytes) -> str | None:
    try:
        return content_hash(Path(os.fsdecode(path)))
    except OSError:
        return None


def _task_from(row: tuple, folders: dict[bytes, Path]) -> Task:
    (
        _seq,
        path,
        root,
        out_dir,
        size,
        fingerprint,
        status,
        attempts,
        crashes,
        _next,
        started,
        finished,
        duration,
        outputs,
        output_hashes,
        data,
        error,
        error_kind,
        reason,
        duplicate_of,
        content_hash,
        priority,
    ) = row
    task = Task(
        os.fsdecode(path),
        size,
        Priority(priority),
        out_dir=_path(out_dir, folders),
        root=_path(root, folders),
        status=TaskStatus(status),
        attempts=attempts,
        crashes=crashes,
        started_at=started,
        finished_at=finished,
        duration_s=duration,
        outputs=_paths_from(outputs),
        output_hashes=_load(output_hashes),
        data=_load(data),
        error=error,
        error_kind=ErrorKind(error_kind) if error_kind else None,
        reason=reason,
        duplicate_of=_path(duplicate_of),
        content_hash=content_hash,
    )
    task.fingerprint = tuple(json.loads(fingerprint)) if fingerprint else None
    return task
