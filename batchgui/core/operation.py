"""The plugin API: how an operation is described, called and writes its outputs.

    @operation(name="upper", extensions={".txt"}, mode="process",
               options=[Option("suffix", str, ".up")])
    def upper(src, out_dir, options[, ctx]) -> list[Path]: ...

`operation` attaches an `OperationSpec` to the function and returns the
function unchanged, so it still pickles by reference into process workers.
The engine calls `invoke(spec, src, out_dir, options, ctx)` in whatever
worker the mode picks; it creates `out_dir`, passes a `TaskContext` only to
functions that take a fourth argument, and returns `(outputs, ctx.data)`.
Option values arrive already parsed to their declared types.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgui.core.naming import check_template, naming_for
from batchgui.core.naming import render as render_name
from batchgui.core.outputs import TEMP_MARK as TEMP_MARK  # re-exported: the plugin API
from batchgui.core.outputs import (
    OutputRefused,
    WriteGuard,
    is_inside,
    reset_guard,
    set_guard,
)
from batchgui.core.outputs import atomic_write as atomic_write
from batchgui.core.outputs import check_inside as check_inside
from batchgui.core.outputs import make_folder as make_folder
from batchgui.core.platform.guardian import guardian

MODES = ("async", "thread", "process")  # how an operation runs (core/runners/pool.py)
MODE_CHOICES = ("auto", *MODES)  # what a user picks: auto is the operation's own mode


@dataclass(frozen=True)
class Option:
    """One declared option: the CLI's `--set` and the window's form both come from it."""

    name: str
    type: type = str  # str, int, float, bool or Path
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()

    def parse(self, raw: Any) -> Any:
        """Turn a `--set` string (or a form value) into this option's type; ValueError if bad."""
        if self.type is bool and isinstance(raw, str):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                value: Any = True
            elif low in ("0", "false", "no", "off"):
                value = False
            else:
                raise ValueError(f"option {self.name}: expected true or false, got {raw!r}")
        else:
            try:
                value = self.type(raw)
            except (TypeError, ValueError):
                raise ValueError(
                    f"option {self.name}: expected {self.type.__name__}, got {raw!r}"
                ) from None
        if self.choices and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ValueError(f"option {self.name}: {raw!r} is not one of {allowed}")
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "help": self.help,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class OperationSpec:
    name: str
    func: Callable[..., Any]
    title: str = ""
    description: str = ""
    extensions: frozenset[str] = frozenset()  # empty: any file
    mode: str = "thread"  # the preferred execution mode
    options: tuple[Option, ...] = ()
    # Called once after the batch, off the event loop, with the completed tasks'
    # (path, data) pairs; returns aggregate outputs (the checksum manifest).
    finalize: Callable[..., list[Path]] | None = None
    # Checks options (and anything else) before a batch starts; raises ValueError.
    validate: Callable[[dict[str, Any]], None] | None = None
    # Checks this computer before a batch starts on it (not on a cluster, whose
    # workers may differ): a program is installed. Raises ValueError, one line.
    preflight: Callable[[dict[str, Any]], None] | None = None
    # False: the engine does not create each task's out_dir (the operation
    # writes no per-file outputs, or makes the folder itself when it needs it)
    per_file_outputs: bool = True
    # False: the operation's effects are not its returned outputs (a command), so
    # batchgui can neither tell whether they still exist (never skipped as
    # unchanged) nor copy them to a file with the same content (never deduplicated)
    incremental: bool = True
    # The outputs a file will get, known before it runs: (src, out_dir, options)
    # -> paths. Lets the preview find outputs that would land on a source, on an
    # existing file or on another file's output. None: not known in advance.
    planned_outputs: Callable[[Path, Path, dict[str, Any]], list[Path]] | None = None
    # The same for the batch's aggregate outputs: (out_root, options) -> paths
    planned_batch_outputs: Callable[[Path, dict[str, Any]], list[Path]] | None = None
    # the per-task time limit when the user sets none (parsers can hang on bad files)
    default_timeout_s: float | None = None
    is_async: bool = False
    takes_context: bool = False
    # (the spec, the batch's options) -> the spec for that batch: what an operation
    # built of others (a chain) is depends on its options. None: always itself.
    specialise: Callable[[OperationSpec, dict[str, Any]], OperationSpec] | None = None

    def for_options(self, options: dict[str, Any]) -> OperationSpec:
        """This operation as it runs with these options (ValueError if they cannot)."""
        return self if self.specialise is None else self.specialise(self, options)

    def resolve_options(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Declared defaults, overridden by `raw` parsed to their types; ValueError if bad."""
        declared = {opt.name: opt for opt in self.options}
        if not declared and self.validate is None:
            # a plugin that declares no options gets --set values as given (strings)
            return {str(key): value for key, value in raw.items()}
        unknown = sorted(set(raw) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise ValueError(f"{self.name} has no option {unknown[0]!r} (options: {known})")
        resolved = {opt.name: opt.default for opt in self.options}
        resolved.update({key: declared[key].parse(value) for key, value in raw.items()})
        if NAME_OPTION in declared:
            check_template(str(resolved[NAME_OPTION]))
        if self.validate is not None:
            self.validate(resolved)
        return resolved

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "extensions": sorted(self.extensions),
            "mode": self.mode,
            "options": [opt.describe() for opt in self.options],
        }


NAME_OPTION = "name"


def name_option(default: str) -> Option:
    """The `name` option an operation declares to let users name its outputs
    (`--name TEMPLATE`; core/naming.py lists the placeholders)."""
    return Option(
        NAME_OPTION,
        str,
        default,
        "output file name: {stem} {ext} {name} {parent} {rel} {n} {date} {hash8} {newext}",
    )


def output_name(options: dict[str, Any], src: Path, newext: str) -> str:
    """The output name the `name` option's template gives this file (NameRefused if
    it cannot be a file name)."""
    return render_name(str(options[NAME_OPTION]), src, newext)


def operation(
    name: str,
    title: str = "",
    *,
    extensions: Iterable[str] | None = None,
    mode: str | None = None,
    options: Iterable[Option] = (),
    description: str = "",
    finalize: Callable[..., list[Path]] | None = None,
    validate: Callable[[dict[str, Any]], None] | None = None,
    preflight: Callable[[dict[str, Any]], None] | None = None,
    per_file_outputs: bool = True,
    incremental: bool = True,
    default_timeout_s: float | None = None,
    planned_outputs: Callable[[Path, Path, dict[str, Any]], list[Path]] | None = None,
    planned_batch_outputs: Callable[[Path, dict[str, Any]], list[Path]] | None = None,
    specialise: Callable[[OperationSpec, dict[str, Any]], OperationSpec] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Describe a module-level function as an operation (ARCHITECTURE.md: plugin contract)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        is_async = inspect.iscoroutinefunction(func)
        chosen = mode or ("async" if is_async else "thread")
        if chosen not in MODES:
            raise ValueError(f"operation {name}: mode must be one of {', '.join(MODES)}")
        params = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        func.__batchgui_operation__ = OperationSpec(  # type: ignore[attr-defined]
            name=name,
            func=func,
            title=title or name,
            description=description or (inspect.getdoc(func) or "").split("\n")[0],
            extensions=frozenset(
                e.lower() if e.startswith(".") else f".{e.lower()}" for e in (extensions or ())
            ),
            mode=chosen,
            options=tuple(options),
            finalize=finalize,
            validate=validate,
            preflight=preflight,
            per_file_outputs=per_file_outputs,
            incremental=incremental,
            default_timeout_s=default_timeout_s,
            planned_outputs=planned_outputs,
            planned_batch_outputs=planned_batch_outputs,
            is_async=is_async,
            takes_context=len(params) >= 4,
            specialise=specialise,
        )
        return func

    return decorate


def spec_of(func: Callable[..., Any]) -> OperationSpec:
    spec = getattr(func, "__batchgui_operation__", None)
    if not isinstance(spec, OperationSpec):
        raise TypeError(f"{func!r} is not decorated with @batchgui.operation")
    return spec


_CHECKPOINT_POLL_S = 0.05


class Flag:
    """An on/off switch that threads set, clear and look at (`threading.Event`'s
    set/clear/is_set, without its Condition and lock: nothing waits on a task's
    flags, they are only looked at). Two Events made per task were a quarter of
    the engine's own time per no-op task."""

    __slots__ = ("_on",)

    def __init__(self, on: bool = False) -> None:
        self._on = on

    def set(self) -> None:
        self._on = True

    def clear(self) -> None:
        self._on = False

    def is_set(self) -> bool:
        return self._on


