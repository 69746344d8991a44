"""Running a stored batch to its end from the command line (`run` and `resume`).

    batch (saved in the store) ─► BatchSession (session/batch_session.py: the
        lock, the journal flushing state every 250 ms, results remembered for
        incremental runs) on a BatchProcessor of its own ─► progress bar on
        stderr (a TTY only) ─► summary, report ─► exit code

Ctrl-C or SIGTERM interrupts as --on-interrupt says: `save` (the default)
starts nothing new, kills running commands and workers, puts their tasks back
to pending and saves; `drain` lets running tasks finish first (a second Ctrl-C
saves at once); `kill` cancels everything left. Exit code 130, with the
command that resumes. Another Ctrl-C after that exits at once (the store
still has everything up to the last flush); no child process outlives the
run. A stop point (--stop-after N) pauses the batch once N tasks have ended:
running ones finish, exit code 0 (1 if any failed), resumable. A store that
cannot be written (disk full) interrupts the same way, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from batchgui.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from batchgui.core import Batch, BatchProcessor, TaskStatus
from batchgui.core.operation import OperationSpec, atomic_write
from batchgui.core.platform.interrupts import catch_interrupts
from batchgui.core.report import build_report
from batchgui.core.stats import Stats
from batchgui.paths import data_dir
from batchgui.scan.walk import absolute
from batchgui.session import Ending, RunSettings, StopMode, units
from batchgui.session.awake import KeepAwake
from batchgui.session.batch_session import BatchSession, nothing_to_process
from batchgui.session.cluster import ClusterConnection, ClusterError, on_cluster
from batchgui.store import Store, StoreError

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
    stop_after: int | None = None,
    on_interrupt: str | StopMode = StopMode.SAVE,
    allow_sleep: bool = False,
) -> int:
    """Run a stored batch to its end, where its settings say (here, or a cluster)."""
    if stop_after is not None and stop_after < 1:
        raise UsageError(f"--stop-after must be at least 1, not {stop_after}")
    try:
        settings = RunSettings.of_batch(batch)
    except ValueError as exc:
        raise UsageError(f"batch {batch.id}: {exc}") from None
    batch.mode = settings.engine_mode
    workers = settings.worker_count()
    control = _Control(stop_after, on_interrupt)
    session = BatchSession(store, data_dir(data_dir_arg), batch, on_store_error=control.halt)
    try:
        session.lock()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    awake = KeepAwake()
    try:
        if not allow_sleep:
            awake.hold()  # the machine does not sleep in the middle (session/awake.py)
        show_bar = not quiet and sys.stderr.isatty()
        stopped = asyncio.run(_execute(session, spec, settings, show_bar, control))
    finally:
        awake.release()
        session.release()
        store.close()
    if control.refused:
        raise UsageError(f"{control.refused}; the batch is saved: batchgui resume {batch.id}")
    if not quiet:
        print_summary(batch, control.final_stats)
    if report_path is not None:
        write_report(build_report(batch, control.workers or workers), report_path)
    if stopped is Ending.INTERRUPTED:
        if control.on_interrupt is StopMode.KILL:
            print("batchgui: interrupted; the remaining tasks were cancelled", file=sys.stderr)
        else:
            print(
                f"batchgui: interrupted; resume with: batchgui resume {batch.id}", file=sys.stderr
            )
        return EXIT_INTERRUPTED
    if stopped is Ending.HALTED:
        print(
            f"batchgui: error: paused: {batch.halted}, then resume with: "
            f"batchgui resume {batch.id}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if stopped is Ending.STOP_POINT:
        print(
            f"batchgui: paused after {stop_after} task(s) as asked; resume with: "
            f"batchgui resume {batch.id}",
            file=sys.stderr,
        )
        c = batch.counts
        return EXIT_FAILED if c[TaskStatus.FAILED] or c[TaskStatus.CANCELLED] else EXIT_OK
    if stopped is Ending.STORE_FAILED:
        print(
            f"batchgui: error: cannot save progress: {control.store_error}; when fixed, "
            f"resume with: batchgui resume {batch.id}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    c = batch.counts
    if c[TaskStatus.FAILED] or c[TaskStatus.CANCELLED] or batch.error:
        return EXIT_FAILED
    return EXIT_OK


def execute_from(
    args: argparse.Namespace,
    batch: Batch,
    spec: OperationSpec,
    store: Store,
    report_path: Path | None,
    **more: Any,
) -> int:
    """execute_batch with the options `run`, `resume` and `watch` share."""
    return execute_batch(
        batch,
        spec,
        store,
        args.data_dir,
        quiet=args.quiet,
        report_path=report_path,
        on_interrupt=args.on_interrupt,
        allow_sleep=args.allow_sleep,
        **more,
    )


class _Control:
    """How this run may stop early: a stop point, and what Ctrl-C does."""

    def __init__(self, stop_after: int | None, on_interrupt: str | StopMode) -> None:
        try:
            self.on_interrupt = StopMode(on_interrupt)
        except ValueError:
            raise UsageError(
                f"--on-interrupt: choose save, drain or kill, not {on_interrupt!r}"
            ) from None
        self.stop_after = stop_after
        self.store_error: str | None = None
        self.reasons: list[str] = []
        self.changed = asyncio.Event()
        self.final_stats: Stats | None = None  # the engine's figures when the run ended
        self.refused: str | None = None  # why the batch could not start (the cluster)
        self.workers: int | None = None  # tasks at once, when the cluster decided it

    def halt(self, reason: str) -> None:
        """A signal or a failing store. Ctrl-C once does what --on-interrupt says; a
        second Ctrl-C while draining stops now (saving), a third exits at once."""
        if reason == "interrupted" and "interrupted" in self.reasons:
            if self.on_interrupt is StopMode.DRAIN and "escalated" not in self.reasons:
                self.reasons.append("escalated")
                self.changed.set()
                return
            os._exit(EXIT_INTERRUPTED)  # the store is at most 250 ms old
        self.reasons.append(reason)
        self.changed.set()

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    @property
    def kill_running(self) -> bool:
        """Whether running work is stopped now (not allowed to finish)."""
        if not self.reasons:
            return False
        if self.reason != "interrupted":
            return True  # the store failed: stop, saving what can be saved
        return self.on_interrupt is not StopMode.DRAIN or "escalated" in self.reasons


async def _execute(
    session: BatchSession,
    spec: OperationSpec,
    settings: RunSettings,
    show_bar: bool,
    control: _Control,
) -> Ending:
    """Run the batch to its end, or until it stops early (and why)."""
    batch = session.batch
    processor = BatchProcessor(
        settings.worker_count(),
        retry=settings.retry_policy(),
        memory_limit=settings.memory_limit,
    )
    loop = asyncio.get_running_loop()
    # Ctrl-C and SIGTERM (Ctrl-Break on Windows), on this loop (core/platform)
    release_interrupts = catch_interrupts(loop, lambda: control.halt("interrupted"))
    bar = None
    at_stop_point = False
    connection: ClusterConnection | None = None
    try:
        if settings.cluster is not None:
            try:
                connection = await on_cluster(processor, settings.cluster, batch, spec)
            except ClusterError as exc:
                control.refused = str(exc)
                return Ending.FINISHED
            control.workers = await connection.threads()  # for the report
        await session.start(processor, spec, save=False)  # saved by `run` or stored
        if show_bar:
            bar = loop.create_task(_progress_bar(processor, batch))
        if control.stop_after:
            processor.stop_after(batch, control.stop_after)
        finished = asyncio.ensure_future(session.wait())
        while True:
            changed = asyncio.ensure_future(control.changed.wait())
            drained = asyncio.ensure_future(processor.drained(batch))
            await asyncio.wait({finished, changed, drained}, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            drained.cancel()
            control.changed.clear()
            if finished.done():
                break
            if control.kill_running:
                cancel = control.reason == "interrupted" and control.on_interrupt is StopMode.KILL
                await session.stop(StopMode.KILL if cancel else StopMode.SAVE)
                finished.cancel()
                break
            if drained.done() and not drained.cancelled():  # a stop point, or Ctrl-C drained
                at_stop_point = not control.reasons
                finished.cancel()
                break
            if control.reasons:  # Ctrl-C with --on-interrupt drain
                session.drain()
    finally:
        if processor.has_batch(batch):
            control.final_stats = processor.stats(batch)
        if bar is not None:
            bar.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bar
        await session.close()  # the last results, the journal's last flush
        await processor.aclose(kill=control.kill_running)
        if connection is not None:
            await connection.close()
        release_interrupts()
    if control.reason == "interrupted":
        return Ending.INTERRUPTED
    if control.reason:  # the store failed while running
        control.store_error = control.reason
        return Ending.STORE_FAILED
    if at_stop_point:
        return Ending.HALTED if batch.halted else Ending.STOP_POINT
    if session.store_error:
        control.store_error = session.store_error
        return Ending.STORE_FAILED
    return Ending.FINISHED


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
                eta = "?" if stats.eta_s is None else units.duration(stats.eta_s)
                failed = f"{stats.failed} failed, " if stats.failed else ""
                bar.set_postfix_str(
                    f"{failed}{stats.files_per_s:.1f} files/s, ETA {eta}", refresh=False
                )
                bar.refresh()
                await asyncio.sleep(_BAR_INTERVAL_S)
        except asyncio.CancelledError:
            stats = processor.stats(batch)
            bar.n = stats.done
            # the last word: the summary's rate, and no ETA once nothing is left
            _, per_s = run_time(batch, stats)
            failed = f"{stats.failed} failed, " if stats.failed else ""
            rate = f"{per_s:.1f} files/s" if per_s is not None else ""
            left = "" if stats.done >= batch.total else f", {batch.total - stats.done} left"
            bar.set_postfix_str(f"{failed}{rate}{left}", refresh=False)
            bar.refresh()
            raise


def run_time(batch: Batch, stats: Stats | None = None) -> tuple[float, float | None]:
    """(seconds the batch has run, its files/s): the summary and the bar agree.
    The engine's clock leaves out pauses; without it, wall time (never negative)."""
    c = batch.counts
    if stats is not None:
        elapsed = stats.elapsed_s
    else:
        elapsed = max(0.0, (batch.finished_at or time.time()) - (batch.started_at or time.time()))
    worked = c[TaskStatus.COMPLETED] + c[TaskStatus.FAILED]
    return elapsed, (worked / elapsed if elapsed > 0 and worked else None)


