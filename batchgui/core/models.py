"""Tasks and batches: their states, the legal moves between them, and their counts.

A `Task` is one input file. Its status only changes through `Task.move_to`,
which refuses moves the state machine below does not allow and keeps the
owning batch's per-status counters exact (so statistics never scan the task
list). A `Batch` is what the user starts, pauses, cancels and resumes; it owns
its tasks and knows its operation, options and execution settings.

    pending ──► running ──► completed
       ▲  │        │ ├────► failed ─────┐  (retry failed: back to pending)
       │  │        │ └────► cancelled ──┤
       │  │        ▼                    │
       │  │    retry_wait ──────────────┘
       │  └──► skipped / cancelled
       └─────── (retry_wait, innocent re-run after a pool crash, retry)

A duplicate waits as `pending` outside the queue until its original ends, then
becomes `skipped` (with copies of the outputs), `failed` or `cancelled` with it.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, IllegalTransition


class Priority(IntEnum):
    """Higher value runs first: URGENT before HIGH before NORMAL before LOW."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @classmethod
    def parse(cls, value: str | int | Priority) -> Priority:
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                names = ", ".join(cls.choices())
                raise ValueError(f"unknown priority {value!r} (choose from {names})") from None
        return cls(value)

    @classmethod
    def choices(cls) -> tuple[str, ...]:
        """The names a user types, lowest first."""
        return tuple(p.name.lower() for p in cls)


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRY_WAIT = "retry_wait"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED}
)

