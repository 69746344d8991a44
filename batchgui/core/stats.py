"""Statistics of one batch: counts, smoothed rates, elapsed time and an ETA.

The scheduler tells the `Meter` when the batch runs or pauses and when a task
finishes (with its size); anyone may ask for a `Stats` snapshot at any time
(the GUI at 20 Hz, the CLI's bar at 10 Hz). Counts come from the batch's
exact per-status counters.

Rates are exponentially smoothed over about `tau_s` seconds of *active* time
(paused time is left out of elapsed time, rates and ETA). The ETA blends a
files-based and a bytes-based estimate, weighted towards bytes as much as the
sizes vary (their coefficient of variation), and is itself smoothed: it counts
down in real time and moves only part of the way toward each new estimate, so
one huge file finishing does not make it jump.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from batchgui.core.models import Batch, TaskStatus

_SAMPLE_S = 0.5  # smallest interval between rate samples
_ETA_PULL = 0.25  # how far the shown ETA moves toward a new estimate per sample


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    pending: int
    running: int
    retry_wait: int
    completed: int
    failed: int
    skipped: int
    cancelled: int
    success_rate: float | None  # completed / (completed + failed), None before any result
    files_per_s: float
    bytes_per_s: float
    elapsed_s: float  # active time, pauses excluded
    eta_s: float | None  # None while unknown
    progress: float  # 0..1

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.skipped + self.cancelled


class Meter:
    def __init__(self, sizes: Iterable[int], clock: Callable[[], float] = time.monotonic) -> None:
        sizes = list(sizes)
        self._clock = clock
        self.total_bytes = sum(sizes)
        self._byte_weight = _variation(sizes)
        self.done_files = 0
        self.done_bytes = 0
        self._active_since: float | None = None
        self._active_before = 0.0
        self._last_sample: tuple[float, int, int] | None = None  # active time, files, bytes
        self._files_rate = 0.0
        self._bytes_rate = 0.0
        self._eta: float | None = None
        self._eta_at: float = 0.0

    # --- fed by the scheduler -------------------------------------------------
    def running(self) -> None:
        if self._active_since is None:
            self._active_since = self._clock()

    def paused(self) -> None:
        if self._active_since is not None:
            self._active_before += self._clock() - self._active_since
            self._active_since = None

    def task_done(self, size: int) -> None:
        self.done_files += 1
        self.done_bytes += size

    def task_undone(self, size: int) -> None:
        """A finished task was put back (retry failed)."""
        self.done_files -= 1
        self.done_bytes -= size

    # --- read by anyone ---------------------------------------------------------
    def elapsed(self) -> float:
        running = self._clock() - self._active_since if self._active_since is not None else 0.0
        return self._active_before + running

    def snapshot(self, batch: Batch) -> Stats:
        c = batch.counts
        elapsed = self.elapsed()
        sampled = self._sample(elapsed)
        remaining_files = c[TaskStatus.PENDING] + c[TaskStatus.RUNNING] + c[TaskStatus.RETRY_WAIT]
        # tasks that end without work (skipped, cancelled) leave the remaining
        # count but not the throughput
        worked = c[TaskStatus.COMPLETED] + c[TaskStatus.FAILED]
        total = batch.total
        finished = total - remaining_files
        progress_files = finished / total if total else 1.0
        progress_bytes = self.done_bytes / self.total_bytes if self.total_bytes else progress_files
        w = self._byte_weight
        progress = (
            1.0 if remaining_files == 0 else min(1.0, w * progress_bytes + (1 - w) * progress_files)
        )
        return Stats(
            total=total,
            pending=c[TaskStatus.PENDING],
            running=c[TaskStatus.RUNNING],
            retry_wait=c[TaskStatus.RETRY_WAIT],
            completed=c[TaskStatus.COMPLETED],
            failed=c[TaskStatus.FAILED],
            skipped=c[TaskStatus.SKIPPED],
            cancelled=c[TaskStatus.CANCELLED],
            success_rate=(c[TaskStatus.COMPLETED] / worked) if worked else None,
            files_per_s=self._files_rate,
            bytes_per_s=self._bytes_rate,
            elapsed_s=elapsed,
            eta_s=self._estimate(elapsed, remaining_files, sampled),
            progress=progress,
        )

    def _sample(self, elapsed: float) -> bool:
        """Fold the progress since the last sample into the rates; False if too soon."""
        if self._last_sample is None:
            self._last_sample = (elapsed, self.done_files, self.done_bytes)
            return False
        then, files, nbytes = self._last_sample
        dt = elapsed - then
        if dt < _SAMPLE_S:
            return False
        files_rate = (self.done_files - files) / dt
        bytes_rate = (self.done_bytes - nbytes) / dt
        if self._files_rate == 0.0 and self._bytes_rate == 0.0:
            self._files_rate, self._bytes_rate = files_rate, bytes_rate  # first real sample
        else:
            alpha = 1 - math.exp(-dt / self.tau_s)
            self._files_rate += alpha * (files_rate - self._files_rate)
            self._bytes_rate += alpha * (bytes_rate - self._bytes_rate)
        self._last_sample = (elapsed, self.done_files, self.done_bytes)
        return True

    tau_s = 5.0

    def _estimate(self, elapsed: float, remaining_files: int, sampled: bool) -> float | None:
        if remaining_files == 0:
            self._eta = 0.0
            return 0.0
        if not sampled and self._eta is not None:
            return max(0.0, self._eta - (elapsed - self._eta_at))
        estimates = []
        if self._files_rate > 0:
            estimates.append((1 - self._byte_weight, remaining_files / self._files_rate))
        remaining_bytes = max(0, self.total_bytes - self.done_bytes)
        if self._bytes_rate > 0 and self.total_bytes:
            estimates.append((self._byte_weight, remaining_bytes / self._bytes_rate))
        weight = sum(w for w, _ in estimates)
        if weight == 0:
            return None if self._eta is None else max(0.0, self._eta - (elapsed - self._eta_at))
        fresh = sum(w * e for w, e in estimates) / weight
        if self._eta is None:
            self._eta = fresh
        else:
            counted_down = max(0.0, self._eta - (elapsed - self._eta_at))
            self._eta = counted_down + _ETA_PULL * (fresh - counted_down)
        self._eta_at = elapsed
        return self._eta


_SAMPLE = 4096


def _variation(sizes: list[int]) -> float:
    """Coefficient of variation of the sizes, capped at 1 (0: all alike); from an
    even sample of at most _SAMPLE sizes (100,000 at once held the loop ~15 ms)."""
    if len(sizes) > _SAMPLE:
        sizes = sizes[:: len(sizes) // _SAMPLE]
    if len(sizes) < 2:
        return 0.0
    mean = sum(sizes) / len(sizes)
    if mean == 0:
        return 0.0
    var = sum((s - mean) ** 2 for s in sizes) / len(sizes)
    return min(1.0, math.sqrt(var) / mean)
