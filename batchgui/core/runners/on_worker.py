"""What runs inside a Dask worker process for cluster mode (core/runners/cluster.py).

    client ──submit(run_unit, key, calls)──► worker thread: for each call
        log_event("batchgui", ("start", key, index, task id, worker, pid))
        execute_call(...) with a TaskContext whose
            cancel flag   lives in _running[key] (set by signal_task)
            progress      ─► log_event("batchgui", ("progress", key, task id, fraction))
            child process ─► _running[key].pgid (frozen, thawed, killed by signal_task)
        ─► [Result, ...] (paths, hashes and data; never file contents)
    client ──Client.run(signal_task, key, action)──► the worker's own event loop:
        "cancel" (set the flag, kill the command's process group), "freeze", "thaw",
        "running" (is the key still inside a call?), "exit" (end this worker process:
        its nanny starts a fresh one; for a call that ignores its cancel flag)
    client ──Client.run(probe, ...)──► can this worker read an input, write the
        output folder, import the operation; which versions it runs

Only module-level functions, so that they pickle by reference. Everything here
also imports on a worker without Qt and without the rest of the engine.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgui.core.operation import TaskContext, spec_of
from batchgui.core.platform import processes
from batchgui.core.runners.base import Result, execute_call

TOPIC = "batchgui"  # the event-log topic: starts and progress travel through it


@dataclass
class _Running:
    """One unit inside a call on this worker."""

    cancel: threading.Event = field(default_factory=threading.Event)
    pgid: int = 0  # the running command's process group (0: none)
    frozen: bool = False


_running: dict[str, _Running] = {}
_lock = threading.Lock()


def run_unit(key: str, calls: list[tuple[Any, ...]]) -> list[Result]:
    """Run one unit's calls in order (on a worker thread), reporting each start."""
    from distributed import get_worker

    worker = get_worker()
    state = _Running()
    with _lock:
        _running[key] = state

    def on_child(pgid: int | None) -> None:
        state.pgid = pgid or 0
        if state.frozen and state.pgid:  # started while its unit was paused
            processes.freeze_tree(state.pgid)

    results: list[Result] = []
    real: dict[str, str] = {}  # the output folder as this worker resolves it
    try:
        for index, (task_id, func, src, out_dir, root, options, guard, batch_id, seq) in enumerate(
            calls
        ):
            worker.log_event(TOPIC, ("start", key, index, task_id, worker.address, os.getpid()))

            def on_progress(fraction: float, task_id: int = task_id) -> None:
                worker.log_event(TOPIC, ("progress", key, task_id, fraction))

            if guard is not None:
                # the client sent the folder mapped, not resolved: links on the way
                # to a mount are this worker's to resolve (core/outputs.py compares
                # real paths)
                guard.out_root = real.setdefault(guard.out_root, os.path.realpath(guard.out_root))
            ctx = TaskContext(
                cancel_event=state.cancel,
                on_progress=on_progress,
                on_child=on_child,
                root=root,
                guard=guard,
                batch_id=batch_id,
                seq=seq,
            )
            results.append(execute_call(spec_of(func), src, out_dir, options, ctx))
            if state.cancel.is_set():
                break  # the rest of a cancelled unit is not run (the client requeues it)
    finally:
        with _lock:
            _running.pop(key, None)
    return results


def signal_task(key: str, action: str) -> bool:
    """Act on a running unit from the worker's event loop; False: it is not running here."""
    if action == "exit":
        os._exit(1)  # the call ignored its cancel flag: its worker goes, the nanny restarts it
    with _lock:
        state = _running.get(key)
    if state is None:
        return False
    if action == "cancel":
        state.cancel.set()
        if state.pgid:
            processes.kill_tree(state.pgid)
    elif action == "freeze":
        state.frozen = True
        if state.pgid:
            processes.freeze_tree(state.pgid)
    elif action == "thaw":
        state.frozen = False
        if state.pgid:
            processes.thaw_tree(state.pgid)
    return True


def versions() -> dict[str, str]:
    """What this worker runs (Test connection compares it with the client's)."""
    import distributed

    import batchgui

    return {
        "batchgui": batchgui.__version__,
        "python": platform.python_version(),
        "distributed": distributed.__version__,
    }


def probe(
    operation: str, module: str, qualname: str, read: str | None, write: str | None
) -> dict[str, Any]:
    """What a worker can do for a batch: facts and, for anything it cannot, why."""
    import batchgui

    facts: dict[str, Any] = {
        "batchgui": batchgui.__version__,
        "python": platform.python_version(),
        "system": sys.platform,
        "problems": [],
    }
    problems: list[str] = facts["problems"]
    try:
        func: Any = importlib.import_module(module)
        for part in qualname.split("."):
            func = getattr(func, part)
        if spec_of(func).name != operation:
            problems.append(f"the operation {operation!r} is a different one there")
    except Exception as exc:  # any import failure is the answer
        problems.append(f"cannot import the operation {operation!r} ({module}): {exc}")
    if read is not None:
        try:
            with open(read, "rb") as source:
                source.read(1)
        except OSError as exc:
            problems.append(f"cannot read {read}: {exc.strerror or exc}")
    if write is not None:
        try:
            Path(write).mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=".batchgui-probe-", dir=write)
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(name)
        except OSError as exc:
            problems.append(f"cannot write to {write}: {exc.strerror or exc}")
    return facts
