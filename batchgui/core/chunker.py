"""How many tasks of a batch travel to a worker at once (a "unit").

    each completed task's duration ─► observe() ─► running mean
    dispatch ─► size(queued, workers) ─► 1 .. limit tasks in the next unit

One task per unit until a few have been timed; then as many as fit in about
`target_s` of work, so a no-op costs a fraction of a dispatch while a slow
task still goes alone. Never more than an even share of what is left, so the
last units spread over all workers.
"""

from __future__ import annotations

import math


class Chunker:
    target_s = 0.02  # work per unit: small enough that pause and cancel stay prompt
    limit = 256

    def __init__(self) -> None:
        self.samples = 0
        self.mean_s = 0.0

    def observe(self, seconds: float) -> None:
        self.samples += 1
        weight = 1 / min(self.samples, 50)
        self.mean_s += weight * (seconds - self.mean_s)

    def size(self, queued: int, workers: int) -> int:
        if self.samples < 2 * workers:
            return 1
        fits = int(self.target_s / max(self.mean_s, 1e-6))
        share = math.ceil(queued / (2 * workers))
        return max(1, min(self.limit, fits, share))
