"""The store's columns in one table: how a task or a batch becomes a row and back.

    new Batch's tasks ─► task_list_values(tasks) ─► one task_lists row  (create_batch)
    Task ─► progress_row / task_state_row ─► UPSERT_TASK[_PROGRESS]     (journal flushes:
            a task's row in `tasks` is made when it first changes, updated after that)
    task_lists value ─► tasks_from_list ─► pending Tasks, then
    SELECT STATE_SELECT ─► set_task_state(task, row) for those that changed   (load_batch)
    SELECT TASK_SELECT ─► task_from_row(row) ─► Task   (load_batch: batches saved before
                                                         task lists, a whole row each)
    Batch ─► new_batch_row(batch) ─► INSERT_BATCH          (create_batch)
    Batch ─► batch_state_row(batch) ─► UPDATE_BATCH        (journal flushes)
    SELECT BATCH_SELECT ─► batch_from_row(id, row, tasks) ─► Batch  (load_batch)

Each table below lists the columns in the order rows carry them, with the
function that writes a value and the one that reads it back. Every other
module goes through these functions, so no positional tuple lives anywhere
else. They run once per task when 100,000 tasks are saved or loaded, so the
row functions are compiled from the tables once, at import (as dataclasses
compile their __init__): a loop over columns per row cost 40% more time.

Paths are stored as bytes (file names need not be UTF-8); lists of paths, and
the paths in a task list, as JSON of their surrogate-escaped text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
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
# What a task is; written once, when its batch is created (task_list_value, below).
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


def _upsert(names: list[str]) -> str:
    """Save a task's state: its row updated, or made if it has none yet (a task of a
    task list gets its row when it first changes). Bound as (*state, batch id, seq)."""
    n = len(names)
    places = ", ".join(f"?{i}" for i in range(1, n + 1))
    return (
        f"INSERT INTO tasks (batch_id, seq, {', '.join(names)}) VALUES (?{n + 1}, ?{n + 2}, "
        f"{places}) ON CONFLICT (batch_id, seq) DO UPDATE SET "
        + ", ".join(f"{name}=excluded.{name}" for name in names)
    )


# Every TASK_STATE column, bound as task_state_row(task) + (batch id, seq)
UPSERT_TASK = _upsert([c.name for c in TASK_STATE])
# What changes as a task runs (status, attempts, times, priority) and the rest of
# TASK_STATE (outputs, data, errors: "extras"), by place in task_state_row's tuple. A
# task whose extras are as last written is saved by UPSERT_TASK_PROGRESS: 9 values
# bound, not 17 (store/store.py decides)
_EXTRAS_FIRST, _EXTRAS_LAST = "outputs", "content_hash"  # a contiguous run of TASK_STATE
_STATE_NAMES = [c.name for c in TASK_STATE]
EXTRAS_PLACES = tuple(
    range(_STATE_NAMES.index(_EXTRAS_FIRST), _STATE_NAMES.index(_EXTRAS_LAST) + 1)
)
PROGRESS_PLACES = tuple(i for i in range(len(TASK_STATE)) if i not in EXTRAS_PLACES)
UPSERT_TASK_PROGRESS = _upsert([TASK_STATE[i].name for i in PROGRESS_PLACES])
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
# TASK_STATE's values for this task, in order (UPSERT_TASK adds batch id, seq)
task_state_row: Callable[[Task], tuple[Any, ...]] = _compile(
    "task_state_row", "task", f"({_written(TASK_STATE, 'task')},)", TASK_STATE
)
_PROGRESS = tuple(TASK_STATE[i] for i in PROGRESS_PLACES)
# What UPSERT_TASK_PROGRESS binds for this task: its progress values, batch id, seq
progress_row: Callable[[Task, str, int], tuple[Any, ...]] = _compile(
    "progress_row",
    "task, batch_id, seq",
    f"({_written(_PROGRESS, 'task')}, batch_id, seq)",
    _PROGRESS,
)
# Whether any extra differs from what a new task has (an empty list or dict, or None),
# without writing them: most tasks have none, and this is asked of every one saved
_EXTRAS_COLUMNS = [TASK_STATE[i] for i in EXTRAS_PLACES]
DEFAULT_EXTRAS: tuple[Any, ...] = task_state_row(Task(Path("."), 0))[
    EXTRAS_PLACES[0] : EXTRAS_PLACES[-1] + 1
]
has_extras: Callable[[Task], bool] = _compile(
    "has_extras",
    "task",
    " or ".join(
        f"task.{c.attr} is not None" if default is None else f"bool(task.{c.attr})"
        for c, default in zip(_EXTRAS_COLUMNS, DEFAULT_EXTRAS, strict=True)
    ),
    (),
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
STATE_SELECT = ", ".join(c.name for c in TASK_STATE)


def _state_setter() -> Callable[[Task, tuple[Any, ...]], None]:
    names = [f"v{i}" for i in range(len(TASK_STATE))]
    sets = [
        f"task.{c.attr} = v{i}" if c.read is _same else f"task.{c.attr} = r{i}(v{i})"
        for i, c in enumerate(TASK_STATE)
    ]
    return _compile(  # type: ignore[no-any-return]
        "set_task_state",
        "task, row",
        "None",
        TASK_STATE,
        first="; ".join([f"{', '.join(names)}, = row", *sets]),
    )


# Give a task the state in a row selected with STATE_SELECT
set_task_state = _state_setter()


# --- a new batch's tasks, as one row ------------------------------------------------------
# What each task of a new batch is (identity and priority: TASK_IDENTITY's attributes)
# is written as one row of task_lists, not a row each: a task gets its row in `tasks`
# when its state first changes. Writing 20,000 rows took 0.10 s before the first task
# could start; this takes ~0.03 s, most of it the first str() of each Path. The paths
# are one bytes value, joined by NUL (which no file name holds); the rest is JSON, with
# folders listed once and named by place (-1: none).
_LIST_KEYS = ("sizes", "priorities", "out_dirs", "roots", "fingerprints")


def task_list_values(tasks: Sequence[Task]) -> tuple[bytes, str]:
    """(paths, identities): the task_lists columns that list these tasks."""
    folders: list[str] = []
    by_text: dict[str, int] = {}
    by_object: dict[int, int] = {id(None): -1}  # tasks share their folders' Path objects

    def places(of_tasks: list[Path | None]) -> list[int]:
        """Each folder's place in `folders` (the objects are alive meanwhile, so
        their ids are theirs)."""
        found: list[int] = []
        for folder in of_tasks:
            place = by_object.get(id(folder))
            if place is None:
                text = os.fspath(folder)  # type: ignore[arg-type]
                place = by_text.get(text)
                if place is None:
                    place = by_text[text] = len(folders)
                    folders.append(text)
                by_object[id(folder)] = place
            found.append(place)
        return found

    fspath = os.fspath
    paths = os.fsencode("\0".join([fspath(t.source) for t in tasks]))
    listed = {
        "sizes": [t.size for t in tasks],
        "priorities": [t.priority for t in tasks],  # an IntEnum: JSON writes the number
        "out_dirs": places([t.out_dir for t in tasks]),
        "roots": places([t.root for t in tasks]),
        "fingerprints": [t.fingerprint for t in tasks],
    }
    assert tuple(listed) == _LIST_KEYS
    return paths, json.dumps({"folders": folders, **listed}, separators=(",", ":"))


def tasks_from_list(paths: bytes, identities: str | bytes) -> list[Task]:
    """The tasks task_list_values listed, pending, in order; ValueError (or KeyError,
    TypeError) if these are not such values."""
    listed = json.loads(identities)
    folders: list[Path | None] = [Path(f) for f in listed["folders"]]
    folders.append(None)  # place -1
    priority = _member(Priority)
    return [
        Task(
            path,
            size,
            priority(level),
            out_dir=folders[out_dir],
            root=folders[root],
            fingerprint=tuple(fingerprint) if fingerprint else None,
        )
        for path, size, level, out_dir, root, fingerprint in zip(
            os.fsdecode(paths).split("\0") if paths else [],
            *(listed[key] for key in _LIST_KEYS),
            strict=True,
        )
    ]


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
