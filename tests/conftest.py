"""Shared fixtures: every test gets its own data, config and log folders.

Qt runs offscreen and qasync is told to use PySide6 before anything imports
it (the window's tests rely on both).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test touches the real user folders: platformdirs reads these on every call."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("BATCHGUI_DATA_DIR", str(home / "batchgui-data"))
    return home


def batchgui_in(data: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m batchgui --data-dir DATA ARGS...`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "batchgui", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stored_tasks(data: Path) -> list[Any]:
    """Every task of every batch in the store at `data`, as saved (nothing recovered)."""
    from batchgui.store import Store

    store = Store(data)
    try:
        return [
            task
            for batch_id in store.batch_ids()
            for task in store.load_batch(batch_id, recover=False).tasks
        ]
    finally:
        store.close()


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded once it has run `code`."""
    listing = "; import sys as _s; print('\\n'.join(_s.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code + listing], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def make_files(folder: Path, count: int, *, prefix: str = "f", size: int = 16) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:04d}.txt"
        path.write_bytes(f"{prefix}{i}\n".encode().ljust(size, b"."))
        paths.append(path)
    return paths


@dataclass
class Recorder:
    """Every engine event, in order, with a monotonic timestamp."""

    events: list[tuple[float, str, object]] = field(default_factory=list)

    def attach(self, processor) -> None:
        import time

        for name in (
            "task_started",
            "task_completed",
            "task_failed",
            "task_retrying",
            "task_requeued",
            "task_cancelled",
            "batch_paused",
            "batch_resumed",
            "batch_finished",
        ):

            def record(*args, _name=name):
                self.events.append((time.monotonic(), _name, args))

            getattr(processor.events, name).connect(record)

    def of(self, name: str) -> list[tuple[float, tuple]]:
        return [(t, args) for t, n, args in self.events if n == name]


def build_batch(
    func: Callable,
    paths: Iterable[Path],
    out: Path,
    *,
    mode: str = "auto",
    options: dict | None = None,
    **kwargs,
):
    from batchgui.core import Batch
    from batchgui.core.operation import spec_of
    from batchgui.scan.plan import plan_tasks
    from batchgui.scan.walk import scan

    spec = spec_of(func)
    plan = plan_tasks(scan(list(paths)), out)
    batch = Batch(
        spec.name,
        plan.tasks,
        spec.resolve_options(options or {}),
        mode=mode,
        out_root=out,
        base=plan.base,
        **kwargs,
    )
    return batch, spec


async def wait_for(
    condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005
) -> None:
    """Poll until `condition()` holds; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
