"""The store's columns in one table: how a task or a batch becomes a row and back.

    Task ─► task_state_row(task) ─► UPDATE_TASK (journal flushes, create_batch)
    SELECT TASK_SELECT ─► task_from_row(row) ─► Task       (load_batch)
    Batch ─► new_batch_row(batch) ─► INSERT_BATCH          (create_batch)
    Batch ─► batch_state_row(batch) ─► UPDATE_BATCH        (journal flushes)
    SELECT BATCH_SELECT ─► batch_from_row(id, row, tasks) ─► Batch  (load_batch)

Each table below lists the columns in the order rows carry them, with the
function that writes a value and the one that reads it back. Every other
module goes through these functions, so no positional tuple lives anywhere
else. They run once per task when 100,000 tasks are saved or loaded, so the
row functions are compiled from the tables once, at import (as dataclasses
compile their __init__): a loop over columns per row cost 40% more time.

Paths are stored as bytes (file names need not be UTF-8); lists of paths as
JSON of their surrogate-escaped text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.models import Batch, BatchStatus, Priority, Task, TaskStatus


def paths_json(paths: Iterable[os.PathLike[str]]) -> str:
    return json.dumps([os.fsdecode(p) for p in paths]) if paths else "[]"


def paths_from(text: str) -> list[Path]:
    return [] if text == "[]" else [Path(p) for p in json.loads(text)]


def dict_json(value: dict[str, Any]) -> str:
    return json.dumps(value, default=str) if value else "{}"


def dict_from(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


def path_bytes(path: os.PathLike[str] | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def path_from(raw: bytes | None, cache: dict[bytes, Path] | None = None) -> Path | None:
    """A Path from stored bytes; folders repeat, so a cache saves parsing them again."""
    if raw is None:
        return None
    if cache is None:
        return Path(os.fsdecode(raw))
    found = cache.get(raw)
    if found is None:
        found = cache[raw] = Path(os.fsdecode(raw))
    return found


def _kind_value(kind: ErrorKind | None) -> str | None:
    return kind.value if kind else None


def _kind_from(value: str | None) -> ErrorKind | None:
    return _KINDS[value] if value else None  # type: ignore[return-value]


def _member(enum: Any) -> Callable[[Any], Any]:
    """The member for a stored value: a dict lookup (calling the Enum class costs
    about 1.7 µs, 0.35 s over 100,000 tasks' status and priority)."""
    return enum._value2member_map_.__getitem__  # type: ignore[no-any-return]


_KINDS = ErrorKind._value2member_map_


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Column:
    name: str  # in SQL
    attr: str  # on the Task or Batch
    write: Callable[[Any], Any] = _same  # attribute value -> SQL value
    read: Callable[[Any], Any] = _same  # SQL value -> attribute value


# --- tasks -------------------------------------------------------------------------------
# What changes while a task runs; written by every flush.
TASK_STATE: tuple[Column, ...] = (
    Column("status", "status", lambda s: s.value, _member(TaskStatus)),
    Column("attempts", "attempts"),
    Column("crashes", "crashes"),
    Column("started_at", "started_at"),
    Column("finished_at", "finished_at"),
    Column("duration_s", "duration_s"),
    Column("outputs", "outputs", paths_json, paths_from),
    Column("output_hashes", "output_hashes", dict_json, dict_from),
    Column("data", "data", dict_json, dict_from),
    Column("error", "error"),
    Column("error_kind", "error_kind", _kind_value, _kind_from),
    Column("reason", "reason"),
    Column("duplicate_of", "duplicate_of", path_bytes, path_from),
    Column("content_hash", "content_hash"),
    Column("priority", "priority", int, _member(Priority)),
)
# What a task is; written once, when its batch is created.
TASK_IDENTITY: tuple[Column, ...] = (
    Column("path", "source", os.fsencode, os.fsdecode),  # a str: made a Path when used
    Column("root", "root", path_bytes, path_from),
    Column("out_dir", "out_dir", path_bytes, path_from),
    Column("size", "size"),
    Column(
        "fingerprint",
        "fingerprint",
        lambda f: json.dumps(f) if f else None,
        lambda text: tuple(json.loads(text)) if text else None,
    ),
)

UPDATE_TASK = (
    "UPDATE tasks SET "
    + ", ".join(f"{c.name}=?" for c in TASK_STATE)
    + " WHERE batch_id=? AND seq=?"
)
# What changes as a task runs (status, attempts, times, priority) and the rest of
# TASK_STATE (outputs, data, errors: "extras"), by place in task_state_row's tuple. A
# task whose extras are as last written is saved by UPDATE_TASK_PROGRESS: 9 values
# bound, not 17 (store/store.py decides)
_EXTRAS_FIRST, _EXTRAS_LAST = "outputs", "content_hash"  # a contiguous run of TASK_STATE
_STATE_NAMES = [c.name for c in TASK_STATE]
EXTRAS_PLACES = tuple(
    range(_STATE_NAMES.index(_EXTRAS_FIRST), _STATE_NAMES.index(_EXTRAS_LAST) + 1)
)
PROGRESS_PLACES = tuple(i for i in range(len(TASK_STATE)) if i not in EXTRAS_PLACES)
UPDATE_TASK_PROGRESS = (
    "UPDATE tasks SET "
    + ", ".join(f"{TASK_STATE[i].name}=?" for i in PROGRESS_PLACES)
    + " WHERE batch_id=? AND seq=?"
)
# a new task: its identity, status and priority; the rest keep their defaults
_NEW = (*TASK_IDENTITY, TASK_STATE[0], TASK_STATE[-1])
INSERT_TASK = (
    f"INSERT INTO tasks (batch_id, seq, {', '.join(c.name for c in _NEW)}) "
    f"VALUES (?,?{',?' * len(_NEW)})"
)
TASK_SELECT = ", ".join(c.name for c in (*TASK_IDENTITY, *TASK_STATE))
_FOLDERS = {"root", "out_dir"}


def _compile(
    name: str, params: str, expression: str, columns: tuple[Column, ...], first: str = ""
) -> Any:
    """A function `name(params)` that runs `first` and returns `expression`, with each
    column's reader and writer in scope as r<i> and w<i> (i: its place in `columns`)."""
    namespace: dict[str, Any] = {"Task": Task, "path_from": path_from}
    for index, column in enumerate(columns):
        namespace[f"w{index}"], namespace[f"r{index}"] = column.write, column.read
    body = f"    {first}\n" if first else ""
    exec(f"def {name}({params}):\n{body}    return {expression}\n", namespace)
    return namespace[name]


def _written(columns: tuple[Column, ...], obj: str) -> str:
    return ", ".join(
        f"{obj}.{c.attr}" if c.write is _same else f"w{i}({obj}.{c.attr})"
        for i, c in enumerate(columns)
    )


_TASK_ALL = (*TASK_IDENTITY, *TASK_STATE)
# TASK_STATE's values for this task, in order (UPDATE_TASK adds batch id, seq)
task_state_row: Callable[[Task], tuple[Any, ...]] = _compile(
    "task_state_row", "task", f"({_written(TASK_STATE, 'task')},)", TASK_STATE
)
new_task_row: Callable[[str, int, Task], tuple[Any, ...]] = _compile(
    "new_task_row", "batch_id, seq, task", f"(batch_id, seq, {_written(_NEW, 'task')})", _NEW
)


def _task_reader() -> Callable[[tuple[Any, ...], dict[bytes, Path]], Task]:
    names = [f"v{i}" for i in range(len(_TASK_ALL))]
    values = []
    for i, column in enumerate(_TASK_ALL):
        if column.attr in _FOLDERS:  # repeated for every task: parsed once each
            values.append(f"{column.attr}=path_from(v{i}, folders)")
        elif column.read is _same:
            values.append(f"{column.attr}=v{i}")
        else:
            values.append(f"{column.attr}=r{i}(v{i})")
    return _compile(  # type: ignore[no-any-return]
        "task_from_row",
        "row, folders",
        f"Task({', '.join(values)})",
        _TASK_ALL,
        first=f"{', '.join(names)}, = row",
    )


# A Task from a row selected with TASK_SELECT
task_from_row = _task_reader()


# --- batches -----------------------------------------------------------------------------
def _json(value: Any) -> str:
    return json.dumps(value, default=str)


# What a batch is; written once, when it is created.
BATCH_IDENTITY: tuple[Column, ...] = (
    Column("op", "op_name"),
    Column("options", "options", _json, json.loads),
    Column("out_root", "out_root", path_bytes, path_from),
    Column("base", "base", path_bytes, path_from),
    Column("timeout_s", "timeout_s"),
    Column("rate_per_s", "rate_per_s"),
    Column("settings", "settings", _json, json.loads),
    Column("created_at", "created_at"),
)
# What changes while it runs; written by every flush.
BATCH_STATE: tuple[Column, ...] = (
    Column("status", "status", lambda s: s.value, BatchStatus),
    Column("started_at", "started_at"),
    Column("finished_at", "finished_at"),
    Column("outputs", "outputs", paths_json, paths_from),
    Column("error", "error"),
    Column("mode", "mode"),
)
UPDATE_BATCH = "UPDATE batches SET " + ", ".join(f"{c.name}=?" for c in BATCH_STATE) + " WHERE id=?"


def batch_state_row(batch: Batch) -> tuple[Any, ...]:
    """BATCH_STATE's values for this batch, then its id (for UPDATE_BATCH)."""
    return (*[c.write(getattr(batch, c.attr)) for c in BATCH_STATE], batch.id)


INSERT_BATCH = (
    f"INSERT INTO batches (id, {', '.join(c.name for c in (*BATCH_IDENTITY, *BATCH_STATE))}) "
    f"VALUES (?{',?' * (len(BATCH_IDENTITY) + len(BATCH_STATE))})"
)
BATCH_SELECT = ", ".join(c.name for c in (*BATCH_IDENTITY, *BATCH_STATE))


def new_batch_row(batch: Batch) -> tuple[Any, ...]:
    return (batch.id, *[c.write(getattr(batch, c.attr)) for c in (*BATCH_IDENTITY, *BATCH_STATE)])


def batch_from_row(batch_id: str, row: tuple[Any, ...], tasks: list[Task]) -> Batch:
    """A Batch from a row selected with BATCH_SELECT, owning these tasks."""
    values = {
        c.attr: c.read(raw) for c, raw in zip((*BATCH_IDENTITY, *BATCH_STATE), row, strict=True)
    }
    return Batch(tasks=tasks, id=batch_id, **values)  # its status as stored
