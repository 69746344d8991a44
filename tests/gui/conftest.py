"""The window under test: a qasync loop per test, a temporary data folder, and helpers.

pytest-qt has no qasync support (pytest-qt #448), so each test runs its whole
interaction as one coroutine on a fresh qasync loop (`run`), waiting on
conditions with a short asyncio poll, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


@pytest.fixture(scope="session")
def session_loop(qapp):
    """One qasync loop for every window test. Loops made and closed per test
    left Qt timers pointing at deleted objects (a segfault a few tests later)."""
    from batchgui.gui.event_loop import EventLoop

    qapp.setQuitOnLastWindowClosed(False)  # tests end the loop themselves
    event_loop = EventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def loop(session_loop):
    """The loop, failing the test on any error the loop collected during it
    (like qasync's own tests)."""
    errors: list[dict] = []
    session_loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(session_loop)
    yield session_loop
    session_loop.set_exception_handler(None)
    assert not errors, errors


@pytest.fixture
def run(loop):
    """run(coroutine_function, timeout): the interaction, on the loop, to its end."""

    def go(scenario: Callable, timeout: float = 60.0):
        return loop.run_until_complete(asyncio.wait_for(scenario(), timeout))

    return go


@pytest.fixture
def make_window(tmp_path, qtbot):
    """Windows on a temporary data folder; each is shut down cleanly after the test."""
    from batchgui.gui import create_main_window

    made = []

    def make(data_dir=None):
        window = create_main_window(data_dir or tmp_path / "data")
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        assert window.isHidden() or window._closing, "a test left its window open"


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        await asyncio.sleep(0.01)


async def close(window) -> None:
    window.close()
    await until(lambda: window.isHidden() and not window._background, timeout=30)
