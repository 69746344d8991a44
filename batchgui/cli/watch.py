"""`batchgui watch`: process files as they arrive in folders, until stopped.

    the same options as `run` (an operation, a recipe or steps; filters; the
    output folder, which is never read back)
    ─► loop: scan the folders ─► session/watch.Settler: files new or changed
       and settled ─► a round: one stored batch over exactly those files (the
       folder tree mirrored as `run` does, duplicates and unchanged content
       skipped) ─► execute_batch ─► --on-done COMMAND
    ─► wait for a change event or the interval, and look again

Ctrl-C between rounds stops watching (exit 0); during a round it stops the
round the usual way (--on-interrupt) and the watch with it (exit 130). The
watch's setup is kept in <data>/watches/last.json: `watch --resume` takes it
up again, and its first look catches up on what arrived meanwhile (files
already done are skipped as unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from batchgui.cli import EXIT_INTERRUPTED, EXIT_OK, UsageError
from batchgui.cli.execute import execute_from, report_target
from batchgui.cli.run import operation_and_settings, stored_batch
from batchgui.core.models import Batch, TaskStatus
from batchgui.core.operation import OperationSpec, atomic_write
from batchgui.core.platform.commands import split as split_words
from batchgui.core.platform.interrupts import raising_interrupts
from batchgui.logs import setup_logging
from batchgui.operations.registry import load_operations
from batchgui.paths import data_dir, log_dir
from batchgui.scan.duplicates import Duplicates, find_duplicates
from batchgui.scan.walk import Entry, InputError, absolute, scan
from batchgui.session import RunSettings, units
from batchgui.session.batch_session import check_here
from batchgui.session.recipes import parse_recipe, recipe_text
from batchgui.session.units import plural
from batchgui.session.watch import ChangeAlarm, Settler


def watch_command(args: argparse.Namespace) -> int:
    setup_logging(log_dir(args.data_dir), quiet=args.quiet)
    record = data_dir(args.data_dir) / "watches" / "last.json"
    if args.resume:
        if args.paths or args.op or args.exec_template or args.recipe or args.steps:
            raise UsageError("--resume watches as the last watch did: give nothing else")
        spec, settings, folders = _last_watch(record, args)
        _remember_watch(record, settings, folders, args)  # watching again: not stopped
    else:
        if not args.paths:
            raise UsageError("give the folders to watch")
        spec, settings = operation_and_settings(args, None)
        folders = [absolute(p) for p in args.paths]
        _remember_watch(record, settings, folders, args)
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        raise UsageError(f"{missing[0]}: not a folder (watch takes folders)")
    try:
        check_here(spec, settings)  # before watching, not at the first round
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        filters = settings.filters.build()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = absolute(settings.out)
    settler = Settler(args.settle)
    alarm = ChangeAlarm(folders)
    # SIGTERM (kill, a service manager) stops an idle watch as Ctrl-C does; in a
    # round, the batch's own handling saves it (execute.py)
    with raising_interrupts():
        try:
            # inside the try: a Ctrl-C the moment this is said still stops cleanly
            print(
                f"batchgui: watching {units.visible(', '.join(map(os.fsdecode, folders)))} "
                f"({spec.name} → {units.visible(os.fsdecode(out))}); "
                "Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
            while True:
                try:
                    entries = list(scan(folders, filters, skip=[out]))
                except InputError as exc:  # a watched folder went away
                    raise UsageError(str(exc)) from None
                ready = settler.settled(entries, time.monotonic())
                if ready:
                    code = _round(args, spec, settings, ready)
                    if code == EXIT_INTERRUPTED:
                        return code
                    continue  # look again at once: files may have come meanwhile
                wait = min(args.interval, args.settle / 2) if settler.waiting else args.interval
                if alarm.changed.wait(timeout=wait):
                    alarm.changed.clear()
        except KeyboardInterrupt:
            _mark_stopped(record)  # on purpose: `batchgui resume` leaves it stopped
            print("batchgui: stopped watching", file=sys.stderr)
            return EXIT_OK
        finally:
            alarm.close()


def watch_state(data: Path) -> str:
    """ "cut off" (killed, or stopped mid-round: `batchgui resume` goes on with it),
    "stopped" (Ctrl-C while idle) or "" (no watch yet)."""
    try:
        document = json.loads((data / "watches" / "last.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return "stopped" if document.get("stopped") else "cut off"


def resume_watch(args: argparse.Namespace) -> int:
    """`batchgui resume` with no batch left but a watch that was cut off."""
    watch_args = argparse.Namespace(
        **vars(args),
        **{
            "resume": True,
            "paths": [],
            "op": None,
            "exec_template": None,
            "recipe": None,
            "steps": [],
            "settle": 2.0,
            "interval": 1.0,
            "on_done": None,
        },
    )
    print("batchgui: resuming the last watch", file=sys.stderr)
    return watch_command(watch_args)


def _mark_stopped(record: Path) -> None:
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        document["stopped"] = True
        with atomic_write(record) as handle:
            handle.write(json.dumps(document, indent=2).encode("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"batchgui: warning: {record}: {exc}", file=sys.stderr)


def _remember_watch(
    record: Path, settings: RunSettings, folders: list[Path], args: argparse.Namespace
) -> None:
    """What `watch --resume` takes up again: the setup, folders and timings."""
    document = {
        "batchgui_watch": 1,
        "recipe": recipe_text(settings),
        "folders": [os.fspath(f) for f in folders],
        "settle": args.settle,
        "interval": args.interval,
        "on_done": args.on_done,
    }
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(record) as handle:
            handle.write(json.dumps(document, indent=2).encode("utf-8"))
    except OSError as exc:
        print(f"batchgui: warning: this watch cannot be resumed later: {exc}", file=sys.stderr)


def _last_watch(
    record: Path, args: argparse.Namespace
) -> tuple[OperationSpec, RunSettings, list[Path]]:
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        settings = parse_recipe(
            document["recipe"], f"{record} (its recipe)", load_operations().operations
        )
        folders = [Path(f) for f in document["folders"]]
    except FileNotFoundError:
        raise UsageError(
            "no watch to resume (start one with 'batchgui watch FOLDER ...')"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # RecipeError is a ValueError
        raise UsageError(f"{record}: cannot resume the watch: {exc}") from None
    args.settle = float(document.get("settle") or args.settle)
    args.interval = float(document.get("interval") or args.interval)
    args.on_done = args.on_done or document.get("on_done")
    spec = load_operations().get(settings.operation).for_options(settings.options)
    settings = RunSettings.from_json({**settings.to_json(), "sources": [str(f) for f in folders]})
    return spec, settings, folders


def _round(
    args: argparse.Namespace, spec: OperationSpec, settings: RunSettings, ready: list[Entry]
) -> int:
    """One batch over the settled files; its exit code."""
    duplicates = find_duplicates(ready) if spec.incremental else Duplicates()
    batch, store = stored_batch(args, spec, settings, scanned=(ready, duplicates))
    report_path = report_target(args.report)
    if args.on_done and report_path is None:
        report_path = data_dir(args.data_dir) / "reports" / f"{batch.id}.json"
        report_path.parent.mkdir(parents=True, exist_ok=True)
    if not args.quiet:
        print(f"batchgui: {plural(len(ready), 'new file')}: batch {batch.id}", file=sys.stderr)
    code = execute_from(args, batch, spec, store, report_path)
    if args.on_done and code != EXIT_INTERRUPTED:
        _on_done(args.on_done, batch, report_path)
    return code


def _on_done(template: str, batch: Batch, report: Path | None) -> None:
    """Run the --on-done command: its words filled in, no shell (names are data)."""
    values = {
        "batch": batch.id,
        "report": os.fspath(report) if report else "",
        "completed": str(batch.counts[TaskStatus.COMPLETED]),
        "failed": str(batch.counts[TaskStatus.FAILED]),
    }
    try:
        argv = [word.format_map(values) for word in split_words(template)]
    except (ValueError, KeyError) as exc:
        print(f"batchgui: --on-done not run: {exc}", file=sys.stderr)
        return
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"batchgui: --on-done failed: {exc}", file=sys.stderr)
        return
    if done.returncode:
        print(f"batchgui: --on-done exited with status {done.returncode}", file=sys.stderr)
