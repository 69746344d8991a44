"""What a finished attempt means for its task: one pure function, tested as a table.

    (outcome, attempts so far, crashes so far, retry policy, the user's cancel,
     an interrupt to resume later) ─► verdict() ─► Verdict

The engine (processor._settle_outcome) only carries the verdict out: it moves
the task, schedules the retry, sends the events. Nothing here touches a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from batchgui.core.errors import ErrorKind
from batchgui.core.retry import RetryPolicy


class Verdict(Enum):
    COMPLETED = "completed"
    REQUEUED = "requeued"  # back to pending, not charged (never ran, or someone else's crash)
    WITHDRAWN = "withdrawn"  # cancelled before it really ran: not charged
    CANCELLED = "cancelled"
    RETRY = "retry"  # after the policy's backoff
    RETRY_NOW = "retry now"  # a crash, charged: run again at once
    FAILED = "failed"
    CRASHED_OUT = "crashed out"  # crashed too often: failed as crashed
    HALTED = "halted"  # the disk is full: back to pending, the batch pauses


@dataclass(frozen=True)
class Attempt:
    """What the engine knows when an attempt ends."""

    ok: bool
    requeue: bool = False
    kind: ErrorKind | None = None
    permanent: bool = False
    cancel_requested: bool = False  # the user asked (a timeout does not count here)
    interrupted: bool = False  # stopped to be resumed later (save / shutdown)


_HALTING = (ErrorKind.DISK_FULL, ErrorKind.CLUSTER_LOST)  # every further file would fail too


def verdict(attempt: Attempt, attempts: int, crashes: int, policy: RetryPolicy) -> Verdict:
    """`attempts` counts this one; `crashes` does not yet."""
    if attempt.interrupted and not attempt.ok:
        return Verdict.REQUEUED
    if attempt.requeue:
        return Verdict.WITHDRAWN if attempt.cancel_requested else Verdict.REQUEUED
    if attempt.ok:
        return Verdict.COMPLETED
    kind = attempt.kind or ErrorKind.ERROR
    if kind in _HALTING and not attempt.cancel_requested:
        return Verdict.HALTED
    if attempt.cancel_requested or kind is ErrorKind.CANCELLED:
        return Verdict.CANCELLED
    if kind is ErrorKind.CRASHED:
        return Verdict.CRASHED_OUT if crashes + 1 >= policy.max_crashes else Verdict.RETRY_NOW
    if policy.should_retry(attempts, kind, attempt.permanent):
        return Verdict.RETRY
    return Verdict.FAILED
