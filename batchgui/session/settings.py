"""Everything a run needs, in one object with its defaults, and how it is saved.

    CLI arguments ─┐
    window controls ┼─► RunSettings ─► to_json() ─► stored with the batch
    a stored batch ─┘      ▲                              │
                           └──── from_json() ◄────────────┘ (resume, reports)

The JSON form is versioned (`"version": 1`) and flat, with the key names batches
saved before it existed already used (`workers`, `retries`, `backoff`,
`priority`, `dedupe`, `sources`, `memory_limit`, `on_exists`), so those still
load. It is the shape a saved preset (recipe) will take.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from batchgui.core.outputs import DEFAULT_ON_EXISTS, ON_EXISTS
from batchgui.core.retry import RetryPolicy
from batchgui.core.runners import DEFAULT_MEMORY_LIMIT
from batchgui.scan.filters import Filters, compile_name

SETTINGS_VERSION = 1
DEFAULT_RETRIES = RetryPolicy.max_retries  # the retry defaults live in core/retry.py
DEFAULT_BACKOFF_S = RetryPolicy.base_delay_s
DEFAULT_OUT = "batchgui-output"


class StopMode(StrEnum):
    """What stopping a running batch does with the work in flight."""

    SAVE = "save"  # stop now; running tasks go back to pending (resumable)
    DRAIN = "drain"  # let running tasks finish, start no new ones
    KILL = "kill"  # stop now and cancel everything left


class Ending(StrEnum):
    """How a run ended, when it did not simply finish."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM, or the window closed
    STOP_POINT = "stop point"  # --stop-after, "Pause after this task"
    HALTED = "halted"  # the engine paused it (the disk is full, the cluster is gone)
    STORE_FAILED = "store failed"  # progress could not be saved


@dataclass(frozen=True)
class FilterSettings:
    """The filters as plain values (JSON-able); `build()` makes the scan's Filters."""

    extensions: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None
    newer_than: float | None = None  # POSIX timestamps
    older_than: float | None = None
    name: str | None = None  # a regular expression
    exclude: tuple[str, ...] = ()  # gitignore-style patterns
    exclude_regex: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    hidden: bool = False
    follow_symlinks: bool = False

    def build(self) -> Filters:
        """ValueError with a one-line message for a bad expression or size range."""
        return Filters(
            extensions=self.extensions,
            min_size=self.min_size,
            max_size=self.max_size,
            newer_than=self.newer_than,
            older_than=self.older_than,
            name=compile_name(self.name) if self.name else None,
            exclude=self.exclude,
            exclude_regex=tuple(compile_name(r, "exclude regex") for r in self.exclude_regex),
            exclude_paths=tuple(Path(p) for p in self.exclude_paths),
            hidden=self.hidden,
            follow_symlinks=self.follow_symlinks,
        )

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FilterSettings:
        data = data or {}
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in known:
                values[key] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


@dataclass(frozen=True)
class ClusterSettings:
    """Where a batch runs when it runs on a Dask cluster (session/cluster.py)."""

    address: str  # tcp://host:8786, tls://host:8786, local or local:N
    path_map: tuple[str, ...] = ()  # LOCAL=REMOTE: where the workers see our folders
    tls_ca: str | None = None  # files for a tls:// scheduler (Dask's config works too)
    tls_cert: str | None = None
    tls_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "path_map": list(self.path_map),
            "tls_ca": self.tls_ca,
            "tls_cert": self.tls_cert,
            "tls_key": self.tls_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ClusterSettings | None:
        if not data or not data.get("address"):
            return None
        return cls(
            address=str(data["address"]),
            path_map=tuple(data.get("path_map") or ()),
            tls_ca=data.get("tls_ca"),
            tls_cert=data.get("tls_cert"),
            tls_key=data.get("tls_key"),
        )


