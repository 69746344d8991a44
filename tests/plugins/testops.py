"""Operations for the tests: importable by module name, so process workers find them."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from batchgui import Option, PermanentError, TaskContext, atomic_write, operation


@operation("noop", mode="thread")
def noop(src: Path, out_dir: Path, options: dict) -> list[Path]:
    return []


@operation("anoop")
async def anoop(src: Path, out_dir: Path, options: dict) -> list[Path]:
    return []


@operation("copy", options=[Option("suffix", str, ".copy")])
def copy(src: Path, out_dir: Path, options: dict) -> list[Path]:
    target = out_dir / (src.name + options["suffix"])
    with atomic_write(target) as handle:
        handle.write(src.read_bytes())
    return [target]


@operation("acopy", options=[Option("suffix", str, ".copy")])
async def acopy(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """`copy` as a coroutine (it never awaits: no checkpoint where a Pause could hold it)."""
    return copy(src, out_dir, options)


@operation("sleepy", options=[Option("seconds", float, 0.05)])
def sleepy(src: Path, out_dir: Path, options: dict, ctx: TaskContext) -> list[Path]:
    """Sleeps, noticing cancellation; reports when it ran (wall clock)."""
    ctx.data["began"] = time.time()
    deadline = time.monotonic() + options["seconds"]
    while time.monotonic() < deadline:
        if ctx.cancelled:
            raise InterruptedError("cancelled")
        time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
    ctx.data["ended"] = time.time()
    return []


@operation("asleepy", options=[Option("seconds", float, 0.05)])
async def asleepy(src: Path, out_dir: Path, options: dict, ctx: TaskContext) -> list[Path]:
    ctx.data["began"] = time.time()
    await asyncio.sleep(options["seconds"])
    ctx.data["ended"] = time.time()
    return []


@operation("flaky", options=[Option("failures", int, 2)])
def flaky(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Fails `failures` times per file, then succeeds (the count lives in a file)."""
    counter = out_dir / f"{src.name}.tries"
    tries = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(tries + 1))
    if tries < options["failures"]:
        raise RuntimeError(f"transient failure {tries + 1}")
    return []


@operation("corrupt")
def corrupt(src: Path, out_dir: Path, options: dict) -> list[Path]:
    raise PermanentError(f"{src.name} is damaged", kind="corrupt")


@operation("hang", mode="thread")
def hang(src: Path, out_dir: Path, options: dict, ctx: TaskContext) -> list[Path]:
    """Hangs when the name says so, until cancelled; completes otherwise."""
    if "hang" in src.name:
        while not ctx.cancelled:
            time.sleep(0.01)
        raise InterruptedError("cancelled")
    return []


@operation("stubborn", mode="thread")
def stubborn(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Sleeps 30 s without looking at ctx.cancelled when the name starts with 'stuck'."""
    if src.name.startswith("stuck"):
        time.sleep(30)
    return []


@operation("ahang")
async def ahang(src: Path, out_dir: Path, options: dict) -> list[Path]:
    if "hang" in src.name:
        await asyncio.sleep(3600)
    return []


@operation("crasher", mode="process", options=[Option("how", str, "exit")])
def crasher(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Kills its own worker process when the file's name contains 'crash'."""
    if "crash" in src.name:
        if options["how"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif options["how"] == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(3)
    time.sleep(0.01)
    return []


@operation("escape")
def escape(src: Path, out_dir: Path, options: dict) -> list[Path]:
    target = out_dir.parent.parent / "escaped.txt"
    return [target]


@operation("nothing", mode="thread", per_file_outputs=False)
def nothing(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Does nothing at all: measures the engine's own cost per task."""
    return []


@operation("anothing", per_file_outputs=False)
async def anothing(src: Path, out_dir: Path, options: dict) -> list[Path]:
    return []


@operation("hog", mode="process", options=[Option("megabytes", int, 600)])
def hog(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Fills a lot of memory, 8 MiB at a time, when the name says so (pages really
    touched: a system cap or a watchdog on the worker's RSS must both see it)."""
    if "hog" in src.name:
        blocks = [b"\x01" * (8 << 20) for _ in range(options["megabytes"] // 8)]
        del blocks
    return []


@operation("spin", mode="process", options=[Option("ms", float, 5.0)])
def spin(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Pure CPU work for `ms` milliseconds of this process's CPU time (the benchmarks)."""
    until = time.process_time() + options["ms"] / 1000
    while time.process_time() < until:
        pass
    return []


@operation("burn", mode="process", options=[Option("cpu_seconds", float, 0.8)])
def burn(src: Path, out_dir: Path, options: dict, ctx: TaskContext) -> list[Path]:
    """Uses `cpu_seconds` of CPU time (time frozen does not count), announcing its pid."""
    # whole or not at all: the test reads it as soon as it appears
    part = out_dir / f".{src.name}.pid.part"
    part.write_text(str(os.getpid()))
    os.replace(part, out_dir / f"{src.name}.pid")
    start = time.process_time()
    while time.process_time() - start < options["cpu_seconds"] and not ctx.cancelled:
        pass
    return []


@operation("checkpointed", options=[Option("steps", int, 40)])
async def checkpointed(src: Path, out_dir: Path, options: dict, ctx: TaskContext) -> list[Path]:
    """An async operation that waits at a checkpoint between steps; counts its steps."""
    for step in range(options["steps"]):
        await ctx.checkpoint()
        ctx.data["steps"] = step + 1
        ctx.progress((step + 1) / options["steps"])
        await asyncio.sleep(0.01)
    return []


@operation("diskfull", mode="thread", options=[Option("flag", str, "")])
def diskfull(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Fails as a full disk does while the flag file exists."""
    if options["flag"] and os.path.exists(options["flag"]):
        raise OSError(28, "No space left on device")  # ENOSPC
    return []


@operation("memory_hog", mode="thread", options=[Option("mib", int, 2000)])
def memory_hog(src: Path, out_dir: Path, options: dict) -> list[Path]:
    """Allocates memory a MiB at a time, as a runaway parser does."""
    held = []
    for _ in range(options["mib"]):
        held.append(bytearray(1 << 20))
    return []
