"""Process-mode workers: a memory cap each, and never outliving batchgui.

cap_memory(limit) in the worker at start ─► True: the system enforces it
    (native: RLIMIT_AS, so an allocation past it is a MemoryError), or
    False: not available or refused (macOS refuses RLIMIT_AS below its
    current limit; Windows has none; the portable strategy) ─► the runner
    watches the worker's own RSS instead (core/memory.py) and raises
    MemoryError in the running call
die_with_parent(pid) ─► native Linux: PR_SET_PDEATHSIG, the kernel kills
    the worker when batchgui goes; elsewhere: a daemon thread looks at the
    parent twice a second and ends the worker once it is gone
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

from batchgui.core.platform import LINUX, portable

_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 0.5


def cap_memory(limit: int) -> bool:
    if portable() or sys.platform == "win32":
        return False
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # macOS: "current limit exceeds maximum"
        return False
    return True


def die_with_parent(parent: int) -> None:
    if not portable() and LINUX and _parent_death_signal():
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)
        return
    threading.Thread(
        target=_watch_parent, args=(parent,), name="batchgui-parent-watch", daemon=True
    ).start()


def _parent_death_signal() -> bool:
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(signal.Signals["SIGKILL"]), 0, 0, 0) == 0)
    except (OSError, AttributeError, KeyError):
        return False


def _watch_parent(parent: int) -> None:
    import psutil

    while True:
        if os.getppid() != parent or not psutil.pid_exists(parent):
            os._exit(1)
        time.sleep(_PARENT_POLL_S)
