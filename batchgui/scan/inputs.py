"""From the paths a user gives to the tasks of a batch.

    paths ─► walk_inputs() ─► Found(path, size, root) in a stable order
          ─► plan_tasks() ─► Task(path, size, out_dir) + the inputs' common base

Folders are walked recursively in sorted order without following symbolic
links; only regular files become tasks. The output folder is never walked
into, so a rerun does not ingest its own outputs. Each task's `out_dir`
mirrors the file's folder below its dropped root; with several roots each
gets a subfolder named after it, so two sources never share an output name.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from batchgui.core.models import Priority, Task

log = logging.getLogger(__name__)


class InputError(ValueError):
    """A path the user gave cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    size: int
    root: Path  # the file or folder the user gave


def absolute(path: str | os.PathLike[str]) -> Path:
    """Absolute and normalised, without resolving symbolic links."""
    return Path(os.path.normpath(os.path.abspath(path)))


def walk_inputs(
    paths: Iterable[str | os.PathLike[str]], *, skip: Iterable[Path] = ()
) -> Iterator[Found]:
    skipped = {absolute(p) for p in skip}
    seen: set[Path] = set()
    for raw in paths:
        root = absolute(raw)
        try:
            info = os.stat(root)
        except FileNotFoundError:
            raise InputError(f"{raw}: no such file or folder") from None
        except OSError as exc:
            raise InputError(f"{raw}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            for found in _walk_folder(root, skipped):
                if found.path not in seen:
                    seen.add(found.path)
                    yield found
        elif stat.S_ISREG(info.st_mode):
            if root not in seen:
                seen.add(root)
                yield Found(root, info.st_size, root)
        else:
            raise InputError(f"{raw}: not a regular file or folder")


def _walk_folder(root: Path, skipped: set[Path]) -> Iterator[Found]:
    def report(error: OSError) -> None:
        log.warning("cannot read folder %s: %s", error.filename, error.strerror)

    for folder, dirs, files in os.walk(root, onerror=report):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if here / d not in skipped)
        for name in sorted(files):
            path = here / name
            try:
                info = os.lstat(path)
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc.strerror)
                continue
            if stat.S_ISREG(info.st_mode):
                yield Found(path, info.st_size, root)


@dataclass(frozen=True)
class Plan:
    tasks: list[Task]
    base: Path  # the inputs' common folder: manifests name files relative to it


def plan_tasks(
    found: Iterable[Found], out_root: Path, priority: Priority = Priority.NORMAL
) -> Plan:
    found = list(found)
    out_root = absolute(out_root)
    folder_roots = list(dict.fromkeys(f.root for f in found if f.root != f.path))
    labels = _labels(folder_roots) if len(folder_roots) > 1 else dict.fromkeys(folder_roots, "")
    tasks = []
    for item in found:
        if item.root == item.path:  # a file given directly
            out_dir = out_root
        else:
            rel = item.path.parent.relative_to(item.root)
            out_dir = out_root / labels[item.root] / rel
        tasks.append(
            Task(item.path, item.size, priority, out_dir=absolute(out_dir), root=item.root)
        )
    bases = [f.root if f.root != f.path else f.path.parent for f in found]
    base = Path(os.path.commonpath(bases)) if bases else out_root
    return Plan(tasks, base)


def _labels(roots: list[Path]) -> dict[Path, str]:
    labels: dict[Path, str] = {}
    used: set[str] = set()
    for root in roots:
        name = root.name or "root"
        label, n = name, 1
        while label in used:
            n += 1
            label = f"{name}-{n}"
        used.add(label)
        labels[root] = label
    return labels
