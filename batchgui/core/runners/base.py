"""What every runner shares: the job it is given, the outcome it returns, and
the code that turns one operation call into a result inside a worker.

    scheduler ──Job list──► Runner.run() ──► worker: execute_call() ──► Result
        ▲                                                                 │
        └─────────────── Outcome list (same order) ◄──────────────────────┘

A `Job` stays in the main process (it holds the Task); only the pieces a
worker needs (function, paths, options) cross into it. Whatever happens in
the worker comes back as a plain `Result` tuple (it pickles cheaply and never
drags an unpicklable exception along); the runner turns it into an `Outcome`.
"""

from __future__ import annotations

import abc
import errno
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgui.core.errors import ErrorKind, OperationError, PermanentError
from batchgui.core.files import content_hash
from batchgui.core.models import Task
from batchgui.core.operation import Flag, OperationSpec, TaskContext, invoke
from batchgui.core.outputs import WriteGuard
from batchgui.core.platform import processes

# orders a command's start and end (worker threads) against Pause and Resume (the
# loop): a command can never be stopped after its job was thawed, nor run on
# after its job was frozen
_CHILDREN = threading.Lock()


@dataclass(eq=False, slots=True)
class Job:
    task: Task
    spec: OperationSpec
    options: dict[str, Any]
    timeout_s: float | None = None
    cancel_event: Flag = field(default_factory=Flag)  # what the operation sees as ctx.cancelled
    on_progress: Callable[[Task, float], None] | None = None
    cancel_requested: bool = False  # the user cancelled it (a timeout also sets the event)
    interrupted: bool = False  # stopped to be resumed later: back to pending, no charge
    child_pgid: int | None = None  # an external command's process group, while it runs
    thawed: Flag = field(default_factory=lambda: Flag(True))  # cleared while the job is frozen
    frozen_at: float | None = None  # monotonic time of the freeze, while frozen
    frozen_total_s: float = 0.0  # time spent frozen in earlier freezes
    guard: WriteGuard | None = None  # where the task may write (see core/outputs.py)
    memory_interrupted: int = 0  # stopped by thread mode's memory cap, with this many others

    def request_cancel(self) -> None:
        self.cancel_requested = True
        self.cancel_event.set()

    def set_child(self, pgid: int | None) -> None:
        """(the worker's thread) The command it runs started, or ended (None). One that
        starts as Pause freezes the job is frozen here: Pause may have looked for it
        an instant before it was told of."""
        with _CHILDREN:
            self.child_pgid = pgid
            if pgid and self.frozen:
                processes.freeze_tree(pgid)

    def freeze(self) -> None:
        """(Pause) Its command, if it runs one, is suspended with its whole tree."""
        with _CHILDREN:
            self.mark_frozen()
            if self.child_pgid:
                processes.freeze_tree(self.child_pgid)

    def thaw(self) -> None:
        with _CHILDREN:
            if self.child_pgid:
                processes.thaw_tree(self.child_pgid)
            self.mark_thawed()

    @property
    def out_dir(self) -> Path:
        """Where the task's outputs go (set for every task once its batch is submitted)."""
        out_dir = self.task.out_dir
        assert out_dir is not None, "submit() gives every task an output folder"
        return out_dir

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def mark_frozen(self) -> None:
        if self.frozen_at is None:
            self.frozen_at = time.monotonic()
            self.thawed.clear()

    def mark_thawed(self) -> None:
        if self.frozen_at is not None:
            self.frozen_total_s += time.monotonic() - self.frozen_at
            self.frozen_at = None
            self.thawed.set()

    def frozen_s(self, now: float) -> float:
        """Seconds spent frozen so far: a timeout counts running time only."""
        current = now - self.frozen_at if self.frozen_at is not None else 0.0
        return self.frozen_total_s + current


@dataclass(slots=True)
class Outcome:
    outputs: list[Path] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    kind: ErrorKind | None = None
    permanent: bool = False
    requeue: bool = False  # did not run, or ran in a pool another task broke: re-run free
    duration_s: float = 0.0
    detail: str | None = None  # the traceback, for the log
    output_hashes: dict[str, str] = field(default_factory=dict)  # output path -> BLAKE3

    @property
    def ok(self) -> bool:
        return self.error is None and not self.requeue


# A worker's answer for one call: ("ok", outputs, data, seconds, output hashes),
# ("err", message, kind, permanent, seconds, traceback_text, data), or NOT_BEGUN
Result = tuple[Any, ...]
NOT_BEGUN: Result = ("requeue",)  # paused before its turn in a unit: back to the queue


class OperationCancelled(Exception):
    """Raised by an operation that noticed `ctx.cancelled`."""


