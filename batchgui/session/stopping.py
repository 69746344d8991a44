"""Stopping a running batch the way the user chose, for every front end.

    SAVE   running work stops now (commands and workers killed), its tasks go
           back to pending: the batch is saved and resumable
    DRAIN  running tasks finish, no new one starts; `give_up` (a second Ctrl-C,
           a second click on Close) turns it into SAVE at once
    KILL   everything left is cancelled (running commands killed)

Whatever mode, when `stop` returns nothing of the batch runs any more. Call it
on the engine's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from batchgui.core.models import Batch
from batchgui.core.processor import BatchProcessor
from batchgui.session.settings import StopMode

CANCEL_WAIT_S = 10.0  # how long KILL waits for killed work to settle


async def stop(
    processor: BatchProcessor,
    batch: Batch,
    mode: StopMode,
    *,
    give_up: asyncio.Event | None = None,
    cancel_wait_s: float = CANCEL_WAIT_S,
) -> None:
    if not batch.is_done:
        if mode is StopMode.DRAIN:
            processor.drain(batch)
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(processor.drained(batch))]
            waits.append(asyncio.ensure_future(processor.wait(batch)))
            if give_up is not None:
                waits.append(asyncio.ensure_future(give_up.wait()))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        elif mode is StopMode.KILL:
            processor.cancel_batch(batch)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(processor.wait(batch), cancel_wait_s)
    await processor.interrupt()  # what still runs stops now, back to pending
