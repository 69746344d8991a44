"""Incremental runs: a file whose content, operation and options match an earlier
successful run whose outputs still exist is skipped as `unchanged`.

    before a batch:  path + (size, mtime_ns, dev, inode) ─► known content hash?
                     (else hash it, but only if this operation has results at all)
                     ─► (hash, operation key) ─► outputs + data ─► all still there?
                     ─► task skipped, reason "unchanged", outputs and data restored
    after a task:    session/recorder.py remembers fingerprint and result

The fingerprint check means an untouched tree is never re-read; a touched but
identical file is re-hashed once and still skipped. `ResultCache` is the
interface the SQLite store implements (store/cache.py); `MemoryResultCache`
keeps it in memory. Discovery never imports the engine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from batchgui.core.files import Fingerprint
from batchgui.core.models import Task, TaskStatus
from batchgui.scan.duplicates import content_hash

log = logging.getLogger(__name__)


def operation_key(op_name: str, options: dict[str, Any]) -> str:
    return json.dumps({"op": op_name, "options": options}, sort_keys=True, default=str)


class ResultCache(Protocol):
    def known_hash(self, path: Path, fingerprint: Fingerprint) -> str | None: ...
    def remember_hash(self, path: Path, fingerprint: Fingerprint, digest: str) -> None: ...
    def has_results(self, op_key: str) -> bool: ...
    def result(self, digest: str, op_key: str) -> tuple[list[Path], dict[str, Any]] | None: ...
    def remember_result(
        self, digest: str, op_key: str, outputs: list[Path], data: dict[str, Any]
    ) -> None: ...


class MemoryResultCache:
    def __init__(self) -> None:
        self._hashes: dict[Path, tuple[Fingerprint, str]] = {}
        self._results: dict[tuple[str, str], tuple[list[Path], dict[str, Any]]] = {}
        self._ops: set[str] = set()

    def known_hash(self, path: Path, fingerprint: Fingerprint) -> str | None:
        known = self._hashes.get(path)
        return known[1] if known is not None and known[0] == fingerprint else None

    def remember_hash(self, path: Path, fingerprint: Fingerprint, digest: str) -> None:
        self._hashes[path] = (fingerprint, digest)

    def has_results(self, op_key: str) -> bool:
        return op_key in self._ops

    def result(self, digest: str, op_key: str) -> tuple[list[Path], dict[str, Any]] | None:
        return self._results.get((digest, op_key))

    def remember_result(
        self, digest: str, op_key: str, outputs: list[Path], data: dict[str, Any]
    ) -> None:
        self._results[(digest, op_key)] = (list(outputs), dict(data))
        self._ops.add(op_key)


def skip_unchanged(
    tasks: Iterable[Task],
    cache: ResultCache,
    op_key: str,
    out_root: Path,
    hashes: dict[Path, str] | None = None,
) -> int:
    """Mark pending tasks whose result is known and whose outputs exist as skipped.

    Blocking (it may hash files): run it off the event loop. Returns the count.
    """
    if not cache.has_results(op_key):
        return 0
    skipped = 0
    for task in tasks:
        if task.status is not TaskStatus.PENDING or task.fingerprint is None:
            continue
        digest = (hashes or {}).get(task.path) or cache.known_hash(task.path, task.fingerprint)
        if digest is None:
            try:
                digest = content_hash(task.path)
            except OSError:
                continue  # the run will report it
            cache.remember_hash(task.path, task.fingerprint, digest)
        task.content_hash = digest
        known = cache.result(digest, op_key)
        if known is None:
            continue
        outputs, data = known
        if all(_inside(p, out_root) and p.is_file() for p in outputs):
            task.outputs, task.data, task.reason = list(outputs), dict(data), "unchanged"
            task.move_to(TaskStatus.SKIPPED)
            skipped += 1
    return skipped


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
