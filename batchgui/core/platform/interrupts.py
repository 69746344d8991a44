"""Ctrl-C and SIGTERM for the command line, delivered on the event loop.

catch_interrupts(loop, callback) ─► native: loop.add_signal_handler
    (SIGINT, SIGTERM); portable: signal.signal handlers that hop to the loop
    with call_soon_threadsafe (Windows event loops have no add_signal_handler)
─► callback() on the loop thread, once per signal
the returned function puts the previous handlers back
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from batchgui.core.platform import portable

_NAMES = ("SIGINT", "SIGTERM", "SIGBREAK")  # SIGBREAK: Ctrl-Break on Windows


def catch_interrupts(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
) -> Callable[[], None]:
    signals = [getattr(signal, name) for name in _NAMES if hasattr(signal, name)]
    if not portable():
        for signum in signals:
            loop.add_signal_handler(signum, callback)

        def undo_native() -> None:
            for signum in signals:
                loop.remove_signal_handler(signum)

        return undo_native

    def handler(_signum: int, _frame: Any) -> None:
        loop.call_soon_threadsafe(callback)

    previous = {signum: signal.signal(signum, handler) for signum in signals}

    def undo() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return undo
