"""The one garbage-collector policy: while long-lived work holds many objects,
hand them to `gc.freeze()` so collections only walk what is new.

    engine: a batch starts ─► hold()      ... batch ends ─► release()
    window: a preview scan starts ─► hold() ... scan ends ─► release()
        holders > 0 ─► gc.freeze() now and every 250 ms (on the asyncio loop)
        holders = 0 ─► gc.unfreeze(): what nobody needs can be collected again

Why: tasks, scan entries and results live until a batch ends. Left to the
collector, each full pass walks all of them (about 0.25 s at 100,000 tasks,
twice a second), which halves the rate of small tasks and stalls the loop,
which is the window's GUI thread. Frozen, a collection costs what changed.
The holders are counted, so a scan ending does not unfreeze a running batch.
"""

from __future__ import annotations

import asyncio
import gc

FREEZE_INTERVAL_S = 0.25


class FrozenHeap:
    def __init__(self) -> None:
        self._holders = 0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def holders(self) -> int:
        return self._holders

    def hold(self) -> None:
        """Freeze what exists now, and keep freezing while held (call on the loop)."""
        self._holders += 1
        gc.freeze()
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(_freeze_periodically())

    def release(self) -> None:
        """One holder is done; the last one lets the collector see everything again."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            gc.unfreeze()


async def _freeze_periodically() -> None:
    while True:
        await asyncio.sleep(FREEZE_INTERVAL_S)
        gc.freeze()


heap = FrozenHeap()  # one per process: the engine and the window share it
