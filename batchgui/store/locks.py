"""One process per batch: an exclusive lock file held while a batch runs.

`locks/<batch id>.lock` in the data folder, locked through filelock (flock on
Linux and macOS, LockFileEx on Windows), so the lock vanishes with the process
however it dies (a kill leaves no stale lock). The holder's pid goes in
`<batch id>.pid` beside it, to name it in the message. Two different batches
never contend.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from filelock import FileLock, SoftFileLock, Timeout

from batchgui.store.db import StoreError


class BatchLock:
    def __init__(self, data_dir: Path, batch_id: str) -> None:
        self.path = data_dir / "locks" / f"{batch_id}.lock"
        self._owner = self.path.with_suffix(".pid")
        self._lock: FileLock | None = None
        self._batch_id = batch_id

    def acquire(self) -> BatchLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lock {self.path}: {exc.strerror}") from None
        # thread_local=False: the window takes a lock on a worker thread and
        # releases it on the GUI thread
        # preserve_lock_file: a system lock, never a soft marker that a kill would
        # leave behind (only where no system lock exists does filelock offer one)
        hard = FileLock is not SoftFileLock
        lock = FileLock(
            self.path, timeout=0, thread_local=False, is_singleton=False, preserve_lock_file=hard
        )
        try:
            lock.acquire()
        except Timeout:
            holder = self._holder()
            if holder == str(os.getpid()):
                raise StoreError(f"batch {self._batch_id} is in use in this window") from None
            raise StoreError(
                f"batch {self._batch_id} is already running in another batchgui "
                f"process (pid {holder})"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot create the lock {self.path}: {exc.strerror}") from None
        with contextlib.suppress(OSError):  # only the message's pid is missing then
            self._owner.write_text(str(os.getpid()))
        self._lock = lock
        return self

    def _holder(self) -> str:
        try:
            return self._owner.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        # the files stay: unlinking them would race with a process about to lock
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> BatchLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
