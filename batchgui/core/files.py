"""File work the engine itself does, always on a worker thread, never on the loop:
content hashes (BLAKE3, see scan/duplicates.py for why), fingerprints, and giving
a duplicate copies of its original's outputs; and `read_steadily`, with which
the built-in operations refuse a result read from a file that changed under them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import blake3

from batchgui.core.errors import SourceChanged
from batchgui.core.models import Batch, Task
from batchgui.core.outputs import SCRATCH_MARK, TEMP_MARK, atomic_copy

Fingerprint = tuple[int, ...]

_MMAP_FROM = 1 << 20  # below this, one read() is cheaper than setting up a mapping


def content_hash(path: Path) -> str:
    """BLAKE3 hex digest of the whole file: large files through mmap, never loaded whole."""
    hasher = blake3.blake3()
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size >= _MMAP_FROM:
            try:
                hasher.update_mmap(path)
                return hasher.hexdigest()
            except (OSError, ValueError):  # mmap can fail on special files; reads cannot
                hasher = blake3.blake3()
        while chunk := os.read(fd, _MMAP_FROM):
            hasher.update(chunk)
    finally:
        os.close(fd)
    return hasher.hexdigest()


def fingerprint_of(path: Path) -> Fingerprint:
    """What says "this file has not changed": size, mtime_ns, device, inode."""
    info = os.stat(path)
    return (info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)


@contextlib.contextmanager
def read_steadily(path: Path) -> Iterator[None]:
    """Around an operation's reading of its source: SourceChanged (retried) if the
    file's size, modification time or identity changed meanwhile (a log still
    being written, a file replaced). Two stats a file."""
    before = fingerprint_of(path)
    yield
    if fingerprint_of(path) != before:
        raise SourceChanged(
            f"{path.name} changed while it was read; its result would belong to neither version"
        )


def unchanged_since_scan(task: Task) -> bool:
    try:
        return task.fingerprint is None or fingerprint_of(task.path) == task.fingerprint
    except OSError:
        return False


def copy_outputs(original: Task, duplicate: Task) -> list[Path] | None:
    """Copy the original's outputs to where the duplicate's would be, under the
    current write guard (so a copy never replaces a file batchgui did not make).

    Only outputs named after the original and lying in its out_dir can be
    copied faithfully (`photo.jpg.md` -> `copy.jpg.md`). Outputs in folders of
    their own (a document's pictures) or named otherwise (an image's frames)
    may be linked to from the others by name: then None, and the duplicate is
    processed itself instead.
    """
    assert original.out_dir is not None and duplicate.out_dir is not None
    prefix = original.path.name
    targets = []
    for output in original.outputs:
        try:
            relative = output.relative_to(original.out_dir)
        except ValueError:
            return None
        if len(relative.parts) != 1 or not relative.name.startswith(prefix):
            return None
        targets.append(duplicate.out_dir / (duplicate.path.name + relative.name[len(prefix) :]))
    copies = []
    for output, target in zip(original.outputs, targets, strict=True):
        copies.append(target if target == output else atomic_copy(output, target))
    return copies


def remove_temp_files(folders: set[Path]) -> int:
    """Remove atomic-write temporaries left in these folders, and a chain's scratch
    folders (operations/pipeline.py); returns how many."""
    removed = 0
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                found = [e for e in entries if TEMP_MARK in e.name]
                stale = [e.path for e in found if e.is_file()]
                scratch = [
                    e.path
                    for e in found
                    if e.name.startswith(SCRATCH_MARK) and e.is_dir(follow_symlinks=False)
                ]
        except OSError:
            continue
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed += 1
        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def remove_batch_temp_files(batch: Batch) -> int:
    """Temporaries left in any output folder of a batch (none of it is writing now)."""
    return remove_temp_files({t.out_dir for t in batch.tasks if t.out_dir} | {batch.out_root})