def print_summary(batch: Batch, stats: Stats | None = None) -> None:
    c = batch.counts
    elapsed, per_s = run_time(batch, stats)
    rate = f" ({per_s:.1f} files/s)" if per_s is not None else ""
    reasons = Counter(t.reason for t in batch.tasks if t.status is TaskStatus.SKIPPED)
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    skipped = f"{c[TaskStatus.SKIPPED]} skipped" + (f" ({why})" if why else "")
    print(
        f"{batch.op_name}: {c[TaskStatus.COMPLETED]} completed, {c[TaskStatus.FAILED]} failed, "
        f"{skipped}, {c[TaskStatus.CANCELLED]} cancelled of {batch.total} in {elapsed:.2f} s"
        f"{rate}",
        file=sys.stderr,
    )
    if not batch.total:
        hint = "; `batchgui preview` with the same paths and options lists them"
        print(f"  {nothing_to_process(batch)}{hint if batch.left_out else ''}", file=sys.stderr)
    failures = [t for t in batch.tasks if t.status is TaskStatus.FAILED]
    for task in failures[:_FAILURES_SHOWN]:
        where, why = os.fsdecode(task.path), task.error or ""
        print(f"  failed: {units.visible(where)}: {units.visible(why)}", file=sys.stderr)
    if len(failures) > _FAILURES_SHOWN:
        print(f"  … and {len(failures) - _FAILURES_SHOWN} more (see --report)", file=sys.stderr)
    for output in batch.outputs:
        print(f"  wrote {units.visible(os.fsdecode(output))}", file=sys.stderr)
    if batch.error:
        print(f"batchgui: error: {units.visible(batch.error)}", file=sys.stderr)


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
