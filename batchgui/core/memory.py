"""Thread mode's memory cap. Worker threads share one process, so the system
cannot cap a task (process mode sets RLIMIT_AS per worker); instead a watcher
samples the process's resident memory and, when it has grown past the limit
since the calls began, raises MemoryError inside the threads running them.

    worker thread: with guard.watching(job): execute_call(...)
    watcher thread (every 50 ms while any call runs):
        rss - baseline > limit ─► MemoryError raised in every running call's
        thread (PyThreadState_SetAsyncExc) ─► each fails as too_large; when
        several were hit at once, all but a lone one may be innocent, so the
        runner makes them retryable

`baseline` is the resident size when calls began after a pause in them (what
the window, the engine and the batch already hold), read at most once a second. An exception raised
this way lands at the thread's next Python bytecode: a parser stuck in one huge
C allocation is not stopped by it, which is why operations also check sizes
before parsing (operations/limits.py). The loop thread is never interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

_INTERVAL_S = 0.05
_BASELINE_EVERY_S = 1.0  # re-read between calls at most this often (a few µs saved per call)


def resident_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class MemoryGuard:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._running: dict[int, Any] = {}  # thread id -> the job it runs
        self._hit: set[int] = set()  # threads a MemoryError was sent to, not yet cleared
        self._baseline = 0
        self._sampled = -_BASELINE_EVERY_S  # monotonic time of the baseline
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None

    @contextlib.contextmanager
    def watching(self, job: Any) -> Iterator[None]:
        thread = threading.get_ident()
        with self._lock:
            now = time.monotonic()
            if not self._running and now - self._sampled > _BASELINE_EVERY_S:
                self._baseline, self._sampled = resident_bytes(), now
            self._running[thread] = job
            if self._watcher is None:
                self._start_watcher()
        if not self._wake.is_set():
            self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(thread, None)
                # a MemoryError set but not yet raised must not hit the next call (only
                # where one was sent: a ctypes call on every call cost more than the rest)
                if thread in self._hit:
                    self._hit.discard(thread)
                    _raise_in(thread, None)

    def _start_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(
                target=self._watch, name="batchgui-memory", daemon=True
            )
            self._watcher.start()

    def _watch(self) -> None:
        while True:
            self._wake.wait(1.0)
            with self._lock:
                if not self._running:
                    self._wake.clear()
                    continue
            try:
                grown = resident_bytes() - self._baseline
            except Exception:  # psutil can fail in odd sandboxes: no cap then, say why
                log.exception("cannot read this process's memory; thread mode runs uncapped")
                return
            if grown > self.limit:
                self._interrupt(grown)
            time.sleep(_INTERVAL_S)

    def _interrupt(self, grown: int) -> None:
        with self._lock:
            victims = dict(self._running)
            for thread, job in victims.items():
                job.memory_interrupted = len(victims)
                _raise_in(thread, MemoryError)
                self._hit.add(thread)
            self._running.clear()  # each is hit once; they leave as they unwind
        log.warning(
            "memory grew by %d MiB (limit %d MiB): stopping %d running task(s)",
            grown >> 20,
            self.limit >> 20,
            len(victims),
        )


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None
    )
