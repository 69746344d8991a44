"""Running a stored batch to its end from the command line (`run` and `resume`).

    batch (saved in the store) ─► lock it ─► BatchProcessor + BatchJournal
        (state flushed every 250 ms) + ResultRecorder (incremental cache)
        ─► progress bar on stderr (a TTY only) ─► summary, report ─► exit code

Ctrl-C or SIGTERM interrupts: nothing new starts, running commands and
workers are killed, their tasks go back to pending, the state is saved and
the exit code is 130 with the command that resumes. A second Ctrl-C stops at
once (the store still has everything up to the last flush). A store that
cannot be written (disk full) interrupts the same way, with exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from batchgui.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from batchgui.core import Batch, BatchProcessor, RetryPolicy, TaskStatus
from batchgui.core.operation import OperationSpec, atomic_write
from batchgui.core.processor import default_workers
from batchgui.core.report import build_report
from batchgui.core.runners.processes import DEFAULT_MEMORY_LIMIT
from batchgui.paths import data_dir
from batchgui.scan.incremental import ResultRecorder, operation_key
from batchgui.scan.walk import absolute
from batchgui.store import BatchJournal, BatchLock, Store, StoreError

_BAR_INTERVAL_S = 0.1
_FAILURES_SHOWN = 5


def open_store(data_dir_arg: str | None) -> Store:
    try:
        return Store(data_dir(data_dir_arg))
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def report_target(report: str | None) -> Path | None:
    if report is None:
        return None
    if report == "-":
        return Path("-")
    path = absolute(report)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write the report: folder {path.parent} does not exist")
    return path


def execute_batch(
    batch: Batch,
    spec: OperationSpec,
    store: Store,
    data_dir_arg: str | None,
    *,
    quiet: bool,
    report_path: Path | None,
) -> int:
    settings = batch.settings
    workers = int(settings.get("workers") or default_workers())
    retry = RetryPolicy(
        max_retries=int(settings.get("retries", 2)),
        base_delay_s=float(settings.get("backoff", 1.0)),
    )
    try:
        lock = BatchLock(data_dir(data_dir_arg), batch.id).acquire()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        show_bar = not quiet and sys.stderr.isatty()
        stopped = asyncio.run(_execute(batch, spec, store, workers, retry, show_bar))
    finally:
        lock.release()
        store.close()
    if not quiet:
        print_summary(batch)
    if report_path is not None:
        write_report(build_report(batch, workers), report_path)
    if stopped == "interrupted":
        print(f"batchgui: interrupted; resume with: batchgui resume {batch.id}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if stopped:  # the store failed
        print(
            f"batchgui: error: cannot save progress: {stopped}; when fixed, resume with: "
            f"batchgui resume {batch.id}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    c = batch.counts
    if c[TaskStatus.FAILED] or c[TaskStatus.CANCELLED] or batch.error:
        return EXIT_FAILED
    return EXIT_OK


async def _execute(
    batch: Batch,
    spec: OperationSpec,
    store: Store,
    workers: int,
    retry: RetryPolicy,
    show_bar: bool,
) -> str | None:
    """Run the batch; returns None when it ended, or why it was stopped."""
    limit = batch.settings.get("memory_limit", DEFAULT_MEMORY_LIMIT)
    processor = BatchProcessor(workers, retry=retry, memory_limit=limit)
    loop = asyncio.get_running_loop()
    stop_reason: list[str] = []
    stop = asyncio.Event()

    def halt(reason: str) -> None:
        if stop_reason and reason == "interrupted":
            os._exit(EXIT_INTERRUPTED)  # a second Ctrl-C: now (the store is at most 250 ms old)
        stop_reason.append(reason)
        stop.set()

    journal = BatchJournal(store, processor, on_error=halt)
    recorder = (
        ResultRecorder(processor, batch, store, operation_key(spec.name, batch.options))
        if spec.incremental
        else None
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, halt, "interrupted")
    bar = loop.create_task(_progress_bar(processor, batch)) if show_bar else None
    try:
        processor.submit(batch, spec)
        finished = asyncio.ensure_future(processor.wait(batch))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({finished, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not finished.done():
            await processor.interrupt()
            finished.cancel()
    finally:
        if bar is not None:
            bar.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bar
        if recorder is not None:
            await recorder.flush()
        await journal.aclose()
        await processor.aclose(kill=bool(stop_reason))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return stop_reason[0] if stop_reason else journal.error


async def _progress_bar(processor: BatchProcessor, batch: Batch) -> None:
    from tqdm import tqdm

    fmt = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}] {postfix}"
    with tqdm(
        total=batch.total,
        unit="file",
        file=sys.stderr,
        dynamic_ncols=True,
        desc=batch.op_name,
        bar_format=fmt,
        mininterval=0,
    ) as bar:
        try:
            while True:
                stats = processor.stats(batch)
                bar.n = stats.done
                eta = "?" if stats.eta_s is None else _duration(stats.eta_s)
                failed = f"{stats.failed} failed, " if stats.failed else ""
                bar.set_postfix_str(
                    f"{failed}{stats.files_per_s:.1f} files/s, ETA {eta}", refresh=False
                )
                bar.refresh()
                await asyncio.sleep(_BAR_INTERVAL_S)
        except asyncio.CancelledError:
            bar.n = processor.stats(batch).done
            bar.refresh()
            raise


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def print_summary(batch: Batch) -> None:
    c = batch.counts
    elapsed = (batch.finished_at or 0) - (batch.started_at or 0)
    worked = c[TaskStatus.COMPLETED] + c[TaskStatus.FAILED]
    rate = f" ({worked / elapsed:.1f} files/s)" if elapsed > 0 and worked else ""
    reasons = Counter(t.reason for t in batch.tasks if t.status is TaskStatus.SKIPPED)
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    skipped = f"{c[TaskStatus.SKIPPED]} skipped" + (f" ({why})" if why else "")
    print(
        f"{batch.op_name}: {c[TaskStatus.COMPLETED]} completed, {c[TaskStatus.FAILED]} failed, "
        f"{skipped}, {c[TaskStatus.CANCELLED]} cancelled of {batch.total} in {elapsed:.2f} s"
        f"{rate}",
        file=sys.stderr,
    )
    failures = [t for t in batch.tasks if t.status is TaskStatus.FAILED]
    for task in failures[:_FAILURES_SHOWN]:
        print(f"  failed: {os.fsdecode(task.path)}: {task.error}", file=sys.stderr)
    if len(failures) > _FAILURES_SHOWN:
        print(f"  … and {len(failures) - _FAILURES_SHOWN} more (see --report)", file=sys.stderr)
    for output in batch.outputs:
        print(f"  wrote {output}", file=sys.stderr)
    if batch.error:
        print(f"batchgui: error: {batch.error}", file=sys.stderr)


def write_report(report: dict, path: Path) -> None:
    text = json.dumps(report, indent=2) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with atomic_write(path) as handle:
            handle.write(text.encode())
    except OSError as exc:
        print(
            f"batchgui: error: cannot write the report {path}: {exc.strerror or exc}",
            file=sys.stderr,
        )
