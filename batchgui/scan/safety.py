"""Before a batch runs: every output it plans is checked against the sources, the
other tasks' outputs and the files already in the output folder.

    planned tasks ─► refuse_unsafe_output_folder: the output folder is not an
        input folder, not a file (compared by file identity, not by text)
    ─► claim_outputs (every task): each task's planned outputs (the operation's
        planner; a folder it claims, like `a.docx.assets`, holds everything below)
        - a planned output that is a source: refused before anything runs
        - two tasks claiming one output: a file given directly moves under a
          folder named after its own folder (`run x/a.txt y/a.txt` -> out/a.txt.md
          and out/y/a.txt.md); any other clash leaves the later task out, reason
          `name clash`, never overwriting
    ─► (the incremental check skips unchanged files)
    ─► check_existing (tasks still to run): an existing file where an output
        goes that batchgui made for this very source before (the store says so
        and its content is unchanged) may be replaced: it goes into
        `task.replaceable`. Any other existing file is handled as --on-exists
        says: skip (reason `exists`, the default), fail, rename, overwrite.

At run time every write is checked again (core/outputs.py), so a file that
appears meanwhile is not clobbered either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from batchgui.core.errors import ErrorKind
from batchgui.core.files import content_hash
from batchgui.core.models import Batch, Task, TaskStatus
from batchgui.core.naming import NameRefused, naming_for
from batchgui.core.operation import OperationSpec
from batchgui.core.outputs import DEFAULT_ON_EXISTS, changed_since
from batchgui.scan.walk import Entry, InputError


class MadeFiles(Protocol):
    """What the store knows about files batchgui wrote."""

    def made_digest(self, path: Path) -> str | None: ...
    def made_for(self, source: Path) -> dict[str, str]: ...


def takes(spec: OperationSpec, name: str) -> bool:
    """Whether the operation reads files of this name's type (no extensions: any)."""
    return not spec.extensions or name.lower().endswith(tuple(spec.extensions))


def leave_out_unsupported(entries: list[Entry], spec: OperationSpec) -> list[Entry]:
    """Included files the operation cannot take, left out as `unsupported`: a batch
    never starts a task certain to fail that way."""
    if not spec.extensions:
        return entries
    detail = f"{spec.name} takes {', '.join(sorted(spec.extensions))}"
    return [
        e
        if e.reason is not None or e.is_dir or takes(spec, e.path.name)
        else dataclasses.replace(e, reason="unsupported", detail=detail)
        for e in entries
    ]


def refuse_unsafe_output_folder(out_root: Path, paths: Iterable[str | os.PathLike[str]]) -> None:
    """InputError if the output folder is a file, or is one of the folders given."""
    try:
        out_info = os.stat(out_root)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot use the output folder {out_root}: {exc.strerror}") from None
    if not stat.S_ISDIR(out_info.st_mode):
        raise InputError(f"the output folder {out_root} is a file, not a folder")
    for raw in paths:
        with contextlib.suppress(OSError):
            info = os.stat(raw)
            if (info.st_dev, info.st_ino) == (out_info.st_dev, out_info.st_ino):
                raise InputError(
                    f"the output folder {out_root} is the input folder {raw}: outputs would "
                    "land among the sources; choose another --out (a new folder, or one "
                    "inside it, which is never read back)"
                )


def planned_outputs(spec: OperationSpec, task: Task, options: dict[str, Any]) -> list[Path]:
    """Where the task's outputs would go; NameRefused when its name template gives
    a name no file can have."""
    if spec.planned_outputs is None or task.out_dir is None:
        return []
    with naming_for(task.root, task.seq):
        planned = spec.planned_outputs(task.path, task.out_dir, options)
    return [Path(os.path.abspath(p)) for p in planned]


def claim_outputs(
    tasks: list[Task],
    entries: Iterable[Entry],
    spec: OperationSpec,
    options: dict[str, Any],
    out_root: Path,
) -> None:
    """Find planned outputs that are sources (InputError) or that two tasks share;
    a clash the rule cannot resolve leaves the later task skipped as `name clash`."""
    if spec.planned_outputs is None:
        return
    sources = {e.inode for e in entries if not e.is_dir and e.inode != (0, 0)}
    source_paths = {os.fspath(e.path) for e in entries if not e.is_dir}
    claims = _Claims()
    labels = _Labels(tasks, out_root)
    for task in tasks:
        try:
            planned = planned_outputs(spec, task, options)
        except NameRefused as exc:  # empty, illegal here: a clash with the file system
            if task.status is TaskStatus.PENDING:
                task.reason, task.error = "name clash", str(exc)
                task.move_to(TaskStatus.SKIPPED)
            continue
        _refuse_sources(task, planned, sources, source_paths)
        twice = _twice(planned)
        if twice is not None:  # e.g. two variants of a chain named alike
            if task.status is TaskStatus.PENDING:
                task.reason = "name clash"
                task.error = f"two of its outputs would be the same file: {twice}"
                task.move_to(TaskStatus.SKIPPED)
            continue
        other = claims.clash(planned)
        if other is not None and task.root == task.path and task.out_dir is not None:
            # a file given directly: under a folder named after its own folder
            task.out_dir = Path(os.path.abspath(out_root / labels.label(task.path.parent)))
            planned = planned_outputs(spec, task, options)
            _refuse_sources(task, planned, sources, source_paths)
            other = claims.clash(planned)
        if other is not None:
            detail = f"its output would be the same as that of {other}"
            if task.status is TaskStatus.PENDING:
                task.reason, task.error = "name clash", detail
                task.move_to(TaskStatus.SKIPPED)
            continue
        claims.add(planned, task.path)