@dataclass(frozen=True)
class RunSettings:
    operation: str
    options: dict[str, Any] = field(default_factory=dict)
    mode: str = "auto"
    workers: int | None = None  # None: the CPU count
    priority: str = "normal"
    retries: int = DEFAULT_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S
    timeout_s: float | None = None  # None: the operation's default
    rate_per_s: float | None = None
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT  # bytes; None: no cap
    filters: FilterSettings = field(default_factory=FilterSettings)
    out: str = DEFAULT_OUT
    sources: tuple[str, ...] = ()
    dedupe: bool = True
    force: bool = False
    on_exists: str = DEFAULT_ON_EXISTS
    stop_after: int | None = None
    on_interrupt: StopMode = StopMode.SAVE
    cluster: ClusterSettings | None = None  # None: this computer

    def __post_init__(self) -> None:
        if self.on_exists not in ON_EXISTS:
            raise ValueError(f"on_exists: choose {', '.join(ON_EXISTS)}, not {self.on_exists!r}")
        object.__setattr__(self, "on_interrupt", StopMode(self.on_interrupt))

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.retries, base_delay_s=self.backoff_s)

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 2

    @property
    def engine_mode(self) -> str:
        """The mode the engine is asked for: the cluster's, or the one chosen here."""
        return "cluster" if self.cluster is not None else self.mode

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SETTINGS_VERSION,
            "operation": self.operation,
            "options": {k: _plain(v) for k, v in self.options.items()},
            "mode": self.mode,
            "workers": self.workers,
            "priority": self.priority,
            "retries": self.retries,
            "backoff": self.backoff_s,
            "timeout_s": self.timeout_s,
            "rate_per_s": self.rate_per_s,
            "memory_limit": self.memory_limit,
            "filters": self.filters.to_json(),
            "out": self.out,
            "sources": list(self.sources),
            "dedupe": self.dedupe,
            "force": self.force,
            "on_exists": self.on_exists,
            "stop_after": self.stop_after,
            "on_interrupt": self.on_interrupt.value,
            "cluster": self.cluster.to_json() if self.cluster else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], **fallback: Any) -> RunSettings:
        """Settings saved by this version or an earlier one (which had no version and
        kept the operation, options and output folder beside them: pass those as
        `fallback`). ValueError for a version newer than this batchgui knows."""
        version = data.get("version", 0)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            raise ValueError(
                f"these settings were saved by a newer batchgui (version {version}); "
                "upgrade batchgui to use them"
            )

        def pick(key: str, default: Any = None) -> Any:
            value = data.get(key)
            return fallback.get(key, default) if value is None else value

        operation = pick("operation")
        if not operation:
            raise ValueError("the settings name no operation")
        return cls(
            operation=operation,
            options=dict(pick("options", {})),
            mode=pick("mode", "auto"),
            workers=data.get("workers") or None,
            priority=data.get("priority") or "normal",
            retries=int(data.get("retries", DEFAULT_RETRIES)),
            backoff_s=float(data.get("backoff", DEFAULT_BACKOFF_S)),
            timeout_s=pick("timeout_s"),
            rate_per_s=pick("rate_per_s"),
            memory_limit=data.get("memory_limit", DEFAULT_MEMORY_LIMIT),
            filters=FilterSettings.from_json(data.get("filters")),
            out=str(pick("out", DEFAULT_OUT)),
            sources=tuple(data.get("sources") or ()),
            dedupe=bool(data.get("dedupe", True)),
            force=bool(data.get("force", False)),
            on_exists=data.get("on_exists") or DEFAULT_ON_EXISTS,
            stop_after=data.get("stop_after"),
            on_interrupt=StopMode(data.get("on_interrupt") or StopMode.SAVE),
            cluster=ClusterSettings.from_json(data.get("cluster")),
        )

    @classmethod
    def of_batch(cls, batch: Any) -> RunSettings:
        """The settings a stored batch was started with (any version)."""
        return cls.from_json(
            batch.settings,
            operation=batch.op_name,
            options=batch.options,
            mode=batch.mode,
            out=os.fspath(batch.out_root),
            timeout_s=batch.timeout_s,
            rate_per_s=batch.rate_per_s,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
