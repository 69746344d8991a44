"""The asyncio loop the window runs on: qasync's, with infinite delays made finite.

qasync turns each delay into a Qt timer's whole milliseconds, so a callback
scheduled at infinity overflows (OverflowError). Plain asyncio allows it, and
Dask's client, which the window uses for cluster mode, relies on it
(`asyncio.timeout(math.inf)` around every connection). Such a timer must never
fire; the longest interval a Qt timer takes (2**31 - 1 ms, about 24 days)
never fires in practice either.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # before qasync is imported: it prefers PyQt6

from typing import Any

import qasync

_LONGEST_S = (2**31 - 1) / 1000


class EventLoop(qasync.QEventLoop):
    def call_later(self, delay: float, callback: Any, *args: Any, context: Any = None) -> Any:
        return super().call_later(min(delay, _LONGEST_S), callback, *args, context=context)
