"""`batchgui run`: build a batch from the command line, run it, report it.

    args ─► operation + options (bad: exit 2) ─► walk inputs ─► plan tasks
         ─► BatchProcessor on asyncio.run, a progress bar on stderr (a TTY only)
         ─► summary on stderr, JSON report to a file or stdout ─► exit code

Ctrl-C (or SIGTERM) cancels the batch: running commands and workers are
killed, nothing else starts, and the exit code is 130. A second Ctrl-C
stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from batchgui.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from batchgui.cli.filters import filters_from
from batchgui.core import Batch, BatchProcessor, Priority, RetryPolicy, TaskStatus
from batchgui.core.operation import OperationSpec, atomic_write
from batchgui.core.processor import default_workers
from batchgui.core.report import build_report
from batchgui.logs import setup_logging
from batchgui.operations.registry import load_operations
from batchgui.paths import log_dir
from batchgui.scan.incremental import operation_key
from batchgui.scan.prepare import prepare
from batchgui.scan.walk import InputError, absolute

_BAR_INTERVAL_S = 0.1
_FAILURES_SHOWN = 5


def run_command(args: argparse.Namespace) -> int:
    setup_logging(log_dir(args.data_dir), quiet=args.quiet)
    spec, options = _operation(args)
    out_root = absolute(args.out)
    report_path = _report_path(args.report)
    try:
        filters = filters_from(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    workers = args.workers or default_workers()
    try:
        prepared = prepare(
            args.paths,
            filters,
            out_root,
            priority=Priority.parse(args.priority),
            dedupe=not args.no_dedupe,
            force=args.force,
            op_key=operation_key(spec.name, options),
        )
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if spec.per_file_outputs or spec.finalize is not None:
        try:
            out_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot create the output folder {out_root}: {exc.strerror or exc}"
            ) from None
    plan = prepared.plan
    batch = Batch(
        spec.name,
        plan.tasks,
        options,
        mode=args.mode,
        out_root=out_root,
        base=plan.base,
        timeout_s=args.timeout,
        rate_per_s=args.rate,
    )
    retry = RetryPolicy(max_retries=args.retries, base_delay_s=args.backoff)
    show_bar = not args.quiet and sys.stderr.isatty()
    interrupted = asyncio.run(_execute(batch, spec, workers, retry, show_bar))

    if not args.quiet:
        _print_summary(batch)
    if report_path is not None:
        _write_report(build_report(batch, workers), report_path)
    if interrupted:
        print("batchgui: interrupted; running work was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    c = batch.counts
    if c[TaskStatus.FAILED] or c[TaskStatus.CANCELLED] or batch.error:
        return EXIT_FAILED
    return EXIT_OK


def _operation(args: argparse.Namespace) -> tuple[OperationSpec, dict]:
    registry = load_operations()
    for warning in registry.warnings:
        print(f"batchgui: warning: {warning}", file=sys.stderr)
    raw = dict(args.settings)
    if args.exec_template is not None:
        name = "exec"
        raw.update(command=args.exec_template, shell=str(args.shell))
    else:
        name = args.op
        if args.shell:
            raise UsageError("--shell goes with --exec")
    try:
        spec = registry.get(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    try:
        return spec, spec.resolve_options(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _report_path(report: str | None) -> Path | None:
    if report is None or report == "-":
        return Path("-") if report == "-" else None
    path = absolute(report)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write the report: folder {path.parent} does not exist")
    return path


async def _execute(
    batch: Batch, spec: OperationSpec, workers: int, retry: RetryPolicy, show_bar: bool
) -> bool:
    """Run the batch to its end; True if the user interrupted it."""
    processor = BatchProcessor(workers, retry=retry)
    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if interrupted:
            os._exit(EXIT_INTERRUPTED)  # a second Ctrl-C: stop now (children are killed already)
        interrupted = True
        processor.cancel_batch(batch)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    bar = loop.create_task(_progress_bar(processor, batch)) if show_bar else None
    try:
        processor.submit(batch, spec)
        await processor.wait(batch)
    finally:
        if bar is not None:
            bar.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bar
        await processor.aclose(kill=interrupted)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return interrupted


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


def _print_summary(batch: Batch) -> None:
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


def _write_report(report: dict, path: Path) -> None:
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
