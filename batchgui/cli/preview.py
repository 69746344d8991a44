"""`batchgui preview`: which files a run would process, and why each other file would not.

paths + filters ─► scan + duplicates (no operation runs, nothing is written)
    with --op: the run's own preparation (scan/prepare.py): outputs that would
    land on a source (exit 2, as `run` would), `name clash` and `exists`
                ─► text: included files, totals, duplicate groups, left-out
                   counts by reason with examples; or --json (reasons: ARCHITECTURE.md)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict

from batchgui.cli import EXIT_OK, UsageError
from batchgui.cli.filters import filters_from
from batchgui.operations.registry import find_operation
from batchgui.paths import data_dir
from batchgui.scan.duplicates import Duplicates
from batchgui.scan.prepare import find_files, prepare
from batchgui.scan.walk import Entry, InputError, absolute
from batchgui.session import units

_EXAMPLES = 3


def preview_command(args: argparse.Namespace) -> int:
    skipped: dict = {}
    if args.steps:  # a chain, as run makes it
        from batchgui.cli.run import steps_option

        if args.op is not None:
            raise UsageError("--step makes a chain: leave out --op")
        args.op = "chain"
        args.settings = [*args.settings, ("steps", steps_option(args.steps))]
    try:
        filters = filters_from(args)
        if args.op:
            entries, duplicates, skipped = _with_operation(args, filters)
        else:
            if args.settings or args.out:
                raise UsageError("--set and --out go with --op")
            entries, duplicates = find_files(args.paths, filters, dedupe=not args.no_dedupe)
    except (ValueError, InputError) as exc:
        raise UsageError(str(exc)) from None
    dup_of = duplicates.duplicate_of
    files = [_row(e, dup_of, skipped) for e in entries]
    included = [f for f in files if f["included"]]
    left_out = Counter(f["reason"] for f in files if not f["included"])
    totals = {
        "files": len([e for e in entries if not e.is_dir]),
        "included": len(included),
        "bytes": sum(f["size"] for f in included),
        "duplicates": len(dup_of),
        "duplicate_groups": len(duplicates.groups()),
        "excluded": dict(sorted(left_out.items())),
    }
    if args.json:
        # dumps, not dump: only a one-shot dumps without indent uses the C encoder
        # (json.dump streams through the Python one: 8x slower on 20,000 rows)
        sys.stdout.write(json.dumps({"files": files, "totals": totals}) + "\n")
        return EXIT_OK
    _print_text(entries, files, totals, duplicates.groups())
    return EXIT_OK


def _with_operation(args: argparse.Namespace, filters) -> tuple[list[Entry], Duplicates, dict]:
    """Prepare as `run` would, without running: what each file's outputs would meet."""
    from batchgui.store import Store, StoreError  # only here: the store is slow to import
    from batchgui.store.db import db_path

    try:
        spec = find_operation(args.op)
        options = spec.resolve_options(dict(args.settings))
        spec = spec.for_options(options)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    out = absolute(args.out or "batchgui-output")
    store = None
    try:
        if db_path(data_dir(args.data_dir)).exists():  # what earlier runs made is ours
            store = Store(data_dir(args.data_dir))
        prepared = prepare(
            args.paths,
            filters,
            out,
            spec=spec,
            options=options,
            on_exists=args.on_exists,
            dedupe=not args.no_dedupe,
            made=store,
        )
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if store is not None:
            store.close()
    skipped = {
        t.path: (t.reason, t.error)
        for t in prepared.plan.tasks
        if t.reason in ("exists", "name clash") or t.error_kind is not None
    }
    return prepared.entries, prepared.duplicates, skipped


def _row(entry: Entry, dup_of: dict, skipped: dict) -> dict:
    original = dup_of.get(entry.path)
    reason = "duplicate" if original is not None and entry.included else entry.reason
    detail = entry.detail
    if entry.path in skipped and reason is None:
        reason, detail = skipped[entry.path]
        reason = reason or "exists"  # --on-exists fail: it would fail for that reason
    row = {
        "path": os.fsdecode(entry.path),
        "size": entry.size,
        "included": reason is None,
        "reason": reason,
        "duplicate_of": os.fsdecode(original) if original is not None else None,
    }
    if entry.is_dir:
        row["folder"] = True
    if detail:
        row["detail"] = detail
    return row


def _print_text(entries: list[Entry], files: list[dict], totals: dict, groups: dict) -> None:
    out = sys.stdout
    for row in files:
        if row["included"]:
            print(row["path"], file=out)
    print(f"\n{totals['included']} files to process, {units.size(totals['bytes'])}", file=out)
    if groups:
        print(
            f"{totals['duplicates']} duplicates in {len(groups)} groups, done once and copied:",
            file=out,
        )
        for original, copies in list(groups.items())[:10]:
            print(f"  {os.fsdecode(original)}", file=out)
            for copy in copies:
                print(f"    = {os.fsdecode(copy)}", file=out)
        if len(groups) > 10:
            print(f"  … and {len(groups) - 10} more groups (see --json)", file=out)
    examples: dict[str, list[dict]] = defaultdict(list)
    for row in files:
        if not row["included"] and row["reason"] != "duplicate":
            examples[row["reason"]].append(row)
    if examples:
        print("Left out:", file=out)
        for reason, rows in sorted(examples.items(), key=lambda kv: -len(kv[1])):
            sample = rows[:_EXAMPLES]
            more = f", … {len(rows) - _EXAMPLES} more" if len(rows) > _EXAMPLES else ""
            details = {row.get("detail") for row in sample}
            if len(details) == 1 and None not in details:  # said once, not for each
                names = ", ".join(_name(row) for row in sample)
                shown = f"{units.visible(str(details.pop()))}: {names}"
            else:
                shown = ", ".join(_label(row) for row in sample)
            print(f"  {reason}: {len(rows)} ({shown}{more})", file=out)


def _name(row: dict) -> str:
    return units.visible(os.path.basename(row["path"]) + ("/" if row.get("folder") else ""))


def _label(row: dict) -> str:
    detail = row.get("detail")
    return f"{_name(row)}: {units.visible(detail)}" if detail else _name(row)
