"""`batchgui run`: build a batch from the command line and hand it to execute_batch.

args ─► operation + options + RunSettings (bad: exit 2) ─► prepare_batch
     (session/batch_session.py: scan, filters, duplicates, unchanged files, the
     store as the cache) ─► batch saved in the store ─► execute_batch
     (cli/execute.py)
"""

from __future__ import annotations

import argparse
import os
import sys

from batchgui.cli import UsageError
from batchgui.cli.execute import execute_batch, open_store, report_target
from batchgui.cli.filters import filter_settings_from
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import default_workers
from batchgui.logs import setup_logging
from batchgui.operations.registry import load_operations
from batchgui.paths import log_dir
from batchgui.scan.filters import parse_size
from batchgui.scan.walk import InputError, absolute
from batchgui.session import RunSettings
from batchgui.session.batch_session import prepare_batch
from batchgui.store import StoreError

_BAR_INTERVAL_S = 0.1
_FAILURES_SHOWN = 5


def run_command(args: argparse.Namespace) -> int:
    setup_logging(log_dir(args.data_dir), quiet=args.quiet)
    spec, options = _operation(args)
    settings = settings_from(args, spec.name, options)
    report_path = report_target(args.report)
    store = open_store(args.data_dir)
    try:
        batch = prepare_batch(settings, spec, store)
    except (ValueError, InputError, StoreError) as exc:
        store.close()
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the output folder cannot be made
        store.close()
        raise UsageError(
            f"cannot create the output folder {settings.out}: {exc.strerror or exc}"
        ) from None
    try:
        store.create_batch(batch)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    return execute_batch(
        batch,
        spec,
        store,
        args.data_dir,
        quiet=args.quiet,
        report_path=report_path,
        stop_after=args.stop_after,
        on_interrupt=args.on_interrupt,
    )


def settings_from(args: argparse.Namespace, operation: str, options: dict) -> RunSettings:
    """The command line's RunSettings; UsageError (exit 2) for a bad value."""
    try:
        memory_limit = parse_size(args.memory_limit) or None
    except ValueError as exc:
        raise UsageError(f"--memory-limit: {exc}") from None
    try:
        filters = filter_settings_from(args)
        return RunSettings(
            operation=operation,
            options=options,
            mode=args.mode,
            workers=args.workers or default_workers(),
            priority=args.priority,
            retries=args.retries,
            backoff_s=args.backoff,
            timeout_s=args.timeout,
            rate_per_s=args.rate,
            memory_limit=memory_limit,
            filters=filters,
            out=os.fsdecode(absolute(args.out)),
            sources=tuple(os.fsdecode(absolute(p)) for p in args.paths),
            dedupe=not args.no_dedupe,
            force=args.force,
            on_exists=args.on_exists,
            stop_after=args.stop_after,
            on_interrupt=args.on_interrupt,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _operation(args: argparse.Namespace) -> tuple[OperationSpec, dict]:
    registry = load_operations()
    for warning in registry.warnings:
        print(f"batchgui: warning: {warning}", file=sys.stderr)
    raw = dict(args.settings)
    if args.exec_template is not None:
        name = "exec"
        raw.update(command=args.exec_template, shell=str(args.shell))
        if args.progress_regex:
            raw["progress_regex"] = args.progress_regex
    else:
        name = args.op
        if args.shell or args.progress_regex:
            raise UsageError("--shell and --progress-regex go with --exec")
    try:
        spec = registry.get(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    try:
        return spec, spec.resolve_options(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
