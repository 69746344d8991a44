"""Errors an operation raises and the kinds a failed task is classified as.

An operation signals "do not retry this" by raising `PermanentError` (or a
subclass); everything else is a transient failure the retry policy may retry.
The task's error text is the message of a `PermanentError` or `OperationError`,
and "ExceptionName: message" for anything else.
The `kind` travels into the report's `error_kind` (docs/ARCHITECTURE.md: reasons and kinds).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    PASSWORD_REQUIRED = "password_required"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    CANCELLED = "cancelled"
    ERROR = "error"
    # never a task's final kind: the task goes back to pending and its batch pauses
    DISK_FULL = "disk_full"
    CLUSTER_LOST = "cluster_lost"  # the same: the connection to a Dask cluster failed


class PermanentError(Exception):
    """A failure that retrying cannot fix (a corrupt file, a missing password).

    `kind` is one of `ErrorKind`'s values; it defaults to `error`.
    """

    def __init__(self, message: str, kind: ErrorKind | str = ErrorKind.ERROR) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)

    # keep `kind` when the error crosses a process boundary
    def __reduce__(self) -> tuple[type[PermanentError], tuple[str, str]]:
        return (type(self), (str(self), self.kind.value))


class OperationError(Exception):
    """A failure whose message is meant for the user as it is (no exception name
    in front); retried like any other exception. `data` (small values, like the
    task's `data` on success) is kept with the failed task: a command's output
    tails, for one."""

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = dict(data or {})


class SourceChanged(OperationError):
    """The file changed while the operation read it: its result (a digest, a
    conversion) would belong to neither version. Retried, so a file that has
    settled is read again whole."""


class IllegalTransition(RuntimeError):
    """A task or batch was asked to move to a state it cannot reach from where it is."""