_TASK_MOVES: dict[TaskStatus, frozenset[TaskStatus]] = {
    # FAILED straight from PENDING: a duplicate whose original failed
    TaskStatus.PENDING: frozenset(
        {TaskStatus.RUNNING, TaskStatus.SKIPPED, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    TaskStatus.RUNNING: frozenset(
        {
            TaskStatus.COMPLETED,
            TaskStatus.FAILED,
            TaskStatus.CANCELLED,
            TaskStatus.RETRY_WAIT,
            TaskStatus.PENDING,
        }
    ),
    TaskStatus.RETRY_WAIT: frozenset({TaskStatus.PENDING, TaskStatus.CANCELLED}),
    TaskStatus.FAILED: frozenset({TaskStatus.PENDING}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.PENDING}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.SKIPPED: frozenset(),
}


class BatchStatus(StrEnum):
    PENDING = "pending"  # created, not started
    RUNNING = "running"
    PAUSED = "paused"  # dispatching stopped; running work finishes
    FINISHED = "finished"  # every task is final
    CANCELLED = "cancelled"  # cancelled by the user (tasks cancelled)


_BATCH_MOVES: dict[BatchStatus, frozenset[BatchStatus]] = {
    BatchStatus.PENDING: frozenset(
        {BatchStatus.RUNNING, BatchStatus.PAUSED, BatchStatus.CANCELLED}
    ),
    # ... -> PENDING: reopened after the process that ran it stopped (Batch.reopen)
    BatchStatus.RUNNING: frozenset(
        {BatchStatus.PAUSED, BatchStatus.FINISHED, BatchStatus.CANCELLED, BatchStatus.PENDING}
    ),
    BatchStatus.PAUSED: frozenset(
        {BatchStatus.RUNNING, BatchStatus.CANCELLED, BatchStatus.FINISHED, BatchStatus.PENDING}
    ),
    # retrying failed tasks reopens a batch (PENDING: a stored one, Batch.requeue)
    BatchStatus.FINISHED: frozenset({BatchStatus.RUNNING, BatchStatus.PENDING}),
    BatchStatus.CANCELLED: frozenset({BatchStatus.RUNNING, BatchStatus.PENDING}),
}

_task_ids = itertools.count(1)


@dataclass(eq=False, slots=True)
class Task:
    """One input file and everything known about processing it."""

    # The input file. It may be given as a str: `path` turns it into a Path on
    # first use, so loading a stored batch of 100,000 tasks does not parse
    # 100,000 paths before the first one can start.
    source: Path | str
    size: int = 0
    priority: Priority = Priority.NORMAL
    out_dir: Path | None = None  # where this task's outputs go (mirrors the source tree)
    root: Path | None = None  # the dropped file or folder this task came from
    id: int = field(default_factory=lambda: next(_task_ids))
    batch: Batch | None = field(default=None, repr=False)
    status: TaskStatus = TaskStatus.PENDING
    attempts: int = 0  # charged runs: a re-run after someone else's crash is free
    crashes: int = 0  # times this task's worker died under it
    started_at: float | None = None  # wall clock (time.time) of the latest start
    finished_at: float | None = None
    duration_s: float | None = None  # time spent in the operation, last attempt
    outputs: list[Path] = field(default_factory=list)
    output_hashes: dict[str, str] = field(default_factory=dict)  # output -> BLAKE3
    data: dict[str, Any] = field(default_factory=dict)  # small values an operation reports
    error: str | None = None
    error_kind: ErrorKind | None = None
    reason: str | None = None  # why skipped: duplicate / unchanged / exists / name clash
    duplicate_of: Path | None = None
    progress: float = 0.0
    fingerprint: tuple[int, ...] | None = None  # (size, mtime_ns, dev, inode) when scanned
    content_hash: str | None = None  # BLAKE3 of the content, once known
    # existing files this task may replace: batchgui made them for this source before
    replaceable: frozenset[str] = frozenset()
    seq: int = 0  # 1-based position in its batch (Batch sets it; {n} in output names)
    paused_at: float | None = None  # wall clock: frozen by Pause since then (not saved)
    paused_s: float = 0.0  # time this attempt spent frozen before that

    def running_s(self, now: float) -> float:
        """How long this attempt has worked: frozen time left out."""
        if self.started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        return max(0.0, end - self.started_at - self.paused_s)

    @property
    def name(self) -> str:
        """The file's name, without making a Path (sorting 100,000 tasks by name)."""
        return os.path.basename(os.fspath(self.source))

    @property
    def path(self) -> Path:
        source = self.source
        if source.__class__ is str:
            source = self.source = Path(source)
        return source  # type: ignore[return-value]

    def move_to(self, new: TaskStatus) -> None:
        old = self.status
        if new not in _TASK_MOVES[old]:
            raise IllegalTransition(f"task {self.id} ({self.path.name}): {old} -> {new}")
        self.status = new
        if self.batch is not None:
            self.batch.counts[old] -= 1
            self.batch.counts[new] += 1


@dataclass(eq=False)
class Batch:
    """The unit a user starts, pauses, cancels and resumes."""

    op_name: str
    tasks: list[Task]
    options: dict[str, Any] = field(default_factory=dict)
    mode: str = "auto"  # resolved to async/thread/process when submitted
    out_root: Path = Path("batchgui-output")
    base: Path | None = None  # common base folder of the inputs (for manifests)
    timeout_s: float | None = None
    rate_per_s: float | None = None
    id: str = ""
    status: BatchStatus = BatchStatus.PENDING
    counts: dict[TaskStatus, int] = field(default_factory=dict)
    started_at: float | None = None  # wall clock
    finished_at: float | None = None
    created_at: float | None = None  # when it was saved
    outputs: list[Path] = field(default_factory=list)  # aggregate outputs (a manifest)
    settings: dict[str, Any] = field(default_factory=dict)  # how it was asked for (to resume)
    error: str | None = None  # a batch-level failure (the manifest could not be written)
    # existing aggregate outputs batchgui made before, which finalize may replace
    replaceable: frozenset[str] = frozenset()
    # resumed: existing outputs changed since then were written by the stopped run
    replace_since: float | None = None
    # why the engine paused it by itself and what to do (the output disk is full,
    # the cluster is gone); None otherwise
    halted: str | None = None
    # what the scan found and left out, by reason: (how many, an example with why);
    # known to the run that made the batch, not stored
    left_out: dict[str, tuple[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            import uuid

            self.id = uuid.uuid4().hex[:12]
        self.counts = dict.fromkeys(TaskStatus, 0)
        for seq, task in enumerate(self.tasks, start=1):
            task.batch = self
            task.seq = seq
            self.counts[task.status] += 1

    def move_to(self, new: BatchStatus) -> None:
        if new not in _BATCH_MOVES[self.status]:
            raise IllegalTransition(f"batch {self.id}: {self.status} -> {new}")
        self.status = new

    def reopen(self) -> None:
        """A stored batch loaded to run again in this process: one the process that
        ran it left running or paused starts over as pending (submit() moves it on).
        A finished or cancelled batch stays as it is (retrying reopens those)."""
        if self.status in (BatchStatus.RUNNING, BatchStatus.PAUSED):
            self.move_to(BatchStatus.PENDING)

    def requeue(self, statuses: tuple[TaskStatus, ...] = (TaskStatus.FAILED,)) -> list[Task]:
        """A stored batch's tasks in these final states made pending again, each with
        a fresh retry budget, before it is submitted (History's "Re-run failed").
        Returns them."""
        again = [task for task in self.tasks if task.status in statuses and task.status.is_final]
        for task in again:
            task.attempts = task.crashes = 0
            task.error = task.error_kind = None
            task.move_to(TaskStatus.PENDING)
        if again and self.status in (BatchStatus.FINISHED, BatchStatus.CANCELLED):
            self.move_to(BatchStatus.PENDING)
            self.finished_at = None
        return again

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def unfinished(self) -> int:
        c = self.counts
        return c[TaskStatus.PENDING] + c[TaskStatus.RUNNING] + c[TaskStatus.RETRY_WAIT]

    @property
    def is_done(self) -> bool:
        return self.unfinished == 0