def execute_call(
    spec: OperationSpec, src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> Result:
    start = time.perf_counter()
    try:
        outputs, data = invoke(spec, src, out_dir, options, ctx)
        # hashed here, where the outputs are hot in the cache: the store records
        # them so a resumed batch can tell a complete output from a torn one
        return ("ok", outputs, data, time.perf_counter() - start, hash_outputs(outputs))
    except BaseException as exc:  # a worker must answer whatever the operation does
        if isinstance(exc, KeyboardInterrupt | SystemExit) and not ctx.cancelled:
            raise
        return error_result(exc, ctx.cancelled, time.perf_counter() - start, src)


def hash_outputs(outputs: list[Path]) -> dict[str, str]:
    return {os.fsdecode(p): content_hash(p) for p in outputs if p.is_file()}


def error_result(
    exc: BaseException, cancelled: bool, seconds: float, src: Path | None = None
) -> Result:
    if cancelled:
        kind, permanent = ErrorKind.CANCELLED, True
    elif isinstance(exc, PermanentError):
        kind, permanent = exc.kind, True
    elif isinstance(exc, MemoryError):
        kind, permanent = ErrorKind.TOO_LARGE, True
    elif isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        kind, permanent = ErrorKind.DISK_FULL, True
    elif isinstance(exc, OSError) and exc.errno in _SAME_EVERY_TIME:
        kind, permanent = ErrorKind.ERROR, True  # the same file will fail the same way
    elif isinstance(exc, PermissionError | FileNotFoundError | IsADirectoryError):
        kind, permanent = ErrorKind.ERROR, True
    elif isinstance(exc, RecursionError) or type(exc).__name__ in _MALFORMED:
        kind, permanent = ErrorKind.CORRUPT, True  # nested too deeply, or not well-formed
    else:
        kind, permanent = ErrorKind.ERROR, False
    message = describe_exception(exc, src)
    data = exc.data if isinstance(exc, OperationError) else {}
    return ("err", message, kind.value, permanent, seconds, traceback.format_exc(limit=8), data)


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_SAME_EVERY_TIME = {
    errno.ENAMETOOLONG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EFBIG,
    errno.ELOOP,
}
# parsers' "this is not well-formed" (lxml, ElementTree, expat, minidom)
_MALFORMED = {"XMLSyntaxError", "ParseError", "ExpatError", "XMLSyntaxAssertionError"}


def describe_exception(exc: BaseException, src: Path | None = None) -> str:
    """The exception in a user's words; `src`: the file the failed call was given."""
    text = str(exc).strip()
    if isinstance(exc, PermanentError | OperationError) and text:
        return text
    if src is not None and isinstance(exc, FileNotFoundError) and exc.filename in (src, str(src)):
        return "the file is gone: moved or deleted after it was found"
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        # "Permission denied: /x/y", not "PermissionError: [Errno 13] Permission denied: '/x/y'"
        other = f" -> {os.fsdecode(exc.filename2)}" if exc.filename2 is not None else ""
        return f"{exc.strerror}: {os.fsdecode(exc.filename)}{other}"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


FREEZE_SUPPORTED = processes.FREEZE_SUPPORTED  # core/platform/processes.py


def outcome_of(result: Result) -> Outcome:
    if result[0] == "requeue":
        return requeued()
    if result[0] == "ok":
        _, outputs, data, seconds, hashes = result
        return Outcome(outputs=outputs, data=data, duration_s=seconds, output_hashes=hashes)
    _, message, kind, permanent, seconds, detail, data = result
    return Outcome(
        error=message,
        kind=ErrorKind(kind),
        permanent=permanent,
        duration_s=seconds,
        detail=detail,
        data=data,
    )


def failed(kind: ErrorKind, message: str) -> Outcome:
    return Outcome(error=message, kind=kind, permanent=True)


def killed_outcome(why: ErrorKind, job: Job) -> Outcome:
    """The outcome of a task whose work batchgui stopped (a time limit, a cancel)."""
    if why is ErrorKind.TIMEOUT:
        return failed(why, f"timed out after {job.timeout_s:g} s")
    return failed(why, "cancelled while running")


def requeued() -> Outcome:
    return Outcome(requeue=True)


class Runner(abc.ABC):
    """Turns jobs into outcomes in one execution mode.

    `run` receives one unit of work (one job, or a chunk of tiny jobs of one
    batch) and returns one outcome per job, in order; it never raises for a
    job's failure. Timeouts and cancellation are the runner's to enforce,
    because only it knows how to stop its kind of worker.
    """

    mode: str
    unit_target_s = 0.02  # work per unit of tiny tasks (core/chunker.py)

    @abc.abstractmethod
    async def run(self, jobs: list[Job]) -> list[Outcome]: ...

    def cancel(self, job: Job) -> None:  # noqa: B027 - most modes only need the flag
        """Ask a running job to stop (`job.cancel_event` is already set)."""

    def set_capacity(self, workers: int) -> None:  # noqa: B027 - most modes grow on demand
        """The engine's worker limit changed; make room for that many at once."""

    def freeze(self, jobs: list[Job]) -> None:
        """Freeze running jobs: their external commands' process trees are suspended
        (core/platform/processes.py; async operations also wait at their next
        `ctx.checkpoint()`). A job whose work cannot be frozen (a thread's own
        code) just carries on."""
        for job in jobs:
            job.freeze()

    def thaw(self, jobs: list[Job]) -> None:
        for job in jobs:
            job.thaw()

    @abc.abstractmethod
    async def aclose(self, kill: bool = False) -> None:
        """Release workers; with `kill`, stop running work at once."""
