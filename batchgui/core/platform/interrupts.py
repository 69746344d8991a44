"""Ctrl-C and SIGTERM for the command line, delivered on the event loop.

catch_interrupts(loop, callback) ─► native: loop.add_signal_handler
    (SIGINT, SIGTERM); portable: signal.signal handlers that hop to the loop
    with call_soon_threadsafe (Windows event loops have no add_signal_handler)
─► callback() on the loop thread, once per signal
the returned function puts the previous handlers back (asyncio's own removal
would leave SIGTERM to kill at once and SIGINT raising KeyboardInterrupt)

raising_interrupts() ─► outside any batch (`watch` between rounds): SIGINT,
    SIGTERM and Ctrl-Break raise KeyboardInterrupt in the main thread, so that
    a watch stopped by `kill` or a service manager stops as Ctrl-C stops it,
    also where it was started with SIGINT ignored (in the background by a script)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

from batchgui.core.platform import portable

_NAMES = ("SIGINT", "SIGTERM", "SIGBREAK")  # SIGBREAK: Ctrl-Break on Windows


def catch_interrupts(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
) -> Callable[[], None]:
    signals = [getattr(signal, name) for name in _NAMES if hasattr(signal, name)]
    if not portable():
        before = {signum: signal.getsignal(signum) for signum in signals}
        for signum in signals:
            loop.add_signal_handler(signum, callback)

        def undo_native() -> None:
            for signum, old in before.items():
                loop.remove_signal_handler(signum)
                if old is not None:  # None: set outside Python, nothing to restore
                    signal.signal(signum, old)

        return undo_native

    def handler(_signum: int, _frame: Any) -> None:
        loop.call_soon_threadsafe(callback)

    previous = {signum: signal.signal(signum, handler) for signum in signals}

    def undo() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return undo


@contextlib.contextmanager
def raising_interrupts() -> Iterator[None]:
    """(the main thread) Within: an interrupting signal raises KeyboardInterrupt."""
    signals = [getattr(signal, name) for name in _NAMES if hasattr(signal, name)]

    def interrupted(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupted) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            if old is not None:
                signal.signal(signum, old)