def _twice(planned: list[Path]) -> Path | None:
    seen: set[str] = set()
    for path in planned:
        key = os.fspath(path)
        if key in seen:
            return path
        seen.add(key)
    return None


def _refuse_sources(
    task: Task, planned: list[Path], sources: set[tuple[int, int]], source_paths: set[str]
) -> None:
    for path in planned:
        hit = os.fspath(path) in source_paths
        if not hit and "*" not in path.name:
            with contextlib.suppress(OSError):
                info = os.lstat(path)
                hit = (info.st_dev, info.st_ino) in sources
        if hit:
            raise InputError(
                f"the output of {task.path} would be {path}, which is one of the sources; "
                "choose another --out"
            )


class _Claims:
    """Planned outputs by path: files, folders (everything below is claimed), and
    patterns (`a.frame-*.png`: an image's frames, whose count is not known yet).
    Two claims clash when one is the other or lies below it."""

    def __init__(self) -> None:
        self.paths: dict[str, Path] = {}  # claimed path -> the task's source
        self.below: dict[str, Path] = {}  # folders holding claimed paths -> a source
        self.names: dict[str, dict[str, Path]] = {}  # folder -> claimed name -> source
        self.patterns: dict[str, list[tuple[str, Path]]] = {}  # folder -> (pattern, source)

    def clash(self, planned: list[Path]) -> Path | None:
        for path in planned:
            folder = os.fspath(path.parent)
            if "*" in path.name:
                for name, owner in self.names.get(folder, {}).items():
                    if fnmatch.fnmatchcase(name, path.name):
                        return owner
                continue
            text = os.fspath(path)
            found = self.paths.get(text) or self.below.get(text)
            if found is not None:
                return found
            for parent in path.parents:
                claimant = self.paths.get(os.fspath(parent))
                if claimant is not None:
                    return claimant
            for pattern, owner in self.patterns.get(folder, ()):
                if fnmatch.fnmatchcase(path.name, pattern):
                    return owner
        return None

    def add(self, planned: list[Path], owner: Path) -> None:
        for path in planned:
            folder = os.fspath(path.parent)
            if "*" in path.name:
                self.patterns.setdefault(folder, []).append((path.name, owner))
                continue
            self.paths[os.fspath(path)] = owner
            self.names.setdefault(folder, {})[path.name] = owner
            for parent in path.parents:
                key = os.fspath(parent)
                if key in self.below:
                    break  # its parents are in already
                self.below[key] = owner


class _Labels:
    """Folder names for files given directly whose outputs clash: the name of the
    file's own folder, made unique among the output folder's top-level names."""

    def __init__(self, tasks: list[Task], out_root: Path) -> None:
        root = os.path.abspath(out_root)
        self.used: set[str] = set()
        for task in tasks:
            if task.out_dir is not None and os.path.abspath(task.out_dir) != root:
                rel = os.path.relpath(task.out_dir, root)
                self.used.add(rel.split(os.sep)[0])
        self.given: dict[Path, str] = {}

    def label(self, folder: Path) -> str:
        if folder in self.given:
            return self.given[folder]
        name = folder.name or "root"
        label, number = name, 1
        while label in self.used:
            number += 1
            label = f"{name}-{number}"
        self.used.add(label)
        self.given[folder] = label
        return label


