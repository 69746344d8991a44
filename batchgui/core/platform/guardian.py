"""Commands never outlive batchgui, even when batchgui is killed with SIGKILL.

Each `exec` command runs in a session of its own (so it and everything it starts
can be frozen and killed as one process group), which also means the kernel
would let it run on after batchgui dies. So:

    first command ─► a small guardian process, in its own session, reading a
                     pipe from batchgui (nothing else holds its write end)
    before a command ─► "B<batch id>"  command starts ─► "+PGID"  ends ─► "-PGID"
                     (starts and ends are sent together every 20 ms; a command
                     that starts and ends in between costs nothing)
    batchgui exits or dies ─► the kernel closes the pipe ─► the guardian
                     SIGKILLs every group still listed, and (Linux) every process
                     whose environment names one of its batches, then exits

Every command is also started with BATCHGUI_BATCH=<batch id> in its environment;
`kill_leftovers(batch_id)` finds and ends any that still run (the guardian was
killed too) before a resumed batch starts them again.

A command started less than 20 ms before batchgui is SIGKILLed is not listed
yet; on Linux the guardian finds it by its environment all the same.

Process mode: each worker process starts a guardian of its own for the
commands it runs (this module, in that process); the worker dies with batchgui
(core/platform/workers.py), and its guardian then ends the worker's commands
as above. (The engine hears of those commands through the shared slots, read
every 50 ms, to freeze and cancel them.)

Thread mode: several worker threads may ask for the guardian at once; `start`
returns only once the batch's name is in the guardian's pipe, so no command
starts that a SIGKILL an instant later would leave unknown to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from batchgui.core.platform import WINDOWS, processes

log = logging.getLogger(__name__)

_FLUSH_S = 0.02

BATCH_VARIABLE = "BATCHGUI_BATCH"
FROZEN_FLAG = "--batchgui-guardian"  # how a frozen bundle is asked to be the guardian

# The guardian's whole program: run with `python -c` (it imports nothing of
# batchgui, so it starts in ~20 ms) or, in a frozen bundle, by __main__.
GUARDIAN_SOURCE = r"""
import os, signal, time
groups, batches = set(), set()
buffer = b""
while True:
    try:
        chunk = os.read(0, 4096)
    except InterruptedError:
        continue
    except OSError:
        chunk = b""
    if not chunk:
        break
    buffer += chunk
    *lines, buffer = buffer.split(b"\n")
    for line in lines:
        if line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))
        elif line[:1] == b"B":
            batches.add(b"BATCHGUI_BATCH=" + line[1:])

def kill(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass

for pgid in groups:
    kill(pgid)
# a command started just as batchgui died was not listed yet: find it by the
# batch named in its environment (Linux), twice, for one between fork and exec
for _ in range(2) if batches and os.path.isdir("/proc/self") else ():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/" + entry + "/environ", "rb") as handle:
                    env = handle.read().split(b"\0")
                if any(b in env for b in batches):
                    kill(os.getpgid(int(entry)))
            except OSError:
                pass
    time.sleep(0.2)
"""


def run_guardian() -> None:
    """The guardian's entry point in a frozen bundle (see batchgui/__main__.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exec(compile(GUARDIAN_SOURCE, "batchgui-guardian", "exec"), {})


class Guardian:
    """The batchgui side: start the guardian once, tell it about each group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self._failed = False
        self._batches: set[str] = set()
        # groups to list (True) or to drop (False) at the next flush
        self._pending: dict[int, bool] = {}
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()

    def _ensure(self) -> int | None:
        if self._fd is not None or self._failed or WINDOWS:
            # Windows: a Job Object with kill-on-close is the way (not built yet)
            return self._fd
        argv = (
            [sys.executable, FROZEN_FLAG]
            if getattr(sys, "frozen", False)
            else [sys.executable, "-I", "-S", "-c", GUARDIAN_SOURCE]
        )
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                **processes.group_options(),  # Ctrl-C and group kills of batchgui miss it
            )
        except OSError:
            log.exception("cannot start the guardian; commands may outlive a killed batchgui")
            self._failed = True
            return None
        assert self._proc.stdin is not None
        self._fd = self._proc.stdin.fileno()
        return self._fd

    def _send(self, message: bytes) -> None:
        with self._lock:
            self._send_locked(message)

    def _send_locked(self, message: bytes) -> None:
        fd = self._ensure()
        if fd is None:
            return
        try:
            os.write(fd, message)
        except OSError:
            log.exception("the guardian is gone; commands may outlive a killed batchgui")
            self._fd, self._failed = None, True

    def start(self, batch_id: str | None = None) -> None:
        """Before a command starts: the guardian runs, and knows the batch's name.

        Returns only once the name is in the guardian's pipe (where it stays for
        the guardian to read even if batchgui dies the next instant): a worker
        thread that finds another one starting the guardian waits for it rather
        than start a command the guardian might never hear of."""
        if batch_id in self._batches:  # the common case: told already, no lock
            return
        with self._lock:
            if batch_id is None:
                self._ensure()
            elif batch_id not in self._batches:
                self._send_locked(b"B%s\n" % batch_id.encode())
                self._batches.add(batch_id)  # only now: others see it once it is sent

    def watch(self, pgid: int) -> None:
        with self._lock:
            self._pending[pgid] = True
            self._ensure_flusher()

    def forget(self, pgid: int) -> None:
        with self._lock:
            if self._pending.get(pgid) is True:
                del self._pending[pgid]  # never sent: nothing to take back
            elif self._fd is not None:
                self._pending[pgid] = False
                self._ensure_flusher()

    def _ensure_flusher(self) -> None:
        """(with the lock) A thread sends what is pending every _FLUSH_S. While it is
        awake (the wake flag is cleared only as it takes what is pending) there is
        nothing to do: a command costs a dict entry and no more."""
        if self._wake.is_set():
            return
        self._wake.set()
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(
                target=self._flush_forever, name="batchgui-guardian", daemon=True
            )
            self._flusher.start()

    def _flush_forever(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(_FLUSH_S)
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._wake.clear()
        if pending:
            self._send(b"".join(b"%s%d\n" % (b"+" if add else b"-", pgid)
                                for pgid, add in pending.items()))  # fmt: skip

    def close(self) -> None:
        """A clean exit: the guardian ends the groups still listed (none, normally)."""
        self.flush()
        with self._lock:
            proc, self._proc, self._fd = self._proc, None, None
        if proc is not None:
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)


_guardian = Guardian()


def guardian() -> Guardian:
    return _guardian


def command_environment(batch_id: str | None) -> dict[str, str] | None:
    """The environment a command runs with: batchgui's, plus the batch it belongs to."""
    if not batch_id:
        return None
    return _environments(batch_id)


_env_cache: dict[str, dict[str, str]] = {}


def _environments(batch_id: str) -> dict[str, str]:
    env = _env_cache.get(batch_id)
    if env is None:
        env = _env_cache[batch_id] = {**os.environ, BATCH_VARIABLE: batch_id}
    return env


def kill_leftovers(batch_id: str, timeout_s: float = 5.0) -> int:
    """End the process groups of commands of this batch that still run (a batchgui
    killed together with its guardian); returns how many processes were found."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid != os.getpid() and proc.environ().get(BATCH_VARIABLE) == batch_id:
                found.append(proc)
    for proc in found:
        with contextlib.suppress(psutil.Error, OSError):
            log.warning("ending %s (pid %d), left running by batch %s", proc.name(), proc.pid,
                        batch_id)  # fmt: skip
            processes.kill_group_of(proc.pid)
    deadline = time.monotonic() + timeout_s
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    return len(found)