class TaskContext:
    """What an operation may use while it runs (the optional fourth argument).

    `root` is the file or folder the user gave that this source came from.
    `cancelled` turns true when the user cancels the task or it times out;
    long-running operations should check it and return or raise. `progress`
    reports a fraction in [0, 1]. `data` carries small values back with the
    result (the checksum operation puts the digest there). `child_started`
    tells the engine about a child process group so it can be frozen or
    killed with the task. `await checkpoint()` is where an async operation
    waits while its batch is paused.
    """

    def __init__(
        self,
        cancel_event: threading.Event | Flag | None = None,
        on_progress: Callable[[float], None] | None = None,
        on_child: Callable[[int | None], None] | None = None,
        root: Path | None = None,
        thawed: threading.Event | Flag | None = None,
        guard: WriteGuard | None = None,
        batch_id: str | None = None,
        seq: int = 0,
    ) -> None:
        self.seq = seq  # the task's 1-based position in its batch ({n} in output names)
        self.guard = guard  # where this task may write (atomic_write asks it)
        self.batch_id = batch_id  # commands carry it (core/platform/guardian.py)
        self._child: int | None = None
        self._cancel_event = cancel_event or Flag()
        self._thawed = thawed
        self._on_progress = on_progress
        self._on_child = on_child
        self._last_progress = -1.0
        self.root = root
        self.data: dict[str, Any] = {}

    def fresh(self) -> TaskContext:
        """The same task's context (cancel flag, progress, children, writes) with
        empty data: one step of an operation built of others."""
        return TaskContext(
            self._cancel_event,
            self._on_progress,
            self._on_child,
            root=self.root,
            thawed=self._thawed,
            guard=self.guard,
            batch_id=self.batch_id,
            seq=self.seq,
        )

    @property
    def cancelled(self) -> bool:
        return self._cancel_event.is_set()

    def progress(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        # forward whole percents only: an operation may call this per buffer
        if self._on_progress is not None and (
            fraction - self._last_progress >= 0.01 or fraction == 1.0 > self._last_progress
        ):
            self._last_progress = fraction
            self._on_progress(fraction)

    def child_started(self, pgid: int | None) -> None:
        """A child process group started (or, with None, the last one ended): the
        engine can freeze and kill it, and it never outlives batchgui."""
        if pgid:
            guardian().watch(pgid)
        elif self._child:
            guardian().forget(self._child)
        self._child = pgid
        if self._on_child is not None:
            self._on_child(pgid)

    @property
    def paused(self) -> bool:
        return self._thawed is not None and not self._thawed.is_set()

    async def checkpoint(self) -> None:
        """Return at once, or when the batch resumes (or the task is cancelled)."""
        import asyncio  # here: importing the plugin API need not load asyncio (start-up)

        while self.paused and not self.cancelled:
            await asyncio.sleep(_CHECKPOINT_POLL_S)


def invoke(
    spec: OperationSpec, src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> tuple[list[Path], dict[str, Any]]:
    """Run one operation call to the end in this thread (an async one gets its own loop)."""
    token = set_guard(ctx.guard)
    try:
        if spec.per_file_outputs:
            make_folder(out_dir)
        args = (src, out_dir, options, ctx) if spec.takes_context else (src, out_dir, options)
        with naming_for(ctx.root, ctx.seq):
            result = spec.func(*args)
            if inspect.isawaitable(result):
                import asyncio  # as in checkpoint

                result = asyncio.run(_await(result))
        return _written(result, ctx.guard), ctx.data
    finally:
        reset_guard(token)


async def invoke_async(
    spec: OperationSpec, src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> tuple[list[Path], dict[str, Any]]:
    """Await an async operation on the running loop (async mode)."""
    # mkdir is one cheap syscall; async mode is for operations that do their
    # heavy work elsewhere (in child processes), so it stays on the loop.
    token = set_guard(ctx.guard)
    try:
        if spec.per_file_outputs:
            make_folder(out_dir)
        args = (src, out_dir, options, ctx) if spec.takes_context else (src, out_dir, options)
        with naming_for(ctx.root, ctx.seq):
            result = await spec.func(*args)
        return _written(result, ctx.guard), ctx.data
    finally:
        reset_guard(token)


def _written(result: Any, guard: WriteGuard | None) -> list[Path]:
    """The outputs as written: a name changed by --on-exists rename is reported as such."""
    outputs = _as_paths(result)
    if guard is None or not outputs:
        return outputs
    if guard.renamed:
        outputs = [guard.actual(p) for p in outputs]
    for output in outputs:
        real = os.path.realpath(output)
        if not is_inside(real, guard.out_root):
            raise OutputRefused(
                f"the operation wrote outside the output folder {guard.out_root}: {output}"
            )
    return outputs


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _as_paths(result: Any) -> list[Path]:
    if result is None:
        return []
    if isinstance(result, (str, os.PathLike)):
        return [Path(result)]
    return [Path(p) for p in result]
