"""`chain`: several steps per file, and several variants of one file.

    options["steps"] (JSON text, written by --step, a recipe's [[steps]] or
    [branches.NAME] tables): a list of steps, or {branch name: list of steps}
        step = {"op": NAME, "options": {...}, "keep": false}
    parse_branches ─► every step's operation and options checked (one line:
        "step 2 (image): option format: ...") and each step's input checked
        against what the step before writes (an image step after a text step
        is refused before anything runs)
    run_chain(src) ─► per branch: step 1 on the file, step 2 on each file
        step 1 wrote, ... ; steps before the last write into a scratch folder
        inside the output folder (removed when the file is done; its name
        carries the temporary mark, so a resume sweeps what a kill left)
        unless marked "keep"; the last step writes into the output folder
        ─► the outputs; ctx.data["steps"]: what each step made, for the report
    a failing step fails the task with its number and operation in front of
        the message, keeping its kind (permanent, corrupt, too large, ...)

The spec is specialised per batch (`OperationSpec.for_options`): incremental
only if every step is, the process mode if any step prefers it, the first
step's extensions, planned outputs composed step by step. An aggregate last
step (checksum) sees the files the step before it made, which are kept.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgui.core.errors import OperationError, PermanentError
from batchgui.core.operation import (
    TEMP_MARK,
    OperationSpec,
    Option,
    TaskContext,
    invoke,
    make_folder,
    operation,
)
from batchgui.core.outputs import SCRATCH_MARK
from batchgui.core.platform.commands import join as join_words
from batchgui.core.platform.commands import split as split_words

CHAIN = "chain"


@dataclass(frozen=True)
class Step:
    spec: OperationSpec
    options: dict[str, Any]
    keep: bool = False

    @property
    def label(self) -> str:
        return self.spec.name


@functools.cache
def _operations() -> dict[str, OperationSpec]:
    from batchgui.operations.registry import load_operations

    return {n: s for n, s in load_operations().operations.items() if n != CHAIN}


def parse_branches(text: str) -> dict[str, list[Step]]:
    """The branches (one named "" for a plain chain) of a steps option; ValueError."""
    try:
        data = json.loads(text) if text else []
    except ValueError as exc:
        raise ValueError(f"steps: not JSON ({exc})") from None
    raw = data if isinstance(data, dict) else {"": data}
    if not raw:
        raise ValueError("steps: a chain needs at least one step")
    branches = {}
    for name, steps in raw.items():
        if not isinstance(steps, list) or not steps:
            raise ValueError(f"branch {name!r}: a list of steps, at least one")
        branches[str(name)] = _steps(steps, f"branch {name}: " if name else "")
    return branches


def _steps(raw: list[Any], where: str) -> list[Step]:
    operations = _operations()
    steps: list[Step] = []
    sample: Path | None = None  # a file like the ones the step before writes
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or "op" not in entry:
            raise ValueError(f'{where}step {number}: give its op, e.g. {{"op": "image"}}')
        name = str(entry["op"])
        if name not in operations:
            raise ValueError(
                f"{where}step {number}: unknown operation {name!r} "
                f"(operations: {', '.join(sorted(operations))})"
            )
        spec = operations[name]
        try:
            options = spec.resolve_options(dict(entry.get("options") or {}))
        except ValueError as exc:
            raise ValueError(f"{where}step {number} ({name}): {exc}") from None
        if not spec.incremental and number < len(raw):
            raise ValueError(
                f"{where}step {number} ({name}): its results are not files the next "
                "step can take; it can only be the last step"
            )
        if spec.finalize is not None and number < len(raw):
            raise ValueError(f"{where}step {number} ({name}): a batch-wide step must be last")
        if sample is not None and spec.extensions and sample.suffix.lower() not in spec.extensions:
            raise ValueError(
                f"{where}step {number} ({name}): cannot take the "
                f"{sample.suffix or 'extensionless'} files step {number - 1} "
                f"({steps[-1].label}) writes"
            )
        step = Step(spec, options, bool(entry.get("keep", False)))
        sample = _written_like(step, sample)
        steps.append(step)
    return steps


def _written_like(step: Step, sample: Path | None) -> Path | None:
    """A file like those this step writes (None: not known), from a sample input."""
    if sample is None:
        first = sorted(step.spec.extensions)[0] if step.spec.extensions else ".bin"
        sample = Path(f"example{first}")
    if step.spec.planned_outputs is None:
        return None
    made = step.spec.planned_outputs(sample, Path("out"), step.options)
    files = [p for p in made if "*" not in p.name and p.suffix != ".assets"]
    return files[0] if files else None


def steps_from_specs(specs: list[str]) -> str:
    """Steps written as `[BRANCH:] OP [KEY=VALUE ...] [keep]` (--step, the window's
    step list) as the steps option (JSON); ValueError naming the bad one."""
    branches: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        try:
            words = split_words(spec)
        except ValueError as exc:
            raise ValueError(f"{spec!r}: {exc}") from None
        branch = ""
        if words and words[0].endswith(":"):
            branch, words = words[0][:-1], words[1:]
        if not words:
            raise ValueError(f"{spec!r}: name an operation")
        step: dict[str, Any] = {"op": words[0], "options": {}}
        for word in words[1:]:
            if word == "keep":
                step["keep"] = True
            elif "=" in word:
                key, value = word.split("=", 1)
                step["options"][key] = value
            else:
                raise ValueError(f"{spec!r}: {word!r} is not KEY=VALUE or keep")
        branches.setdefault(branch, []).append(step)
    if "" in branches and len(branches) > 1:
        raise ValueError("give every step a branch, or none")
    return json.dumps(branches.get("", branches))


def specs_from_steps(text: str) -> list[str]:
    """The steps option back as `[BRANCH:] OP KEY=VALUE ...` lines (the window)."""
    data = json.loads(text) if text else []
    raw = data if isinstance(data, dict) else {"": data}
    lines = []
    for branch, steps in raw.items():
        for step in steps:
            words = [f"{branch}:"] if branch else []
            words.append(str(step.get("op", "")))
            words += [f"{k}={v}" for k, v in (step.get("options") or {}).items()]
            if step.get("keep"):
                words.append("keep")
            lines.append(join_words(words))
    return lines


# --- running ------------------------------------------------------------------------
def run_chain(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """Every branch's steps on this file; the last steps' outputs (and kept ones)."""
    branches = parse_branches(options["steps"])
    outputs: list[Path] = []
    made: dict[str, list[list[str]]] = {}
    scratch = out_dir / f"{SCRATCH_MARK}{os.getpid()}-{ctx.seq}"
    try:
        for name, steps in branches.items():
            inputs = [src]
            made[name] = []
            for number, step in enumerate(steps, start=1):
                last = number == len(steps)
                keep = last or step.keep or (number == len(steps) - 1 and _aggregate(steps))
                target = out_dir if keep else scratch / (name or "chain") / str(number)
                produced: list[Path] = []
                for item in inputs:
                    step_ctx = ctx.fresh()
                    try:
                        result, data = invoke(step.spec, item, target, step.options, step_ctx)
                    except Exception as exc:
                        raise _named(exc, number, step.label, name) from None
                    produced.extend(result)
                    if step.spec.finalize is not None:  # an aggregate step: what it saw
                        ctx.data.setdefault("aggregate", []).append([os.fsdecode(item), data])
                made[name].append([os.fsdecode(p) for p in produced])
                if keep:
                    outputs.extend(produced)
                inputs = [p for p in produced if p.is_file()]
                if not last and not inputs:
                    raise OperationError(
                        f"{_where(name)}step {number} ({step.label}) made no file for the next step"
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ctx.data["steps"] = made
    return outputs


def _aggregate(steps: list[Step]) -> bool:
    return steps[-1].spec.finalize is not None


def _where(branch: str) -> str:
    return f"branch {branch}: " if branch else ""


def _named(exc: Exception, number: int, label: str, branch: str) -> BaseException:
    """The step's error with its number and operation in front, of the same kind."""
    prefix = f"{_where(branch)}step {number} ({label}): "
    if isinstance(exc, PermanentError):
        return PermanentError(prefix + str(exc), exc.kind)
    if isinstance(exc, OperationError):
        return OperationError(prefix + str(exc), exc.data)
    if isinstance(exc, OSError) and exc.errno is not None:
        return OSError(exc.errno, prefix + (exc.strerror or str(exc)), exc.filename)
    if isinstance(exc, MemoryError | InterruptedError | RecursionError):
        return exc  # its kind is its type
    text = str(exc).strip()
    name = type(exc).__name__
    return OperationError(prefix + (f"{name}: {text}" if text else name))


