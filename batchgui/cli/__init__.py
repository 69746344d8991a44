"""The command line (the README shows it): argument parsing and dispatch to commands.

    main(argv) ─► parse (bad usage: one line, exit 2) ─► command function ─► exit code

Exit codes: 0 every task completed or skipped; 1 any failed or cancelled;
2 bad usage or input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from batchgui._version import __version__
from batchgui.cli.filters import add_filter_arguments
from batchgui.core.models import Priority
from batchgui.core.operation import MODE_CHOICES
from batchgui.core.outputs import DEFAULT_ON_EXISTS, ON_EXISTS
from batchgui.session.settings import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    ClusterSettings,
    StopMode,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad usage or input: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line and exit 2; `batchgui CMD --help` shows the full usage
        print(f"batchgui: error: {message} (see 'batchgui --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
    return value


def _number(text: str, kind: type) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="batchgui", description="Run one operation over many files.")
    parser.add_argument("--version", action="version", version=f"batchgui {__version__}")
    parser.add_argument("--data-dir", metavar="DIR", help="where batches, settings and logs go")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="run an operation over files and folders")
    add_run_arguments(run)
    watch = commands.add_parser(
        "watch", help="process files as they arrive in folders, until stopped (Ctrl-C)"
    )
    add_run_arguments(watch)
    add_watch_arguments(watch)

    preview = commands.add_parser(
        "preview", help="show which files would be processed, and why others would not"
    )
    preview.add_argument("paths", nargs="+", metavar="PATH")
    preview.add_argument("--json", action="store_true", help="machine-readable output")
    preview.add_argument("--no-dedupe", action="store_true", help="do not look for duplicates")
    preview.add_argument(
        "--op", metavar="NAME", help="also show what this operation's outputs would meet"
    )
    add_set_argument(preview)
    preview.add_argument(
        "--out", metavar="DIR", help="output folder (with --op; default ./batchgui-output)"
    )
    preview.add_argument("--on-exists", choices=ON_EXISTS, default=DEFAULT_ON_EXISTS)
    add_filter_arguments(preview)

    resume = commands.add_parser(
        "resume", help="resume an unfinished batch (the latest if no id is given)"
    )
    resume.add_argument("batch_id", nargs="?", metavar="BATCH_ID")
    resume.add_argument("--report", metavar="FILE", help="write a JSON report ('-': stdout)")
    resume.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_control_arguments(resume)

    history = commands.add_parser("history", help="list batches")
    history.add_argument("--json", action="store_true")
    history.add_argument(
        "--prune",
        metavar="AGE",
        help="first forget finished and cancelled batches that ended more than AGE ago "
        "(30d, 12h, 2w; a bare number is days); unfinished batches are kept",
    )

    recipe = commands.add_parser("recipe", help="saved setups: save, list, show, delete")
    recipe_actions = recipe.add_subparsers(dest="recipe_action", required=True)
    save = recipe_actions.add_parser(
        "save", help="save a setup: the latest batch's (or --from-batch ID), or --file FILE"
    )
    save.add_argument("name", metavar="NAME")
    source = save.add_mutually_exclusive_group()
    source.add_argument("--from-batch", metavar="BATCH_ID", help="a stored batch's setup")
    source.add_argument("--file", metavar="FILE", help="a recipe file to check and keep")
    recipe_actions.add_parser("list", help="the saved recipes")
    show = recipe_actions.add_parser("show", help="print a recipe (TOML)")
    show.add_argument("name", metavar="NAME|FILE")
    delete = recipe_actions.add_parser("delete", help="delete a saved recipe")
    delete.add_argument("name", metavar="NAME")

    export = commands.add_parser(
        "export", help="a stored batch as one file: its recipe, files and outcomes"
    )
    export.add_argument("batch_id", metavar="BATCH_ID")
    export.add_argument("file", metavar="FILE", help="where to write it ('-': stdout)")
    imported = commands.add_parser("import", help="a batch exported elsewhere, stored here")
    imported.add_argument("file", metavar="FILE")

    forget = commands.add_parser("forget", help="delete stored batches from the history")
    forget.add_argument("batch_ids", metavar="BATCH_ID", nargs="+")

    report = commands.add_parser("report", help="export the results of a stored batch")
    report.add_argument("batch_id", metavar="BATCH_ID")
    form = report.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON, schema 1 (the default)")
    form.add_argument("--csv", action="store_true", help="CSV, for a spreadsheet")

    doctor = commands.add_parser("doctor", help="check the database; --repair saves what it can")
    doctor.add_argument(
        "--repair",
        action="store_true",
        help="move a damaged database aside and copy what can be read into a new one",
    )

    gui = commands.add_parser("gui", help="open the window with these files and folders")
    gui.add_argument("paths", nargs="*", metavar="PATH")
    gui.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)

    ops = commands.add_parser("ops", help="list operations and their options")
    ops.add_argument("--json", action="store_true")
    return parser


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """What to run and how: shared by `run` and `watch`."""
    run.add_argument("paths", nargs="*", metavar="PATH", help="files and folders (recursive)")
    what = run.add_mutually_exclusive_group()
    what.add_argument("--op", metavar="NAME", help="operation (see 'batchgui ops')")
    what.add_argument(
        "--exec",
        dest="exec_template",
        metavar="TEMPLATE",
        help="run a command per file: {path} {name} {stem} {ext} {parent} {rel} {out}",
    )
    run.add_argument(
        "--recipe",
        metavar="FILE|NAME",
        help="the whole setup from a recipe (a TOML file, or a name saved with "
        "'batchgui recipe save'); options given here override it",
    )
    run.add_argument("--save-recipe", metavar="NAME", help="also save this run's setup as a recipe")
    run.add_argument(
        "--retry-failed-from",
        metavar="REPORT",
        help="run only the files that failed in this JSON report (and its operation, "
        "unless --op, --exec or --recipe says otherwise)",
    )
    run.add_argument(
        "--out",
        default="batchgui-output",
        metavar="DIR",
        help="output folder (default ./batchgui-output)",
    )
    run.add_argument("--mode", choices=MODE_CHOICES, default="auto")
    run.add_argument(
        "--workers", type=_positive_int, metavar="N", help="tasks at once (default: CPU count)"
    )
    run.add_argument("--priority", default="normal", choices=Priority.choices())
    run.add_argument(
        "--retries",
        type=_non_negative_int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"retries after a failure (default {DEFAULT_RETRIES})",
    )
    run.add_argument(
        "--backoff",
        type=_non_negative_float,
        default=DEFAULT_BACKOFF_S,
        metavar="SECONDS",
        help=f"first retry delay, doubled each time (default {DEFAULT_BACKOFF_S:g})",
    )
    run.add_argument(
        "--timeout", type=_positive_float, metavar="SECONDS", help="per-task time limit"
    )
    run.add_argument(
        "--memory-limit",
        default="4G",
        metavar="SIZE",
        help="address space per process worker (default 4G; 0: no limit)",
    )
    run.add_argument(
        "--rate",
        type=_positive_float,
        metavar="PER_SECOND",
        help="at most this many task starts per second",
    )
    add_set_argument(run)
    run.add_argument(
        "--shell",
        action="store_true",
        help="run --exec through the shell (/bin/sh; cmd on Windows)",
    )
    run.add_argument(
        "--progress-regex",
        metavar="REGEX",
        help="with --exec: a regex finding the percentage in the command's output, e.g. '(\\d+)%%'",
    )
    run.add_argument(
        "--no-dedupe", action="store_true", help="process files with the same content separately"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="re-run files unchanged since an earlier successful run",
    )
    run.add_argument(
        "--on-exists",
        choices=ON_EXISTS,
        default=DEFAULT_ON_EXISTS,
        help="a file batchgui did not make is where an output goes: skip the file (the "
        "default), fail it, rename the output ('a (2).txt.md') or overwrite the file",
    )
    run.add_argument("--report", metavar="FILE", help="write a JSON report ('-': stdout)")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_control_arguments(run)

    add_filter_arguments(run)


def add_watch_arguments(watch: argparse.ArgumentParser) -> None:
    watch.add_argument(
        "--resume",
        action="store_true",
        help="watch again as the last watch did (its folders and setup), catching up on "
        "what arrived meanwhile",
    )
    watch.add_argument(
        "--settle",
        type=_positive_float,
        default=2.0,
        metavar="SECONDS",
        help="a file is taken once its size and time have not changed for this long "
        "(default 2: half-copied files wait)",
    )
    watch.add_argument(
        "--interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="look at the folders at least this often (default 1; events come sooner)",
    )
    watch.add_argument(
        "--on-done",
        metavar="COMMAND",
        help="run after each round of new files: {batch} {report} {completed} {failed}",
    )


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="settings",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="operation option (repeatable)",
    )
    parser.add_argument(
        "--step",
        dest="steps",
        action="append",
        default=[],
        metavar="'[BRANCH:] OP [KEY=VALUE ...] [keep]'",
        help="a chain: each --step runs on what the one before wrote (only the last "
        "step's files are kept, or a step's marked keep); steps under BRANCH: names "
        "make variants of each file, e.g. --step 'small: image max_width=320'",
    )
    parser.add_argument(  # not --name: that filters inputs by a name pattern
        "--output-name",
        dest="settings",
        type=lambda template: ("name", template),
        action="append",
        metavar="TEMPLATE",
        help="output file names, e.g. '{stem}-small.{newext}' (placeholders: {stem} {ext} "
        "{name} {parent} {rel} {n} {date} {hash8} {newext}); the same as --set name=...",
    )


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--allow-sleep",
        action="store_true",
        help="let the computer sleep while the batch works (by default it is kept awake)",
    )
    parser.add_argument(
        "--stop-after",
        type=_positive_int,  # refused before a batch is made, not after
        metavar="N",
        help="pause once N tasks have ended (running ones finish); resume later",
    )
    parser.add_argument(
        "--on-interrupt",
        choices=[mode.value for mode in StopMode],
        default="save",
        help="on Ctrl-C: save (stop now, resumable; the default), drain (finish running "
        "tasks first) or kill (stop and cancel what is left)",
    )


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    cluster = parser.add_argument_group(
        "cluster", "run on a Dask cluster (pip install 'batchgui[cluster]'; see the README)"
    )
    cluster.add_argument(
        "--cluster",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="tcp://host:8786 or tls://host:8786; local or local:N starts N worker "
        "processes here; no ADDRESS: $DASK_SCHEDULER_ADDRESS; 'off' (resume): this computer",
    )
    cluster.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="LOCAL=REMOTE",
        help="a folder the workers see at another path (repeatable)",
    )
    cluster.add_argument("--tls-ca", metavar="FILE", help="the CA for a tls:// scheduler")
    cluster.add_argument("--tls-cert", metavar="FILE", help="this client's TLS certificate")
    cluster.add_argument("--tls-key", metavar="FILE", help="this client's TLS key")


def cluster_from(args: argparse.Namespace) -> ClusterSettings | None:
    """The --cluster options as settings (None: not given, or 'off')."""
    if args.cluster is None or args.cluster.strip().lower() == "off":
        if args.path_map or args.tls_ca or args.tls_cert or args.tls_key:
            raise UsageError("--path-map and --tls-* go with --cluster")
        return None
    from batchgui.core.runners.cluster import PathMap
    from batchgui.session.cluster import ClusterError, address_from

    try:
        address = address_from(args.cluster)
        path_map = tuple(PathMap.parse(args.path_map).specs())
    except (ClusterError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    return ClusterSettings(address, path_map, args.tls_ca, args.tls_cert, args.tls_key)


def _file_names_error(exc: UnicodeError) -> tuple[str | bytes, int]:
    """How what batchgui prints treats a character its stream cannot encode: a file
    name that is not UTF-8 (carried as surrogate escapes) goes out as its own bytes,
    as `ls` and `find` print it; anything else (on Windows, a name outside a
    redirected stream's code page) escaped. Never a UnicodeEncodeError traceback."""
    try:
        return codecs.lookup_error("surrogateescape")(exc)
    except UnicodeError:
        return codecs.lookup_error("backslashreplace")(exc)


codecs.register_error("batchgui-file-names", _file_names_error)


def _print_any_file_name() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent on a replaced stream
        if reconfigure is not None:
            reconfigure(errors="batchgui-file-names")


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # a frozen bundle's workers start here
        import multiprocessing

        multiprocessing.freeze_support()
    _print_any_file_name()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            from batchgui.cli.run import run_command

            return run_command(args)
        if args.command == "watch":
            from batchgui.cli.watch import watch_command

            return watch_command(args)
        if args.command == "preview":
            from batchgui.cli.preview import preview_command

            return preview_command(args)
        if args.command == "recipe":
            from batchgui.cli.recipes import recipe_command

            return recipe_command(args)
        if args.command in ("resume", "history", "report", "forget", "export", "import"):
            from batchgui.cli import batches

            return getattr(batches, f"{args.command}_command")(args)
        if args.command == "ops":
            return _ops(args)
        if args.command == "doctor":
            return _doctor(args)
        return _gui(args)
    except UsageError as exc:
        print(f"batchgui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (`batchgui preview … | head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def _gui(args: argparse.Namespace) -> int:
    from batchgui.logs import setup_logging
    from batchgui.paths import data_dir, log_dir

    setup_logging(log_dir(args.data_dir))
    missing = [p for p in getattr(args, "paths", []) if not os.path.exists(p)]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    from batchgui.gui.display import display_problem

    problem = display_problem()
    if problem:  # Qt would abort the process here, naming the wrong thing
        raise UsageError(
            f"cannot open a window: {problem}; to process files without one, "
            "use 'batchgui run PATH... --op NAME' (see 'batchgui run --help')"
        )
    from batchgui.gui.app import run_gui

    return run_gui(
        getattr(args, "paths", []),
        data_dir(args.data_dir),
        smoke_test=getattr(args, "smoke_test", False),
    )


def _doctor(args: argparse.Namespace) -> int:
    from batchgui.paths import data_dir
    from batchgui.store.db import StoreError, db_path
    from batchgui.store.doctor import check, repair

    path = db_path(data_dir(args.data_dir))
    try:
        problems = check(path)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if not problems:
        print(f"{path}: ok")
        return EXIT_OK
    print(f"{path} is damaged:", file=sys.stderr)
    for problem in problems[:5]:
        print(f"  {problem}", file=sys.stderr)
    if not args.repair:
        print("run 'batchgui doctor --repair' to save what can be read", file=sys.stderr)
        return EXIT_FAILED
    try:
        result = repair(path)
    except (OSError, StoreError) as exc:
        raise UsageError(f"cannot repair {path}: {exc}") from None
    saved = ", ".join(f"{n} {table}" for table, n in result.saved.items())
    print(f"saved {saved} into a new {path}; the damaged file is {result.moved_to}")
    for table, why in result.lost.items():
        print(f"  {table}: the rest could not be read ({why})", file=sys.stderr)
    return EXIT_OK


def _ops(args: argparse.Namespace) -> int:
    from batchgui.operations.registry import load_operations

    registry = load_operations()
    for warning in registry.warnings:
        print(f"batchgui: warning: {warning}", file=sys.stderr)
    specs = sorted(registry.operations.values(), key=lambda s: s.name)
    if args.json:
        print(json.dumps({"operations": [s.describe() for s in specs]}, indent=2))
        return EXIT_OK
    for spec in specs:
        exts = " ".join(sorted(spec.extensions)) or "any file"
        print(f"{spec.name:<10} {spec.title}  [{spec.mode}; {exts}]")
        if spec.description and spec.description != spec.title:
            print(f"{'':<10} {spec.description}")
        for opt in spec.options:
            choices = f" ({'|'.join(map(str, opt.choices))})" if opt.choices else ""
            print(
                f"{'':<10}   --set {opt.name}=<{opt.type.__name__}>{choices}"
                f"  default {opt.default!r}  {opt.help}"
            )
    return EXIT_OK
