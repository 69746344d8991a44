"""Duplicates waiting on their originals, inside one running batch.

    submit ─► split_off(pending): a task with `duplicate_of` set waits here,
              keyed by its original, instead of entering the queue
    the original ends ─► take(original) ─► the processor settles each follower:
        original completed or skipped ─► adopt() on a worker thread:
            both files unchanged since the scan and the outputs copyable?
            copies of the original's outputs ─► follower skipped (`duplicate`)
            else ─► None: the follower is queued and runs itself
        original failed ─► follower failed with it (same kind, never run)
        original cancelled ─► follower cancelled

Discovery (scan/duplicates.py) decides who is a duplicate by content; this
module only keeps the waiting list and makes the copies.
"""

from __future__ import annotations

import logging
from pathlib import Path

from batchgui.core.files import copy_outputs, unchanged_since_scan
from batchgui.core.models import Task, TaskStatus
from batchgui.core.outputs import WriteGuard, guarded

log = logging.getLogger(__name__)


class Followers:
    def __init__(self) -> None:
        self._waiting: dict[int, list[Task]] = {}  # original's task id -> duplicates
        self.adopting = 0  # copies being made now (the batch is not done meanwhile)

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def split_off(self, all_tasks: list[Task], pending: list[Task]) -> list[Task]:
        """Keep pending duplicates waiting; return the tasks that go in the queue. A
        duplicate whose original is not in the batch runs itself."""
        waiting = [t for t in pending if t.duplicate_of is not None]
        if not waiting:  # only then is a path index worth its cost
            return pending
        by_path = {task.path: task for task in all_tasks}
        for task in waiting:
            original = by_path.get(task.duplicate_of)  # type: ignore[arg-type]
            if original is not None and original is not task:
                self._waiting.setdefault(original.id, []).append(task)
            else:
                task.duplicate_of = None
        return [t for t in pending if t.duplicate_of is None]

    def take(self, original: Task) -> list[Task]:
        """The duplicates still waiting for this original (cancelled ones dropped)."""
        found = self._waiting.pop(original.id, [])
        return [follower for follower in found if follower.status is TaskStatus.PENDING]


def adopt(original: Task, follower: Task, guard: WriteGuard) -> list[Path] | None:
    """Copies of the original's outputs for the follower, or None: it must run
    itself (either file changed since the scan, or the outputs cannot be copied
    faithfully). Blocking: call it on a worker thread. Raises PermanentError when
    a file batchgui did not make is in the way, OSError when copying fails."""
    if not (unchanged_since_scan(original) and unchanged_since_scan(follower)):
        log.info("%s or its original changed since the scan; running it", follower.path)
        return None
    with guarded(guard):
        return copy_outputs(original, follower)
