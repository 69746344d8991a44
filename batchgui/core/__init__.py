"""The batch engine: pure Python and asyncio, never Qt (an import-linter contract)."""

from batchgui.core.errors import ErrorKind, IllegalTransition, OperationError, PermanentError
from batchgui.core.events import EngineEvents, Signal
from batchgui.core.models import Batch, BatchStatus, Priority, Task, TaskStatus
from batchgui.core.operation import OperationSpec, Option, TaskContext, atomic_write, operation
from batchgui.core.processor import BatchProcessor, default_workers
from batchgui.core.retry import RetryPolicy
from batchgui.core.stats import Stats

__all__ = [
    "Batch",
    "BatchProcessor",
    "BatchStatus",
    "EngineEvents",
    "ErrorKind",
    "IllegalTransition",
    "OperationError",
    "OperationSpec",
    "Option",
    "PermanentError",
    "Priority",
    "RetryPolicy",
    "Signal",
    "Stats",
    "Task",
    "TaskContext",
    "TaskStatus",
    "atomic_write",
    "default_workers",
    "operation",
]
