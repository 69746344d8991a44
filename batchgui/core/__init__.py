"""The batch engine: pure Python and asyncio, never Qt (an import-linter contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchgui.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from batchgui.core.errors import ErrorKind, IllegalTransition, OperationError, PermanentError
    from batchgui.core.events import EngineEvents, Signal
    from batchgui.core.models import Batch, BatchStatus, Priority, Task, TaskStatus
    from batchgui.core.operation import OperationSpec, Option, TaskContext, atomic_write
    from batchgui.core.processor import BatchProcessor, default_workers
    from batchgui.core.retry import RetryPolicy
    from batchgui.core.stats import Stats

# imported when first used (core/lazy.py). Not `operation`: here that name is the
# submodule (the decorator is batchgui.operation)
_HOME = {
    "ErrorKind": "batchgui.core.errors",
    "IllegalTransition": "batchgui.core.errors",
    "OperationError": "batchgui.core.errors",
    "PermanentError": "batchgui.core.errors",
    "EngineEvents": "batchgui.core.events",
    "Signal": "batchgui.core.events",
    "Batch": "batchgui.core.models",
    "BatchStatus": "batchgui.core.models",
    "Priority": "batchgui.core.models",
    "Task": "batchgui.core.models",
    "TaskStatus": "batchgui.core.models",
    "OperationSpec": "batchgui.core.operation",
    "Option": "batchgui.core.operation",
    "TaskContext": "batchgui.core.operation",
    "atomic_write": "batchgui.core.operation",
    "BatchProcessor": "batchgui.core.processor",
    "default_workers": "batchgui.core.processor",
    "RetryPolicy": "batchgui.core.retry",
    "Stats": "batchgui.core.stats",
}

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
]


__getattr__ = lazy_attributes(__name__, _HOME)
