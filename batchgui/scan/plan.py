"""From included entries to the tasks of a batch, with their output folders.

Each task's `out_dir` mirrors the file's folder below its dropped root; with
several dropped folders each gets a subfolder named after it (`photos`,
`photos-2`), so two sources never share an output name. Files given directly
go to the output folder itself. `base`, the inputs' common folder, is what
manifests name files relative to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from batchgui.core.models import Priority, Task
from batchgui.scan.walk import Entry, absolute


@dataclass(frozen=True)
class Plan:
    tasks: list[Task]
    base: Path


def plan_tasks(
    entries: Iterable[Entry], out_root: Path, priority: Priority = Priority.NORMAL
) -> Plan:
    entries = [e for e in entries if e.included and not e.is_dir]
    out_root = absolute(out_root)
    folder_roots = list(dict.fromkeys(e.root for e in entries if e.root != e.path))
    labels = _labels(folder_roots) if len(folder_roots) > 1 else dict.fromkeys(folder_roots, "")
    tasks: list[Task] = []
    # one Path per output folder, shared by its tasks: computed once per folder (not
    # once per file), and held once in memory and by the store's row writers
    out_dirs: dict[tuple[Path, Path], Path] = {}
    for entry in entries:
        if entry.root == entry.path:
            out_dir = out_root
        else:
            key = (entry.root, entry.path.parent)
            found = out_dirs.get(key)
            if found is None:
                found = out_dirs[key] = absolute(
                    out_root / labels[entry.root] / key[1].relative_to(entry.root)
                )
            out_dir = found
        task = Task(entry.path, entry.size, priority, out_dir=out_dir, root=entry.root)
        task.seq = len(tasks) + 1  # as its batch will number it ({n} in output names)
        task.fingerprint = (entry.size, entry.mtime_ns, *entry.inode)
        tasks.append(task)
    bases = [e.root if e.root != e.path else e.path.parent for e in entries]
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
