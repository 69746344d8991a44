"""batchgui: run one operation over many files.

The public plugin API (docs/ARCHITECTURE.md, the plugin contract) is what this
module exports; everything else is internal.
"""

from batchgui._version import __version__
from batchgui.core.errors import ErrorKind, OperationError, PermanentError
from batchgui.core.operation import Option, TaskContext, atomic_write, operation
from batchgui.core.outputs import check_inside, make_folder

__all__ = [
    "ErrorKind",
    "OperationError",
    "Option",
    "PermanentError",
    "TaskContext",
    "__version__",
    "atomic_write",
    "check_inside",
    "make_folder",
    "operation",
]
