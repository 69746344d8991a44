"""The SQLite file: opening it safely, checking it is ours, migrating its schema.

One database, `batchgui.db` in the data folder. Every connection runs in WAL
mode with `synchronous=FULL` and a 5 s busy timeout; writes use
`BEGIN IMMEDIATE` so two writers queue instead of deadlocking. A file that is
not SQLite, or an SQLite file that is not batchgui's (its `application_id`
differs), is refused with a clear message and never written to. The schema
version lives in `user_version`; `MIGRATIONS[n]` turns version n into n+1.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

APPLICATION_ID = 0x42475549  # "BGUI"
DB_NAME = "batchgui.db"
BUSY_TIMEOUT_S = 5.0


class StoreError(Exception):
    """The store cannot be used; the message is one line for the user."""


MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        op TEXT NOT NULL,
        options TEXT NOT NULL,          -- JSON
        mode TEXT NOT NULL,
        out_root BLOB NOT NULL,
        base BLOB,
        timeout_s REAL,
        rate_per_s REAL,
        settings TEXT NOT NULL,         -- JSON: workers, retries, sources, filters, ...
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        outputs TEXT NOT NULL DEFAULT '[]',
        error TEXT
    );
    CREATE TABLE tasks (
        batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,           -- position in the batch (scan order)
        path BLOB NOT NULL,             -- bytes: file names need not be UTF-8
        root BLOB,
        out_dir BLOB,
        size INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        crashes INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        started_at REAL,
        finished_at REAL,
        duration_s REAL,
        outputs TEXT NOT NULL DEFAULT '[]',        -- JSON of fsdecoded paths
        output_hashes TEXT NOT NULL DEFAULT '{}',
        data TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        error_kind TEXT,
        reason TEXT,
        duplicate_of BLOB,
        fingerprint TEXT,
        content_hash TEXT,
        PRIMARY KEY (batch_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE file_hashes (
        path BLOB PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        digest TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE results (
        digest TEXT NOT NULL,
        op_key TEXT NOT NULL,
        outputs TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (digest, op_key)
    ) WITHOUT ROWID;
    """,
    # 1 -> 2: the files batchgui wrote, so a later run knows which existing files
    # are its own (replaceable) and which are the user's (kept); filled from the
    # outputs earlier batches recorded
    """
    CREATE TABLE made_files (
        path BLOB PRIMARY KEY,
        digest TEXT,                    -- BLAKE3 when written (NULL: not known)
        source BLOB                     -- the input it was made for (NULL: a batch's own)
    ) WITHOUT ROWID;
    CREATE INDEX made_files_source ON made_files(source);
    INSERT OR REPLACE INTO made_files (path, digest, source)
        SELECT CAST(j.key AS BLOB), j.value, t.path
        FROM tasks t, json_each(t.output_hashes) j
        WHERE t.output_hashes != '{}' AND t.status IN ('completed', 'skipped');
    """,
    # 2 -> 3: a new batch's tasks are saved as one value (task_lists: what each task
    # is, as JSON), and a task gets its row in `tasks` when it first changes; so its
    # identity columns may be NULL there (SQLite cannot drop NOT NULL: a new table)
    """
    CREATE TABLE tasks_v3 (
        batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        path BLOB,                      -- NULL: in the batch's task list
        root BLOB,
        out_dir BLOB,
        size INTEGER,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        crashes INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        started_at REAL,
        finished_at REAL,
        duration_s REAL,
        outputs TEXT NOT NULL DEFAULT '[]',
        output_hashes TEXT NOT NULL DEFAULT '{}',
        data TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        error_kind TEXT,
        reason TEXT,
        duplicate_of BLOB,
        fingerprint TEXT,
        content_hash TEXT,
        PRIMARY KEY (batch_id, seq)
    ) WITHOUT ROWID;
    INSERT INTO tasks_v3 SELECT
        batch_id, seq, path, root, out_dir, size, priority, status, attempts, crashes,
        next_attempt_at, started_at, finished_at, duration_s, outputs, output_hashes, data,
        error, error_kind, reason, duplicate_of, fingerprint, content_hash
        FROM tasks;
    DROP TABLE tasks;
    ALTER TABLE tasks_v3 RENAME TO tasks;
    CREATE TABLE task_lists (
        batch_id TEXT PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,
        count INTEGER NOT NULL,         -- tasks listed: seq 0 .. count-1
        paths BLOB NOT NULL,            -- their paths (bytes), joined by NUL
        identities TEXT NOT NULL        -- JSON: sizes, folders... (columns.task_list_values)
    );                                  -- a rowid table: its rows are large
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """StoreError if SQLite finds damage (a cheap pass: ~40 ms for 40 MB)."""
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(_describe(exc, path)) from None
    if rows != [("ok",)]:
        lines = [ln for r in rows for ln in str(r[0]).splitlines() if not ln.startswith("***")]
        raise StoreError(damaged(path, lines[0] if lines else "quick_check failed"))


# Writers check the whole file when they open it, below this size every time,
# above it only when it was not closed cleanly (its write-ahead log is left over).
QUICK_CHECK_ALWAYS_BELOW = 256 << 20


def needs_check(path: Path) -> bool:
    try:
        if os.path.getsize(path) < QUICK_CHECK_ALWAYS_BELOW:
            return True
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """A checked, migrated connection; StoreError (one line) if it cannot be had.
    A writer (`create`) refuses a damaged file before writing anything to it."""
    check = create and needs_check(path)
    if not create and not path.exists():
        raise StoreError(f"no batchgui database at {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # mkdir's word for "there is a file of that name"
        raise StoreError(f"the data folder {path.parent} is a file, not a folder") from None
    except OSError as exc:
        raise StoreError(
            f"cannot create the data folder {path.parent}: {exc.strerror or exc}"
        ) from None
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if check:
            quick_check(conn, path)
        _set_up(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(_describe(exc, path)) from None
    except StoreError:
        conn.close()
        raise
    return conn


def _set_up(conn: sqlite3.Connection, path: Path) -> None:
    """Check, migrate, switch to WAL. While several processes open a brand-new
    file at once, SQLite can answer "locked" at once instead of waiting (a lock
    upgrade it judges a deadlock, or the switch to WAL): try again shortly."""
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            _check_and_migrate(conn, path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


_OPEN_ATTEMPTS = 5


def _check_and_migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Under the write lock, so two processes opening a new file at once agree:
    the first creates the schema, the second finds it."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]  # reads the header
    if app_id == APPLICATION_ID and conn.execute("PRAGMA user_version").fetchone()[0] == (
        SCHEMA_VERSION
    ):
        return  # the common case: no write lock needed
    with transaction(conn):
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(
                f"{path} is an SQLite database of another program; batchgui "
                "leaves it alone (choose another --data-dir)"
            )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer batchgui (schema {version}); "
                "upgrade batchgui to use it"
            )
        while version < SCHEMA_VERSION:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            version += 1
        conn.execute(f"PRAGMA user_version={version}")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip() and not s.strip().startswith("--")]


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def damaged(path: Path, what: str) -> str:
    what = " ".join(what.split())[:200]
    return (
        f"the database {path} is damaged ({what}); run 'batchgui doctor --repair' to save "
        "what can be read into a new one, or move the file aside to start afresh"
    )


def _describe(exc: sqlite3.DatabaseError, path: Path) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return damaged(path, text)
    if "readonly" in text or "read-only" in text:
        return f"cannot write to {path}: the data folder is read-only"
    if "disk is full" in text or "disk I/O" in text:
        return f"cannot write to {path}: {text} (is the disk full?)"
    return f"database {path}: {text}"


def describe(exc: sqlite3.Error, path: Path) -> str:
    return _describe(exc, path) if isinstance(exc, sqlite3.DatabaseError) else str(exc)


def fspath_bytes(path: os.PathLike[str] | None) -> bytes | None:
    return None if path is None else os.fsencode(path)