def _check(options: dict[str, Any]) -> None:
    parse_branches(options["steps"])


# --- the spec, per batch --------------------------------------------------------------
def specialise(base: OperationSpec, options: dict[str, Any]) -> OperationSpec:
    branches = parse_branches(options["steps"])
    steps = [step for chain in branches.values() for step in chain]
    firsts = [chain[0].spec for chain in branches.values()]
    extensions = (
        frozenset.intersection(*(s.extensions for s in firsts))
        if all(s.extensions for s in firsts)
        else frozenset()
    )
    aggregate = [chain[-1] for chain in branches.values() if chain[-1].spec.finalize]
    finalize = None
    planned_batch = None
    if aggregate:
        last = aggregate[0]
        finalize = functools.partial(_finalize, last.spec, last.options)
        if last.spec.planned_batch_outputs is not None:
            planned_batch = functools.partial(_planned_batch, last.spec, last.options)
    return dataclasses.replace(
        base,
        extensions=extensions,
        mode="process" if any(s.spec.mode == "process" for s in steps) else base.mode,
        incremental=all(s.spec.incremental for s in steps),
        planned_outputs=functools.partial(_planned, branches),
        finalize=finalize,
        planned_batch_outputs=planned_batch,
        default_timeout_s=_total_timeout(steps),
        preflight=(
            functools.partial(_preflight, steps) if any(s.spec.preflight for s in steps) else None
        ),
    )