def check_existing(
    tasks: list[Task],
    spec: OperationSpec,
    options: dict[str, Any],
    on_exists: str,
    made: MadeFiles | None,
    *,
    since: float | None = None,
) -> None:
    """Decide, for each task still to run, what happens to files already where its
    outputs go (see the module docstring): `task.replaceable`, or the task skipped
    (`exists`) or failed. Blocking: it stats and may hash files."""
    for task in tasks:
        if task.status is not TaskStatus.PENDING:
            continue
        planned = planned_outputs(spec, task, options)
        earlier = made.made_for(task.path) if made is not None else {}
        replaceable: set[str] = set()
        in_the_way: list[Path] = []
        for path in _existing(planned, earlier):
            text = os.fspath(path)
            # as the write guard will see it: its folder's links resolved
            real = os.path.join(os.path.realpath(path.parent), path.name)
            if since is not None and changed_since(path, since):
                replaceable.add(real)  # most likely written by the attempt that was stopped
            elif _ours(path, earlier.get(text)):
                replaceable.add(real)
            elif _is_planned(path, planned):
                in_the_way.append(path)
        task.replaceable = frozenset(replaceable)
        if not in_the_way or on_exists in ("overwrite", "rename"):
            continue
        why = (
            f"{in_the_way[0]} already exists and batchgui did not make it "
            "(--on-exists overwrite or rename to change that)"
        )
        if on_exists == "fail":
            task.error, task.error_kind = why, ErrorKind.ERROR
            task.move_to(TaskStatus.FAILED)
        else:
            task.reason, task.error = "exists", why
            task.move_to(TaskStatus.SKIPPED)


def check_existing_batch_outputs(
    spec: OperationSpec,
    options: dict[str, Any],
    out_root: Path,
    on_exists: str,
    made: MadeFiles | None,
    *,
    since: float | None = None,
) -> frozenset[str]:
    """The aggregate outputs (a manifest) that may be replaced; InputError if one is
    in the way and --on-exists says skip or fail (it cannot be skipped per file)."""
    if spec.planned_batch_outputs is None:
        return frozenset()
    replaceable = set()
    for path in spec.planned_batch_outputs(out_root, options):
        if not os.path.lexists(path):
            continue
        digest = made.made_digest(path) if made is not None else None
        if (since is not None and changed_since(path, since)) or _ours(path, digest):
            replaceable.add(os.path.join(os.path.realpath(path.parent), path.name))
        elif on_exists in ("skip", "fail"):
            raise InputError(
                f"{path} already exists and batchgui did not make it; use --on-exists "
                "overwrite or rename, or another --out"
            )
    return frozenset(replaceable)


def _existing(planned: list[Path], earlier: dict[str, str]) -> list[Path]:
    found: list[Path] = []
    for path in planned:
        if "*" in path.name:
            with contextlib.suppress(OSError):
                found.extend(
                    path.parent / name
                    for name in sorted(os.listdir(path.parent))
                    if fnmatch.fnmatchcase(name, path.name)
                )
        elif os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                found.extend(_files_below(path))
            else:
                found.append(path)
    found.extend(Path(p) for p in earlier if Path(p) not in found and os.path.lexists(p))
    return found


def _files_below(folder: Path) -> list[Path]:
    files: list[Path] = []
    for parent, _dirs, names in os.walk(folder):
        files.extend(Path(parent) / name for name in names)
    return files


def _is_planned(path: Path, planned: list[Path]) -> bool:
    for claim in planned:
        if path == claim or claim in path.parents:
            return True
        pattern = "*" in claim.name and path.parent == claim.parent
        if pattern and fnmatch.fnmatchcase(path.name, claim.name):
            return True
    return False


def _ours(path: Path, digest: str | None) -> bool:
    """batchgui made it and nobody changed it since."""
    if digest is None or os.path.islink(path):
        return False
    try:
        return content_hash(path) == digest
    except OSError:
        return False


def ready_to_resume(batch: Batch, spec: OperationSpec, made: MadeFiles | None) -> None:
    """The existing-file rules for a stored batch about to run again. Blocking."""
    on_exists = batch.settings.get("on_exists") or DEFAULT_ON_EXISTS
    batch.replace_since = batch.created_at or batch.started_at
    since = batch.replace_since
    check_existing(batch.tasks, spec, batch.options, on_exists, made, since=since)
    batch.replaceable = check_existing_batch_outputs(
        spec, batch.options, batch.out_root, on_exists, made, since=since
    )


def output_reasons(
    entries: list[Entry],
    duplicate_of: dict[Path, Path],
    spec: OperationSpec,
    options: dict[str, Any],
    out_root: Path,
    on_exists: str,
    made: MadeFiles | None,
) -> dict[Path, tuple[str, str]]:
    """For a preview: the files a run would leave out because of their outputs,
    with (reason, detail). InputError if the run would be refused."""
    from batchgui.scan.plan import plan_tasks

    refuse_unsafe_output_folder(out_root, dict.fromkeys(e.root for e in entries))
    if not spec.incremental:
        duplicate_of = {}
    tasks = plan_tasks(entries, out_root).tasks
    for task in tasks:
        task.duplicate_of = duplicate_of.get(task.path)
    claim_outputs(tasks, entries, spec, options, out_root)
    check_existing(tasks, spec, options, on_exists, made)
    return {
        t.path: (t.reason or "exists", t.error or "")
        for t in tasks
        if t.reason in ("exists", "name clash") or t.error_kind is not None
    }
