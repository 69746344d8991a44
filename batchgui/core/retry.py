"""When a failed task runs again: the one place retry decisions are made."""

from __future__ import annotations

import random
from dataclasses import dataclass

from batchgui.core.errors import ErrorKind


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter on the upper half, capped.

    `max_retries` counts runs after the first (so 2 allows 3 attempts).
    Permanent errors, timeouts and cancellations are never retried: a hung
    file hangs again, and a corrupt one stays corrupt. Crashes have their own
    budget (`max_crashes`), because a worker that dies is charged separately.
    """

    max_retries: int = 2
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    jitter: float = 0.5  # the delay is drawn from [d*(1-jitter), d]
    max_crashes: int = 2

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retries and delays must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def should_retry(self, attempts: int, kind: ErrorKind, permanent: bool) -> bool:
        if permanent or kind in (ErrorKind.TIMEOUT, ErrorKind.CANCELLED, ErrorKind.CRASHED):
            return False
        return attempts <= self.max_retries

    def delay_for(self, attempts: int, rng: random.Random | None = None) -> float:
        """Delay before run number `attempts + 1`; `attempts` >= 1."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempts - 1))
        draw: float = (rng or random).random()
        return ceiling * (1 - self.jitter * draw)
