"""Which included files have exactly the same content.

    files ─► hard links (same device and inode): duplicates without reading
          ─► groups of equal size (a file of a size no other has is never opened)
          ─► files up to 64 KiB: BLAKE3 of the whole content, in one read;
             larger ones: BLAKE3 of the first 4 KiB
          ─► larger files of equal head ─► BLAKE3 of the whole content
          ─► groups of equal content: the first file in scan order is the
             original, the others are its duplicates

Two files are duplicates only if their whole contents hash alike; a shared
head is only a reason to read further. Empty files are never duplicates:
there is nothing to save by skipping them, and tools often use empty files
as distinct markers.

Why BLAKE3 rather than xxh3-128: it is already a dependency (the checksum
operation offers it), its SIMD code hashes faster than the page cache can
hand over data on this class of machine, and being cryptographic it makes a
collision between two different files practically impossible, so no byte-by-
byte comparison pass is needed. Files are hashed through mmap, never loaded
whole; hashing runs on a small thread pool (BLAKE3 and reads release the GIL).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import blake3

from batchgui.core.files import content_hash
from batchgui.scan.walk import Entry

log = logging.getLogger(__name__)

WHOLE_MAX = 64 * 1024  # files up to this size are read whole at once
HEAD_BYTES = 4096  # what is compared first of a larger file (as jdupes does)


def head_hash(entry: Entry) -> str:
    """BLAKE3 of a file's first bytes: all of a small file (so its content hash),
    HEAD_BYTES of a larger one. Measured on 20,000 files (3.1 GiB): 4 KiB heads
    instead of 64 KiB halved this stage; the few larger files that share their
    first 4 KiB but not their first 64 KiB are hashed whole, as equal ones are."""
    fd = os.open(entry.path, os.O_RDONLY)
    try:
        return blake3.blake3(
            os.read(fd, WHOLE_MAX if entry.size <= WHOLE_MAX else HEAD_BYTES)
        ).hexdigest()
    finally:
        os.close(fd)


def _content_hash(entry: Entry) -> str:
    return content_hash(entry.path)


@dataclass
class Duplicates:
    duplicate_of: dict[Path, Path] = field(default_factory=dict)  # duplicate -> original
    hashes: dict[Path, str] = field(default_factory=dict)  # full-content hashes found

    def groups(self) -> dict[Path, list[Path]]:
        """original -> its duplicates, in scan order."""
        grouped: dict[Path, list[Path]] = defaultdict(list)
        for duplicate, original in self.duplicate_of.items():
            grouped[original].append(duplicate)
        return dict(grouped)


def find_duplicates(
    entries: Iterable[Entry], *, workers: int | None = None, cancel: threading.Event | None = None
) -> Duplicates:
    """`workers`: threads hashing whole contents (default: one per core, at most 4;
    measured on 2 cores, 4 threads were 14% slower than 2 from the page cache)."""
    workers = workers or min(4, os.cpu_count() or 2)
    files = [e for e in entries if e.included and not e.is_dir and e.size > 0]
    result = Duplicates()
    by_inode: dict[tuple[int, int], Entry] = {}
    distinct: list[Entry] = []
    for entry in files:
        first = by_inode.get(entry.inode) if entry.inode != (0, 0) else None
        if first is not None:
            result.duplicate_of[entry.path] = first.path
        else:
            by_inode[entry.inode] = entry
            distinct.append(entry)

    by_size: dict[int, list[Entry]] = defaultdict(list)
    for entry in distinct:
        by_size[entry.size].append(entry)
    candidates = [e for group in by_size.values() if len(group) > 1 for e in group]
    if not candidates:
        return result

    # heads in this thread: small reads are mostly Python and the GIL, and threads
    # taking turns at it were slower than one (20,000 files: 0.17 s on 2 threads,
    # 0.13 s on 1); whole contents are hashed on the pool, BLAKE3 without the GIL
    heads = _hash_all(None, head_hash, candidates, cancel)
    # grouped by value, never by Path: a Path's hash is computed in Python
    by_head: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    for entry, head in zip(candidates, heads, strict=True):
        if head is not None:
            by_head[(entry.size, head)].append(entry)
    suspects = [e for group in by_head.values() if len(group) > 1 for e in group]
    # a small file's head is its whole content's hash; larger ones are hashed whole
    digest_of = dict(zip(map(id, candidates), heads, strict=True))
    large = [e for e in suspects if e.size > WHOLE_MAX]
    if large:
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="batchgui-hash") as pool:
            whole = _hash_all(pool, _content_hash, large, cancel)
        digest_of.update(zip(map(id, large), whole, strict=True))

    by_content: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    for entry in suspects:  # suspects keep scan order, so group[0] is the first file
        digest = digest_of[id(entry)]
        if digest is not None:
            by_content[(entry.size, digest)].append(entry)
            result.hashes[entry.path] = digest
    for group in by_content.values():
        for entry in group[1:]:
            result.duplicate_of[entry.path] = group[0].path
    # hard links of a duplicate point at the group's original
    for duplicate, original in list(result.duplicate_of.items()):
        result.duplicate_of[duplicate] = result.duplicate_of.get(original, original)
    return result


def _hash_all(
    pool: ThreadPoolExecutor | None,
    hasher: Callable[[Entry], str],
    entries: list[Entry],
    cancel: threading.Event | None,
) -> list[str | None]:
    """Each file's hash (None: unreadable, or cancelled), in order; on the pool (None:
    in this thread) in slices of similar total size.

    One pool item per file costs more than hashing a small file (tens of
    microseconds of queueing and waking), so each item is a slice.
    """

    def hash_slice(part: list[Entry]) -> list[str | None]:
        digests: list[str | None] = []
        for entry in part:
            if cancel is not None and cancel.is_set():
                digests.append(None)
                continue
            try:
                digests.append(hasher(entry))
            except OSError as exc:  # vanished or unreadable: simply not a duplicate
                log.warning("cannot read %s to compare it: %s", entry.path, exc.strerror or exc)
                digests.append(None)
        return digests

    slices: list[list[Entry]] = [[]]
    weight = 0
    for entry in entries:
        if weight >= _SLICE_BYTES or len(slices[-1]) >= _SLICE_FILES:
            slices.append([])
            weight = 0
        slices[-1].append(entry)
        weight += min(entry.size, WHOLE_MAX) if hasher is head_hash else entry.size
    parts = map(hash_slice, slices) if pool is None else pool.map(hash_slice, slices)
    return [digest for part in parts for digest in part]


_SLICE_BYTES = 32 << 20
_SLICE_FILES = 256
