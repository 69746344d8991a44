"""Stored batches from the command line: `resume`, `history` and `report`.

resume [ID] ─► the latest unfinished batch (or ID) ─► lock ─► load: tasks a
               dead process left running come back pending ─► execute_batch
               with the settings it was started with
history     ─► every batch with its counts and times (text or --json); with
               --prune AGE, finished batches older than AGE forgotten first
forget ID.. ─► those batches deleted from the store (session/history.py)
report ID   ─► its results as the run report (JSON, schema 1) or CSV
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from batchgui.cli import EXIT_OK, UsageError, cluster_from
from batchgui.cli.execute import execute_from, open_store, report_target
from batchgui.core import TaskStatus
from batchgui.core.operation import atomic_write
from batchgui.core.report import write_csv
from batchgui.logs import setup_logging
from batchgui.operations.registry import load_operations
from batchgui.paths import data_dir, log_dir
from batchgui.scan.walk import InputError
from batchgui.session.batch_session import ready_to_run_again
from batchgui.session.exchange import export_batch, import_batch
from batchgui.session.history import forget_batches, parse_age, prune, stored_report
from batchgui.session.recipes import RecipeError
from batchgui.session.units import plural, visible
from batchgui.store import BatchLock, StoreError


def resume_command(args: argparse.Namespace) -> int:
    setup_logging(log_dir(args.data_dir), quiet=args.quiet)
    store = open_store(args.data_dir)
    try:
        if args.batch_id:
            batch_id = args.batch_id
        else:
            unfinished = store.batch_ids(unfinished_only=True)
            if not unfinished:
                store.close()
                from batchgui.cli.watch import resume_watch, watch_state

                state = watch_state(data_dir(args.data_dir))
                if state == "cut off":  # killed, or a round stopped: it goes on
                    return resume_watch(args)
                hint = "; 'batchgui watch --resume' takes up the last watch" if state else ""
                print(
                    f"batchgui: nothing to resume: every batch has finished{hint}",
                    file=sys.stderr,
                )
                return EXIT_OK
            batch_id = unfinished[0]
        # hold the lock while loading: a live process may still be running it
        with BatchLock(data_dir(args.data_dir), batch_id):
            batch = store.reopen(batch_id)
    except StoreError as exc:
        store.close()
        raise UsageError(str(exc)) from None
    if batch.is_done:
        print(
            f"batchgui: batch {batch_id} has no unfinished tasks; nothing to resume "
            "(see 'batchgui report')",
            file=sys.stderr,
        )
        store.close()
        return EXIT_OK
    if args.cluster is not None or args.path_map:  # somewhere else than it last ran
        cluster = cluster_from(args)
        batch.settings = {**batch.settings, "cluster": cluster.to_json() if cluster else None}
    try:
        spec = load_operations().get(batch.op_name).for_options(batch.options)
        # a program uninstalled since is said now, not as a failure of every task left
        ready_to_run_again(batch, spec, store)
    except KeyError as exc:
        store.close()
        raise UsageError(f"cannot resume batch {batch_id}: {exc.args[0]}") from None
    except (InputError, StoreError, ValueError) as exc:  # InputError is a ValueError
        store.close()
        raise UsageError(f"cannot resume batch {batch_id}: {exc}") from None
    if not args.quiet:
        left = batch.unfinished
        print(
            f"batchgui: resuming batch {batch_id} ({batch.op_name}): {left} of "
            f"{batch.total} tasks left",
            file=sys.stderr,
        )
    return execute_from(
        args, batch, spec, store, report_target(args.report), stop_after=args.stop_after
    )


def history_command(args: argparse.Namespace) -> int:
    try:
        age_s = parse_age(args.prune) if args.prune else None
    except ValueError as exc:
        raise UsageError(f"--prune: {exc}") from None
    store = open_store(args.data_dir)
    try:
        if age_s is not None:
            pruned = prune(store, data_dir(args.data_dir), age_s)
            print(
                f"batchgui: forgot {plural(len(pruned), 'finished batch', 'finished batches')}"
                f" older than {args.prune}",
                file=sys.stderr,
            )
        batches = store.history()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    if args.json:
        print(json.dumps({"batches": batches}, indent=2))
        return EXIT_OK
    if not batches:
        print("no batches yet")
        return EXIT_OK
    print(
        f"{'batch':<13} {'operation':<10} {'status':<10} {'created':<17} "
        f"{'done':>11} {'failed':>6}  output"
    )
    for entry in batches:
        c = entry["counts"]
        done = c["completed"] + c["skipped"]
        created = datetime.fromtimestamp(entry["created_at"]).strftime("%Y-%m-%d %H:%M")
        print(
            f"{entry['batch_id']:<13} {entry['op']:<10} {entry['status']:<10} {created:<17} "
            f"{done:>5}/{c['total']:<5} {c['failed']:>6}  {visible(entry['out'] or '')}"
        )
    return EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    store = open_store(args.data_dir)
    try:
        document = export_batch(store, args.batch_id)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    text = json.dumps(document, indent=2) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with atomic_write(Path(args.file)) as handle:
            handle.write(text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {args.file}: {exc.strerror or exc}") from None
    print(f"batchgui: batch {args.batch_id} exported to {args.file}", file=sys.stderr)
    return EXIT_OK


def import_command(args: argparse.Namespace) -> int:
    try:
        # utf-8-sig: a file saved by an editor that writes a byte-order mark reads too
        document = json.loads(Path(args.file).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{args.file}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{args.file}: not a batchgui export")
    store = open_store(args.data_dir)
    try:
        batch = import_batch(store, document, args.file, load_operations().operations)
    except (RecipeError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    c = batch.counts
    then = []
    if batch.unfinished:
        then.append(f"'batchgui resume {batch.id}' runs the {batch.unfinished} left")
    if c[TaskStatus.FAILED]:
        then.append(f"'batchgui run --retry-failed-from {args.file}' the failed ones")
    print(
        f"batchgui: imported batch {batch.id} ({batch.op_name}, {batch.total} files: "
        f"{c[TaskStatus.COMPLETED]} completed, {c[TaskStatus.FAILED]} failed)"
        + ("; " + "; ".join(then) if then else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def forget_command(args: argparse.Namespace) -> int:
    store = open_store(args.data_dir)
    try:
        forget_batches(store, data_dir(args.data_dir), list(dict.fromkeys(args.batch_ids)))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(
        f"batchgui: forgot {plural(len(set(args.batch_ids)), 'batch', 'batches')}", file=sys.stderr
    )
    return EXIT_OK


def report_command(args: argparse.Namespace) -> int:
    store = open_store(args.data_dir)
    try:
        report, _settings = stored_report(store, args.batch_id)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    if args.csv:
        write_csv(report, sys.stdout)
        return EXIT_OK
    print(json.dumps(report, indent=2))
    return EXIT_OK
