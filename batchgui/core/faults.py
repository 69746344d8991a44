"""Fault injection for crash tests: `BATCHGUI_FAULT=<point>:<n>` kills the process
with SIGKILL the n-th time it reaches the named point. Inert when unset.

Points: after-claim (tasks marked running, nothing run yet), mid-output (half
of an output written to its temporary file), before-replace (the temporary
file complete, not yet renamed), after-replace (the output in place, its
completion not yet committed), in-commit (inside a store transaction, before
COMMIT). The count is per process: a process worker inherits the variable
and counts its own visits. With `BATCHGUI_FAULT_ONCE=<file>` only the first
process to fire does (it creates the file; later ones see it and live), so a
test knows exactly how many kills happened.
"""

from __future__ import annotations

import os

from batchgui.core.platform import processes

POINTS = ("after-claim", "mid-output", "before-replace", "after-replace", "in-commit")
ENV = "BATCHGUI_FAULT"
ENV_ONCE = "BATCHGUI_FAULT_ONCE"

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
    """Die here if the fault says so; otherwise a comparison's cost."""
    if fires(point):
        die()


def fires(point: str) -> bool:
    """Count a visit to `point`; True if this is the one that must die (the caller
    may do its damage first, then call die())."""
    global _armed, _visits
    if _armed is False:
        _armed = _arm()
    if not isinstance(_armed, tuple) or _armed[0] != point:
        return False
    _visits += 1
    if _visits != _armed[1]:
        return False
    once = os.environ.get(ENV_ONCE)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
    return True


def die() -> None:
    processes.kill_self()
