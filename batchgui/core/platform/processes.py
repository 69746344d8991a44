"""Process trees: freeze (Pause), thaw (Resume) and kill (Cancel, time limits).

    a command ─► started with group_options(): its own session (POSIX: its pid
        is its process group id) or a new process group without a console window
        (Windows) ─► its pid is the handle for the whole tree:
        native    killpg(pid, SIGSTOP | SIGCONT | SIGKILL): every member of the
                  group, including children started later
        portable  psutil: the process and every descendant found now, suspended
                  parents first (so none can start another), resumed children
                  first, killed leaves first
    a worker process ─► freeze_process / thaw_process / kill_process (one pid)

A tree that has just ended is nothing to do: every call tolerates it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from batchgui.core.platform import WINDOWS, portable

FREEZE_SUPPORTED = True  # SIGSTOP on POSIX; psutil's suspend (NtSuspendProcess) on Windows
_GONE = (ProcessLookupError, PermissionError)


def group_options() -> dict[str, Any]:
    """Popen keyword arguments that give a command a process group of its own."""
    if WINDOWS:
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        flags |= getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up
        return {"creationflags": flags}
    return {"start_new_session": True}


def _posix_signal(name: str) -> int:
    return int(getattr(signal, name))


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def _each(processes: list[Any], action: str) -> None:
    import psutil

    for proc in processes:
        with contextlib.suppress(psutil.Error):
            getattr(proc, action)()


def freeze_tree(pid: int) -> None:
    if portable():
        _each(_tree(pid), "suspend")
    else:
        _signal_group(pid, "SIGSTOP")


def thaw_tree(pid: int) -> None:
    if portable():
        _each(list(reversed(_tree(pid))), "resume")
    else:
        _signal_group(pid, "SIGCONT")


def kill_tree(pid: int) -> None:
    if portable():
        tree = _tree(pid)
        _each(tree, "suspend")  # nobody forks a new child while the others die
        _each(list(reversed(tree)), "kill")
    else:
        _signal_group(pid, "SIGKILL")


def kill_group_of(pid: int) -> None:
    """Kill the tree a process belongs to: its process group (native), or the
    process and its descendants (portable)."""
    if portable() or sys.platform == "win32":
        kill_tree(pid)
        return
    with contextlib.suppress(*_GONE):
        os.killpg(os.getpgid(pid), _posix_signal("SIGKILL"))


def end_group_of_exited(pid: int) -> None:
    """A command has exited but is not yet reaped: kill what it left running in its
    group (native; in the portable strategy, what it started cannot be found
    once it is gone, and the guardian or the job ends it with batchgui)."""
    if not portable() and sys.platform != "win32":
        _signal_group(pid, "SIGKILL")


def freeze_process(pid: int) -> None:
    _signal_one(pid, "SIGSTOP", "suspend")


def thaw_process(pid: int) -> None:
    _signal_one(pid, "SIGCONT", "resume")


def kill_process(pid: int) -> None:
    _signal_one(pid, "SIGKILL", "kill")


def _signal_group(pgid: int, name: str) -> None:
    if sys.platform == "win32":  # never: Windows always takes the portable strategy
        raise NotImplementedError("process groups are a POSIX mechanism")
    with contextlib.suppress(*_GONE):
        os.killpg(pgid, _posix_signal(name))


def _signal_one(pid: int, name: str, action: str) -> None:
    if portable():
        import psutil

        with contextlib.suppress(psutil.Error):
            getattr(psutil.Process(pid), action)()
        return
    with contextlib.suppress(*_GONE):
        os.kill(pid, _posix_signal(name))


def kill_self() -> None:
    """End this process at once, as a power cut would (fault injection in tests)."""
    if WINDOWS:
        os._exit(137)
    os.kill(os.getpid(), _posix_signal("SIGKILL"))
