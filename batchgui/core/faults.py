"""Fault injection for crash tests: `BATCHGUI_FAULT=<point>:<n>` kills the process
with SIGKILL the n-th time it reaches the named point. Inert when unset.

Points: after-claim (tasks marked running, nothing run yet), mid-output (half
of an output written to its temporary file), before-replace (the temporary
file complete, not yet renamed), after-replace (the output in place, its
completion not yet committed), in-commit (inside a store transaction, before
COMMIT). The count is per process: a process worker inherits the variable
and counts its own visits.
"""

from __future__ import annotations

import os
import signal

POINTS = ("after-claim", "mid-output", "before-replace", "after-replace", "in-commit")
ENV = "BATCHGUI_FAULT"

_armed: tuple[str, int] | bool | None = False  # False: not read yet
_visits = 0


def _arm() -> tuple[str, int] | None:
    raw = os.environ.get(ENV, "")
    point, _, count = raw.partition(":")
    if point not in POINTS:
        return None
    try:
        return point, max(1, int(count or 1))
    except ValueError:
        return None


def reached(point: str) -> None:
    """Die here if the fault says so; otherwise a dictionary look-up's cost."""
    global _armed, _visits
    if _armed is False:
        _armed = _arm()
    if _armed is None or _armed[0] != point:
        return
    _visits += 1
    if _visits == _armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def armed_point() -> str | None:
    """The point armed in this process, if any (for tests)."""
    global _armed
    if _armed is False:
        _armed = _arm()
    return None if _armed is None else _armed[0]
