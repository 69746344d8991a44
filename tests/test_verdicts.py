"""What an attempt means for its task, row by row (core/verdicts.py)."""

from __future__ import annotations

import pytest

from batchgui.core.errors import ErrorKind as K
from batchgui.core.retry import RetryPolicy
from batchgui.core.verdicts import Attempt, Verdict, verdict

POLICY = RetryPolicy(max_retries=2, max_crashes=2)
ERROR, CORRUPT, CRASHED = K.ERROR, K.CORRUPT, K.CRASHED

# (attempt, attempts including this one, crashes before it) -> verdict
ROWS = [
    (Attempt(ok=True), 1, 0, Verdict.COMPLETED),
    (Attempt(ok=True, interrupted=True), 1, 0, Verdict.COMPLETED),  # it finished first
    (Attempt(ok=False, requeue=True), 1, 0, Verdict.REQUEUED),  # someone else's crash
    (Attempt(ok=False, requeue=True, cancel_requested=True), 1, 0, Verdict.WITHDRAWN),
    (Attempt(ok=False, kind=ERROR, interrupted=True), 1, 0, Verdict.REQUEUED),  # save
    (Attempt(ok=False, kind=ERROR), 1, 0, Verdict.RETRY),
    (Attempt(ok=False, kind=ERROR), 2, 0, Verdict.RETRY),
    (Attempt(ok=False, kind=ERROR), 3, 0, Verdict.FAILED),  # retries used up
    (Attempt(ok=False, kind=ERROR, permanent=True), 1, 0, Verdict.FAILED),
    (Attempt(ok=False, kind=CORRUPT, permanent=True), 1, 0, Verdict.FAILED),
    (Attempt(ok=False, kind=K.TIMEOUT), 1, 0, Verdict.FAILED),  # never retried
    (Attempt(ok=False, kind=K.CANCELLED), 1, 0, Verdict.CANCELLED),
    (Attempt(ok=False, kind=ERROR, cancel_requested=True), 1, 0, Verdict.CANCELLED),
    (Attempt(ok=False, kind=CRASHED), 1, 0, Verdict.RETRY_NOW),
    (Attempt(ok=False, kind=CRASHED), 2, 1, Verdict.CRASHED_OUT),  # the second crash
    (Attempt(ok=False, kind=K.DISK_FULL, permanent=True), 1, 0, Verdict.HALTED),
    (Attempt(ok=False, kind=K.DISK_FULL, cancel_requested=True), 1, 0, Verdict.CANCELLED),
    (Attempt(ok=False, kind=None), 1, 0, Verdict.RETRY),  # no kind: an error
]


@pytest.mark.parametrize(("attempt", "attempts", "crashes", "expected"), ROWS)
def test_every_row_gives_the_documented_verdict(attempt, attempts, crashes, expected):
    assert verdict(attempt, attempts, crashes, POLICY) is expected
