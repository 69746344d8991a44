"""Everything between "these paths" and "a batch ready to run", in one blocking call.

    paths + filters ─► the output folder is safe (not an input, not a file)
        ─► scan ─► plan tasks ─► duplicates (unless turned off, or the operation's
        effects are not its outputs) ─► planned outputs: none on a source, none
        shared (safety.claim_outputs) ─► unchanged since an earlier run (unless
        forced) ─► files already where outputs go (safety.check_existing)
        ─► Prepared

It reads and hashes files, so the window calls it on a worker thread and the
CLI calls it before starting its event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgui.core.models import Priority
from batchgui.core.operation import OperationSpec
from batchgui.core.outputs import DEFAULT_ON_EXISTS
from batchgui.scan.duplicates import Duplicates, find_duplicates
from batchgui.scan.filters import Filters
from batchgui.scan.incremental import ResultCache, skip_unchanged
from batchgui.scan.plan import Plan, plan_tasks
from batchgui.scan.safety import (
    MadeFiles,
    check_existing,
    check_existing_batch_outputs,
    claim_outputs,
    leave_out_unsupported,
    refuse_unsafe_output_folder,
)
from batchgui.scan.walk import Entry, absolute, scan


@dataclass
class Prepared:
    entries: list[Entry]
    plan: Plan
    duplicates: Duplicates = field(default_factory=Duplicates)
    unchanged: int = 0
    batch_replaceable: frozenset[str] = frozenset()  # aggregate outputs made before


def find_files(
    paths: Iterable[str],
    filters: Filters,
    out_root: Path | None = None,
    *,
    dedupe: bool = True,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    spec: OperationSpec | None = None,
) -> tuple[list[Entry], Duplicates]:
    """Scan, leave out what `spec` cannot take (`unsupported`), find duplicates."""
    skip = [absolute(out_root)] if out_root is not None else []
    entries = list(scan(paths, filters, skip=skip, cancel=cancel))
    if spec is not None:
        entries = leave_out_unsupported(entries, spec)
    duplicates = (
        find_duplicates(entries, workers=workers, cancel=cancel) if dedupe else Duplicates()
    )
    return entries, duplicates


def prepare(
    paths: Iterable[str],
    filters: Filters,
    out_root: Path,
    *,
    spec: OperationSpec | None = None,
    options: dict[str, Any] | None = None,
    on_exists: str = DEFAULT_ON_EXISTS,
    priority: Priority = Priority.NORMAL,
    dedupe: bool = True,
    cache: ResultCache | None = None,
    made: MadeFiles | None = None,
    op_key: str = "",
    force: bool = False,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    scanned: tuple[list[Entry], Duplicates] | None = None,
) -> Prepared:
    """InputError (one line for the user) for unusable paths and unsafe outputs.
    `scanned`: what a preview already found for these paths and filters (the
    window's), used instead of walking and hashing again."""
    paths = list(paths)
    out_root = absolute(out_root)
    options = options or {}
    refuse_unsafe_output_folder(out_root, paths)
    if spec is not None and not spec.incremental:
        dedupe = False  # a command's effects cannot be copied to another file
    if scanned is not None:
        entries, duplicates = scanned
        if spec is not None:
            entries = leave_out_unsupported(entries, spec)
        if not dedupe:
            duplicates = Duplicates()
    else:
        entries, duplicates = find_files(
            paths, filters, out_root, dedupe=dedupe, workers=workers, cancel=cancel, spec=spec
        )
    plan = plan_tasks(entries, out_root, priority)
    for task in plan.tasks:
        task.duplicate_of = duplicates.duplicate_of.get(task.path)
        task.content_hash = duplicates.hashes.get(task.path)
    if spec is not None:
        claim_outputs(plan.tasks, entries, spec, options, out_root)
    unchanged = 0
    if cache is not None and not force:
        originals = [t for t in plan.tasks if t.duplicate_of is None]
        unchanged = skip_unchanged(originals, cache, op_key, out_root, duplicates.hashes)
    batch_replaceable: frozenset[str] = frozenset()
    if spec is not None:
        check_existing(plan.tasks, spec, options, on_exists, made)
        batch_replaceable = check_existing_batch_outputs(spec, options, out_root, on_exists, made)
    return Prepared(entries, plan, duplicates, unchanged, batch_replaceable)
