"""Everything between "these paths" and "a batch ready to run", in one blocking call.

    paths + filters ─► scan ─► plan tasks ─► duplicates (unless turned off)
                   ─► unchanged since an earlier run (unless forced) ─► Prepared

It reads and hashes files, so the window calls it on a worker thread and the
CLI calls it before starting its event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from batchgui.core.models import Priority
from batchgui.scan.duplicates import Duplicates, find_duplicates
from batchgui.scan.filters import Filters
from batchgui.scan.incremental import ResultCache, skip_unchanged
from batchgui.scan.plan import Plan, plan_tasks
from batchgui.scan.walk import Entry, absolute, scan


@dataclass
class Prepared:
    entries: list[Entry]
    plan: Plan
    duplicates: Duplicates = field(default_factory=Duplicates)
    unchanged: int = 0


def find_files(
    paths: Iterable[str],
    filters: Filters,
    out_root: Path | None = None,
    *,
    dedupe: bool = True,
    workers: int = 4,
    cancel: threading.Event | None = None,
) -> tuple[list[Entry], Duplicates]:
    skip = [absolute(out_root)] if out_root is not None else []
    entries = list(scan(paths, filters, skip=skip, cancel=cancel))
    duplicates = (
        find_duplicates(entries, workers=workers, cancel=cancel) if dedupe else Duplicates()
    )
    return entries, duplicates


def prepare(
    paths: Iterable[str],
    filters: Filters,
    out_root: Path,
    *,
    priority: Priority = Priority.NORMAL,
    dedupe: bool = True,
    cache: ResultCache | None = None,
    op_key: str = "",
    force: bool = False,
    workers: int = 4,
    cancel: threading.Event | None = None,
) -> Prepared:
    entries, duplicates = find_files(
        paths, filters, out_root, dedupe=dedupe, workers=workers, cancel=cancel
    )
    plan = plan_tasks(entries, out_root, priority)
    for task in plan.tasks:
        task.duplicate_of = duplicates.duplicate_of.get(task.path)
        task.content_hash = duplicates.hashes.get(task.path)
    unchanged = 0
    if cache is not None and not force:
        originals = [t for t in plan.tasks if t.duplicate_of is None]
        unchanged = skip_unchanged(originals, cache, op_key, absolute(out_root), duplicates.hashes)
    return Prepared(entries, plan, duplicates, unchanged)