def _preflight(steps: list[Step], options: dict[str, Any]) -> None:
    """Each step's check of this computer (an `exec` step's program is installed)."""
    for number, step in enumerate(steps, start=1):
        if step.spec.preflight is not None:
            try:
                step.spec.preflight(step.options)
            except ValueError as exc:
                raise ValueError(f"step {number} ({step.label}): {exc}") from None


def _total_timeout(steps: list[Step]) -> float | None:
    limits = [s.spec.default_timeout_s for s in steps]
    return None if any(t is None for t in limits) else sum(t for t in limits if t)


def _planned(
    branches: dict[str, list[Step]], src: Path, out_dir: Path, options: dict[str, Any]
) -> list[Path]:
    planned: list[Path] = []
    for steps in branches.values():
        inputs = [src]
        for number, step in enumerate(steps, start=1):
            last = number == len(steps)
            keep = last or step.keep or (number == len(steps) - 1 and _aggregate(steps))
            target = out_dir if keep else out_dir / f"{TEMP_MARK}plan" / str(number)
            if step.spec.planned_outputs is None:
                return planned  # unknown from here on
            made = [p for i in inputs for p in step.spec.planned_outputs(i, target, step.options)]
            if keep:
                planned.extend(made)
            inputs = [p for p in made if "*" not in p.name]
    return planned


def _finalize(
    spec: OperationSpec,
    step_options: dict[str, Any],
    entries: list[tuple[Path, dict[str, Any]]],
    out_root: Path,
    base: Path,
    options: dict[str, Any],
) -> list[Path]:
    """The aggregate last step over the files the step before it made."""
    seen = [
        (Path(path), data) for _src, chain in entries for path, data in chain.get("aggregate", [])
    ]
    assert spec.finalize is not None
    return list(spec.finalize(seen, out_root, out_root, step_options))


def _planned_batch(
    spec: OperationSpec, step_options: dict[str, Any], out_root: Path, options: dict[str, Any]
) -> list[Path]:
    assert spec.planned_batch_outputs is not None
    return list(spec.planned_batch_outputs(out_root, step_options))


@operation(
    CHAIN,
    "Several steps per file",
    mode="thread",
    options=[
        Option(
            "steps",
            str,
            "",
            'the steps, as JSON: [{"op": "image", "options": {"format": "webp"}}, '
            '{"op": "checksum"}] (or {"branch": [...], ...} for variants)',
        )
    ],
    validate=lambda options: _check(options),
    specialise=specialise,
)
def chain(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """Run several operations one after the other on each file (or several variants)."""
    make_folder(out_dir)
    return run_chain(src, out_dir, options, ctx)
