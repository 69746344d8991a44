"""The report of a batch as JSON-ready data (schema 1: docs/ARCHITECTURE.md, the report),
and its tasks as CSV."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from typing import Any, TextIO

from batchgui.core.models import Batch, Task, TaskStatus

SCHEMA = 1


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def _text(path: os.PathLike[str] | None) -> str | None:
    # JSON needs valid Unicode: a name that is not UTF-8 keeps its bytes as \udcXX escapes
    return None if path is None else os.fsdecode(path)


def task_entry(task: Task) -> dict[str, Any]:
    entry = {
        "path": _text(task.path),
        "status": task.status.value,
        "reason": task.reason,
        "duplicate_of": _text(task.duplicate_of),
        "attempts": task.attempts,
        "error": task.error if task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED) else None,
        "error_kind": (
            task.error_kind.value
            if task.error_kind is not None
            and task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)
            else None
        ),
        "outputs": [_text(p) for p in task.outputs],
        "duration_s": None if task.duration_s is None else round(task.duration_s, 6),
        # why a file was skipped, in words ("… already exists", which output clashed)
        "detail": task.error if task.status is TaskStatus.SKIPPED else None,
    }
    steps = task.data.get("steps")
    if steps:  # a chain: what each step made, per branch ("" for a plain chain)
        entry["steps"] = steps
    return entry


def build_report(batch: Batch, workers: int) -> dict[str, Any]:
    counts = batch.counts
    elapsed = ((batch.finished_at or 0) - batch.started_at) if batch.started_at else 0.0
    return {
        "schema": SCHEMA,
        "batch_id": batch.id,
        "op": batch.op_name,
        "mode": batch.mode,
        "workers": workers,
        "started_at": _iso(batch.started_at),
        "finished_at": _iso(batch.finished_at),
        "elapsed_s": round(max(0.0, elapsed), 3),
        "totals": {
            "total": batch.total,
            "completed": counts[TaskStatus.COMPLETED],
            "failed": counts[TaskStatus.FAILED],
            "skipped": counts[TaskStatus.SKIPPED],
            "cancelled": counts[TaskStatus.CANCELLED],
        },
        "outputs": [_text(p) for p in batch.outputs],
        "tasks": [task_entry(task) for task in batch.tasks],
    }


CSV_COLUMNS = (
    "path",
    "status",
    "reason",
    "duplicate_of",
    "attempts",
    "error",
    "error_kind",
    "outputs",
    "duration_s",
)


def write_csv(report: dict[str, Any], out: TextIO) -> None:
    """The report's tasks as CSV, one row per task (`batchgui report --csv`)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for task in report["tasks"]:
        writer.writerow(
            [
                task["path"],
                task["status"],
                task["reason"] or "",
                task["duplicate_of"] or "",
                task["attempts"],
                task["error"] or "",
                task["error_kind"] or "",
                " ".join(task["outputs"]),
                "" if task["duration_s"] is None else task["duration_s"],
            ]
        )
