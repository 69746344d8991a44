"""Waiting in a worker thread for a command to end, a slice at a time, without
reaping it where the system allows (so that its group can be ended first).

    ExitWatch(proc) ─► .ended(timeout) -> bool, as often as the caller likes (it
        looks at its cancel flag in between) ─► .close()
        native Linux: a pidfd and poll(); native macOS: a kqueue's EVFILT_PROC
            NOTE_EXIT. Both release the GIL, wake the moment the command exits
            and leave it unreaped
        native elsewhere: Spawned.poll() at widening intervals, 1 ms up to 20 ms,
            as subprocess waits with a timeout (it reaps)
        portable (Popen): Popen.wait(timeout), which reaps (the portable
            strategy has no group to end after the command)
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import Any

from batchgui.core.platform.spawn import Spawned

_FIRST_NAP_S = 0.001
_LONGEST_NAP_S = 0.02


def pidfd_of(pid: int) -> int | None:
    """A descriptor that becomes readable when the process exits (Linux 5.3+), or None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


class ExitWatch:
    def __init__(self, proc: Spawned | subprocess.Popen[Any]) -> None:
        self._proc = proc
        self._exited = False
        self._pidfd: int | None = None
        self._poller: Any = None
        self._kqueue: Any = None
        if not isinstance(proc, Spawned):
            return
        if sys.platform == "linux":  # (mypy reads these tests of sys.platform)
            self._pidfd = pidfd_of(proc.pid)
            if self._pidfd is not None:
                self._poller = select.poll()
                self._poller.register(self._pidfd, select.POLLIN)
        elif sys.platform == "darwin":
            queue = select.kqueue()
            flags = select.KQ_EV_ADD | select.KQ_EV_ONESHOT
            exit_event = select.kevent(proc.pid, select.KQ_FILTER_PROC, flags, select.KQ_NOTE_EXIT)
            try:
                queue.control([exit_event], 0)
            except ProcessLookupError:  # exited already
                queue.close()
                self._exited = True
            else:
                self._kqueue = queue

    def ended(self, timeout: float) -> bool:
        """Whether the command has exited, waiting at most `timeout` seconds."""
        if not self._exited:
            self._exited = self._wait(timeout)
        return self._exited

    def _wait(self, timeout: float) -> bool:
        if self._poller is not None:
            return bool(self._poller.poll(timeout * 1000))
        if self._kqueue is not None:
            return bool(self._kqueue.control(None, 1, timeout))
        proc = self._proc
        if isinstance(proc, subprocess.Popen):
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return _reaped_within(proc, timeout)

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = self._poller = None
        if self._kqueue is not None:
            self._kqueue.close()
            self._kqueue = None


def _reaped_within(proc: Spawned, timeout: float) -> bool:
    end = time.monotonic() + timeout
    nap = _FIRST_NAP_S
    while proc.poll() is None:
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(nap, left))
        nap = min(nap * 2, _LONGEST_NAP_S)
    return True
