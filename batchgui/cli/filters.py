"""The filter options shared by `run` and `preview` (docs/ARCHITECTURE.md: reasons and kinds)."""

from __future__ import annotations

import argparse

from batchgui.scan.filters import Filters, parse_size, parse_when
from batchgui.session import FilterSettings


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument(
        "--ext",
        metavar=".pdf,.docx",
        action="append",
        default=[],
        help="only these extensions (comma-separated, repeatable; .tar.gz works)",
    )
    group.add_argument("--min-size", metavar="SIZE", help="at least this size (10K, 1.5M, 2G)")
    group.add_argument("--max-size", metavar="SIZE", help="at most this size")
    group.add_argument(
        "--newer-than",
        metavar="DATE",
        help="modified at or after DATE (2024-05-01, or an age: 7d, 12h, 2w)",
    )
    group.add_argument("--older-than", metavar="DATE", help="modified before DATE")
    group.add_argument("--name", metavar="REGEX", help="file names matching this expression")
    group.add_argument(
        "--exclude",
        metavar="GLOB",
        action="append",
        default=[],
        help="leave out paths matching a gitignore-style pattern (repeatable)",
    )
    group.add_argument(
        "--exclude-regex",
        metavar="REGEX",
        action="append",
        default=[],
        help="leave out paths (below the folder given, '/' between folders) where this "
        "regular expression is found (repeatable)",
    )
    group.add_argument(
        "--exclude-path",
        metavar="PATH",
        action="append",
        default=[],
        help="leave out this file or folder (repeatable)",
    )
    group.add_argument("--hidden", action="store_true", help="include hidden files and folders")
    group.add_argument(
        "--follow-symlinks", action="store_true", help="follow symbolic links (loops are detected)"
    )


def filter_settings_from(args: argparse.Namespace) -> FilterSettings:
    """Raises ValueError with a one-line message for a bad value."""
    extensions = [e for value in args.ext for e in value.split(",") if e.strip()]
    return FilterSettings(
        extensions=tuple(extensions),
        min_size=parse_size(args.min_size) if args.min_size else None,
        max_size=parse_size(args.max_size) if args.max_size else None,
        newer_than=parse_when(args.newer_than) if args.newer_than else None,
        older_than=parse_when(args.older_than) if args.older_than else None,
        name=args.name or None,
        exclude=tuple(args.exclude),
        exclude_regex=tuple(args.exclude_regex),
        exclude_paths=tuple(args.exclude_path),
        hidden=args.hidden,
        follow_symlinks=args.follow_symlinks,
    )


def filters_from(args: argparse.Namespace) -> Filters:
    """The scan's Filters; ValueError with a one-line message for a bad value."""
    return filter_settings_from(args).build()
