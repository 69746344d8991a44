"""`batchgui run`: build a batch from the command line and hand it to execute_batch.

args ─► operation + options + RunSettings (bad: exit 2) ─► prepare_batch
     (session/batch_session.py: scan, filters, duplicates, unchanged files, the
     store as the cache) ─► batch saved in the store ─► execute_batch
     (cli/execute.py)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from batchgui.cli import EXIT_OK, UsageError, cluster_from
from batchgui.cli.execute import execute_from, open_store, report_target
from batchgui.cli.filters import add_filter_arguments, filter_settings_from
from batchgui.core.models import Batch
from batchgui.core.operation import OperationSpec
from batchgui.core.processor import default_workers
from batchgui.logs import setup_logging
from batchgui.operations.pipeline import steps_from_specs
from batchgui.operations.registry import BUILTINS, find_operation, load_operations
from batchgui.paths import data_dir, log_dir
from batchgui.scan.duplicates import Duplicates
from batchgui.scan.filters import parse_size
from batchgui.scan.walk import Entry, absolute
from batchgui.session import RunSettings
from batchgui.session.batch_session import prepare_batch
from batchgui.session.recipes import (
    RecipeError,
    find_recipe,
    load_recipe,
    recipe_path,
    save_recipe,
)
from batchgui.store import Store, StoreError

_BAR_INTERVAL_S = 0.1
_FAILURES_SHOWN = 5


def run_command(args: argparse.Namespace) -> int:
    setup_logging(log_dir(args.data_dir), quiet=args.quiet)
    report_op = None
    if args.retry_failed_from:
        if args.paths:
            raise UsageError("give files and folders or --retry-failed-from, not both")
        args.paths, report_op = failed_in(Path(args.retry_failed_from))
        if not args.paths:
            print(f"batchgui: nothing failed in {args.retry_failed_from}", file=sys.stderr)
            return EXIT_OK
    if not args.paths:
        raise UsageError("give the files and folders to process")
    spec, settings = operation_and_settings(args, report_op)
    if args.save_recipe:
        try:
            save_recipe(recipe_path(data_dir(args.data_dir), args.save_recipe), settings)
        except (RecipeError, OSError) as exc:
            raise UsageError(f"--save-recipe: {exc}") from None
    report_path = report_target(args.report)
    batch, store = stored_batch(args, spec, settings)
    return execute_from(args, batch, spec, store, report_path, stop_after=args.stop_after)


def stored_batch(
    args: argparse.Namespace,
    spec: OperationSpec,
    settings: RunSettings,
    scanned: tuple[list[Entry], Duplicates] | None = None,
) -> tuple[Batch, Store]:
    """The batch prepared and saved, and the open store (`run`, and each round of
    `watch`, which passes the files it found); UsageError, one line, if it cannot."""
    store = open_store(args.data_dir)
    try:
        batch = prepare_batch(settings, spec, store, scanned=scanned)
        store.create_batch(batch)
    except (ValueError, StoreError) as exc:  # InputError is a ValueError
        store.close()
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the output folder cannot be made
        store.close()
        raise UsageError(
            f"cannot create the output folder {settings.out}: {exc.strerror or exc}"
        ) from None
    return batch, store


def operation_and_settings(
    args: argparse.Namespace, report_op: str | None
) -> tuple[OperationSpec, RunSettings]:
    """The operation and the run's settings: from --op/--exec and the options given,
    or from a recipe that the options given here override."""
    recipe = None
    if args.recipe:
        registry = load_operations()
        try:
            path = find_recipe(data_dir(args.data_dir), args.recipe)
            recipe = load_recipe(path, registry.operations)
        except RecipeError as exc:
            raise UsageError(str(exc)) from None
    if args.op is None and args.exec_template is None and not args.steps:
        if recipe is not None:
            args.op = recipe.operation
            args.settings = [*recipe.options.items(), *args.settings]
        elif report_op is not None:
            args.op = report_op
        else:
            raise UsageError("give --op NAME, --exec TEMPLATE or --recipe FILE")
    spec, options = _operation(args)
    given = settings_from(args, spec.name, options)
    if recipe is None:
        return spec, given
    explicit = {_FIELD_OF.get(dest, dest) for dest in explicit_options(args)}
    kept = {field: getattr(given, field) for field in explicit if hasattr(given, field)}
    return spec, dataclasses.replace(
        recipe,
        operation=spec.name,
        options=options,
        sources=given.sources,
        stop_after=given.stop_after,
        on_interrupt=given.on_interrupt,
        **kept,
    )


# run's options that are named differently in RunSettings (the rest match)
_FIELD_OF = {"backoff": "backoff_s", "timeout": "timeout_s", "rate": "rate_per_s",
             "no_dedupe": "dedupe"}  # fmt: skip


def steps_option(specs: list[str]) -> str:
    """--step values as the chain's steps option (JSON); UsageError for a bad one."""
    try:
        return steps_from_specs(specs)
    except ValueError as exc:
        raise UsageError(f"--step: {exc}") from None


def explicit_options(args: argparse.Namespace) -> set[str]:
    """The run options given on this command line (not left at their defaults);
    any filter counts as the whole `filters`."""
    from batchgui.cli import build_parser

    defaults = vars(build_parser().parse_args(["run"]))
    given = {dest for dest, value in vars(args).items() if defaults.get(dest, value) != value}
    filter_dests = _filter_dests()
    return {"filters" if dest in filter_dests else dest for dest in given}


def _filter_dests() -> set[str]:
    parser = argparse.ArgumentParser(add_help=False)
    add_filter_arguments(parser)
    return {action.dest for action in parser._actions}


def failed_in(report: Path) -> tuple[list[str], str | None]:
    """The files that failed in a JSON report, and its operation."""
    try:
        data = json.loads(report.read_text(encoding="utf-8-sig"))  # a BOM is no error
        if isinstance(data, dict) and "batchgui_export" in data:
            data = data["report"]  # an exported batch carries its report
        failed = [t["path"] for t in data["tasks"] if t.get("status") == "failed"]
        op = data.get("op")
    except OSError as exc:
        raise UsageError(f"--retry-failed-from: cannot read {report}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--retry-failed-from: {report} is not a batchgui report ({exc})"
        ) from None
    return failed, op if isinstance(op, str) else None


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
            cluster=cluster_from(args),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _operation(args: argparse.Namespace) -> tuple[OperationSpec, dict]:
    raw = dict(args.settings)
    if args.steps:  # (a recipe's chain is replaced by the steps given here)
        if args.op is not None or args.exec_template is not None:
            raise UsageError("--step makes a chain: leave out --op and --exec")
        args.op = "chain"
        raw["steps"] = steps_option(args.steps)
    if args.exec_template is not None:
        name = "exec"
        raw.update(command=args.exec_template, shell=str(args.shell))
        if args.progress_regex:
            raw["progress_regex"] = args.progress_regex
    else:
        name = args.op
        if args.shell or args.progress_regex:
            raise UsageError("--shell and --progress-regex go with --exec")
    if name not in BUILTINS:  # a plugin's: the installed ones are loaded, and said if broken
        for warning in load_operations().warnings:
            print(f"batchgui: warning: {warning}", file=sys.stderr)
    try:
        spec = find_operation(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    try:
        options = spec.resolve_options(raw)
        return spec.for_options(options), options
    except ValueError as exc:
        raise UsageError(str(exc)) from None
