"""Reading a command's output as it comes, on the event loop (--progress-regex).

read_pipes(loop, files, on_chunk, on_end) ─► native: the loop watches the
    pipes (add_reader); portable (Windows loops, qasync's included, cannot
    watch pipes): a thread per pipe reads and hops to the loop
─► every callback runs on the loop thread; it returns a function that stops
   watching (idempotent)

Waiting for the command to end is exits.py's (a worker thread's, blocking).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import IO

from batchgui.core.platform import portable

_CHUNK = 65536


def read_pipes(
    loop: asyncio.AbstractEventLoop,
    files: list[IO[bytes]],
    on_chunk: Callable[[int, bytes], None],
    on_end: Callable[[int], None],
) -> Callable[[], None]:
    """on_chunk(index, data) for what each file gives, on_end(index) at its end of
    file (the file is closed by then)."""
    if portable() or sys.platform == "win32":
        return _read_with_threads(loop, files, on_chunk, on_end)
    open_files = dict(enumerate(files))

    def read(index: int) -> None:
        handle = open_files.get(index)
        if handle is None:
            return
        try:
            chunk = os.read(handle.fileno(), _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            on_chunk(index, chunk)
            return
        loop.remove_reader(handle.fileno())
        open_files.pop(index).close()
        on_end(index)

    for index, handle in open_files.items():
        os.set_blocking(handle.fileno(), False)
        loop.add_reader(handle.fileno(), read, index)

    def stop() -> None:
        for handle in open_files.values():
            loop.remove_reader(handle.fileno())
            handle.close()
        open_files.clear()

    return stop


def _read_with_threads(
    loop: asyncio.AbstractEventLoop,
    files: list[IO[bytes]],
    on_chunk: Callable[[int, bytes], None],
    on_end: Callable[[int], None],
) -> Callable[[], None]:
    stopped = threading.Event()

    def pump(index: int, handle: IO[bytes]) -> None:
        try:
            while not stopped.is_set():
                try:
                    chunk = os.read(handle.fileno(), _CHUNK)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                loop.call_soon_threadsafe(_deliver, on_chunk, index, chunk, stopped)
        finally:
            with contextlib.suppress(OSError):
                handle.close()
            if not stopped.is_set() and not loop.is_closed():
                loop.call_soon_threadsafe(_ended, on_end, index, stopped)

    for index, handle in enumerate(files):
        threading.Thread(
            target=pump, args=(index, handle), name="batchgui-pipe", daemon=True
        ).start()
    return stopped.set


def _deliver(
    on_chunk: Callable[[int, bytes], None], index: int, chunk: bytes, stopped: threading.Event
) -> None:
    if not stopped.is_set():
        on_chunk(index, chunk)


def _ended(on_end: Callable[[int], None], index: int, stopped: threading.Event) -> None:
    if not stopped.is_set():
        on_end(index)
