"""A stored batch taken to another machine: export, then import.

    export_batch(store, id) ─► one JSON document: the batch's recipe (TOML
        text, session/recipes.py), its sources, every task (path, the folder
        it was dropped with, where its outputs go, size, status, attempts,
        error, what the operation reported) and the run report (schema 1) for people and other tools
    import_batch(store, document) ─► the recipe checked (an unknown operation
        or option: one line) ─► a new stored batch with the same tasks and
        outcomes ─► `resume` runs what was unfinished; History's Re-run failed
        (or `run --retry-failed-from EXPORT.json`) what failed

Paths are taken as they are: a batch over a shared drive imports as it was;
files that are not there fail when they run, one line each, as anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind
from batchgui.core.models import Batch, BatchStatus, Task, TaskStatus
from batchgui.core.operation import OperationSpec
from batchgui.core.report import build_report
from batchgui.session.recipes import RecipeError, parse_recipe, recipe_text
from batchgui.session.settings import RunSettings
from batchgui.store import Store

EXPORT_VERSION = 1


def export_batch(store: Store, batch_id: str) -> dict[str, Any]:
    """The document `batchgui export` writes. Blocking."""
    batch = store.load_batch(batch_id, recover=False)
    settings = RunSettings.of_batch(batch)
    return {
        "batchgui_export": EXPORT_VERSION,
        "recipe": recipe_text(settings),
        "sources": list(settings.sources),
        "tasks": [_task_entry(task) for task in batch.tasks],
        "report": build_report(batch, settings.worker_count()),
    }


def _task_entry(task: Task) -> dict[str, Any]:
    def text(path: Path | None) -> str | None:
        return None if path is None else os.fsdecode(path)

    return {
        "path": text(task.path),
        "root": text(task.root),
        "out_dir": text(task.out_dir),
        "size": task.size,
        "status": task.status.value,
        "attempts": task.attempts,
        "error": task.error,
        "error_kind": task.error_kind.value if task.error_kind else None,
        "reason": task.reason,
        "outputs": [text(p) for p in task.outputs],
        "data": task.data,  # what the operation reported (checksum: the digest)
    }


def import_batch(
    store: Store, document: dict[str, Any], origin: str, operations: dict[str, OperationSpec]
) -> Batch:
    """A new stored batch from an exported document; RecipeError (one line, naming
    `origin`) when it cannot be used here. Blocking."""
    version = document.get("batchgui_export")
    if not isinstance(version, int):
        raise RecipeError(f"{origin}: not a batchgui export")
    if version > EXPORT_VERSION:
        raise RecipeError(f"{origin}: made by a newer batchgui (export version {version})")
    settings = parse_recipe(str(document.get("recipe", "")), f"{origin} (its recipe)", operations)
    try:
        tasks = [_task_from(entry) for entry in document["tasks"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise RecipeError(f"{origin}: a task entry is not readable ({exc})") from None
    sources = tuple(str(s) for s in document.get("sources") or ())
    settings = RunSettings.from_json({**settings.to_json(), "sources": list(sources)})
    spec = operations[settings.operation]
    batch = Batch(
        settings.operation,
        tasks,
        settings.options,
        mode=settings.mode,
        out_root=Path(settings.out),
        timeout_s=settings.timeout_s if settings.timeout_s is not None else spec.default_timeout_s,
        rate_per_s=settings.rate_per_s,
        settings=settings.to_json(),
    )
    if batch.is_done:
        batch.status = BatchStatus.FINISHED  # a record: nothing left to run
    store.create_batch(batch)
    return batch


def _task_from(entry: dict[str, Any]) -> Task:
    def path(value: Any) -> Path | None:
        return None if value is None else Path(str(value))

    status = TaskStatus(entry["status"])
    if status in (TaskStatus.RUNNING, TaskStatus.RETRY_WAIT):
        status = TaskStatus.PENDING  # it was stopped there: it runs again
    task = Task(
        Path(str(entry["path"])),
        int(entry.get("size") or 0),
        out_dir=path(entry.get("out_dir")),
        root=path(entry.get("root")),
    )
    task.status = status
    task.attempts = int(entry.get("attempts") or 0)
    task.error = entry.get("error")
    kind = entry.get("error_kind")
    task.error_kind = ErrorKind(kind) if kind else None
    task.reason = entry.get("reason")
    task.outputs = [Path(str(p)) for p in entry.get("outputs") or []]
    data = entry.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError(f"data of {entry['path']} is not an object")
    task.data = data
    return task
