"""One process per batch: an exclusive lock file held while a batch runs.

`locks/<batch id>.lock` in the data folder, locked with flock so the lock
vanishes with the process however it dies (a kill leaves no stale lock).
Two different batches never contend.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from batchgui.store.db import StoreError


class BatchLock:
    def __init__(self, data_dir: Path, batch_id: str) -> None:
        self.path = data_dir / "locks" / f"{batch_id}.lock"
        self._fd: int | None = None
        self._batch_id = batch_id

    def acquire(self) -> BatchLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the lock {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(
                f"batch {self._batch_id} is already running in another batchgui "
                f"process (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        # the file stays: unlinking it would race with a process about to lock it
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BatchLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
