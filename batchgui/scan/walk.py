"""Walking the files and folders a user gave, with every decision recorded.

    paths ─► scan() ─► Entry for every file (and every folder not entered),
                       included or with the reason it is left out

Order is stable: roots in the order given, then depth first with each
folder's entries sorted by name; "the first file" of a duplicate group is
the first in this order. A root is always followed even if it is a symbolic
link (the user named it); below it, links are reported, not followed, unless
`follow_symlinks`, and then a folder already visited (a loop, or two links to
one place) is reported instead of entered, so a walk always ends. A folder
that is left out (hidden, excluded, a link, unreadable) is one entry; its
contents are not walked. The output folder is never entered.

`scan` is a plain generator (the CLI iterates it); `stream_scan` runs it on a
thread and hands lists of entries to an asyncio consumer as they come, so the
window fills in while the scan runs, and stops the walk when the consumer
goes away.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from batchgui.core.collector import frozen_as_they_come
from batchgui.core.platform import files
from batchgui.scan.filters import Filters


class InputError(ValueError):
    """A path the user gave cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Entry:
    path: Path
    root: Path  # the file or folder the user gave
    size: int = 0
    mtime_ns: int = 0
    inode: tuple[int, int] = (0, 0)  # (st_dev, st_ino): equal for hard links
    reason: str | None = None  # None: included
    detail: str | None = None  # more words for the user ("broken link", an OS error)
    is_dir: bool = False

    @property
    def included(self) -> bool:
        return self.reason is None


def absolute(path: str | os.PathLike[str]) -> Path:
    """Absolute and normalised, without resolving symbolic links."""
    return Path(os.path.normpath(os.path.abspath(path)))


def scan(
    paths: Iterable[str | os.PathLike[str]],
    filters: Filters | None = None,
    *,
    skip: Iterable[Path] = (),
    cancel: threading.Event | None = None,
) -> Iterator[Entry]:
    return frozen_as_they_come(_scan(paths, filters, skip, cancel))


def _scan(
    paths: Iterable[str | os.PathLike[str]],
    filters: Filters | None,
    skip: Iterable[Path],
    cancel: threading.Event | None,
) -> Iterator[Entry]:
    filters = filters or Filters()
    # plain strings: hashing a str is several times cheaper than hashing a Path
    skipped = {str(absolute(p)) for p in skip}
    skipped_keys = set()  # and by identity: the output folder named through a link
    for path in skipped:
        try:
            info = os.stat(path)
        except OSError:
            continue
        skipped_keys.add(files.identity(info, path))
    seen: set[str] = set()
    for raw in paths:
        root = absolute(raw)
        try:
            info = os.stat(root)
        except FileNotFoundError:
            if os.path.islink(root):
                raise InputError(f"{raw}: a broken symbolic link") from None
            raise InputError(f"{raw}: no such file or folder") from None
        except OSError as exc:
            raise InputError(f"{raw}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            walker = _Walk(root, filters, skipped, seen, cancel, skipped_keys)
            yield from walker.run(files.identity(info, root))
        elif stat.S_ISREG(info.st_mode):
            if str(root) not in seen:
                seen.add(str(root))
                yield _file_entry(root, root, info, filters)
        else:
            raise InputError(f"{raw}: not a regular file or folder")


def _file_entry(path: Path, root: Path, info: os.stat_result, filters: Filters) -> Entry:
    reason = filters.reason_for_file(path.name, info.st_size, info.st_mtime)
    identity = files.identity(info, path)  # (device, inode): equal for hard links
    return Entry(path, root, info.st_size, info.st_mtime_ns, identity, reason)


class _Walk:
    def __init__(
        self,
        root: Path,
        filters: Filters,
        skipped: set[str],
        seen: set[str],
        cancel: threading.Event | None,
        skipped_keys: set[tuple[int, int]] | None = None,
    ) -> None:
        self.root, self.filters, self.skipped, self.seen = root, filters, skipped, seen
        self.skipped_keys = skipped_keys or set()
        self.cancel = cancel
        self.prefix = len(str(root)) + 1
        self.visited: set[tuple[int, int]] = set()

    def run(self, root_key: tuple[int, int]) -> Iterator[Entry]:
        self.visited.add(root_key)
        try:
            listing = _listing(self.root)
        except OSError as exc:
            yield Entry(self.root, self.root, reason="unreadable", detail=_why(exc), is_dir=True)
            return
        stack = [(self.root, iter(listing))]
        while stack:
            if self.cancel is not None and self.cancel.is_set():
                return
            folder, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            found = self._visit(entry, _child(folder, entry.name))
            if isinstance(found, tuple):
                stack.append(found)
            elif found is not None:
                yield found

    def _visit(
        self, entry: os.DirEntry, path: Path
    ) -> Entry | tuple[Path, Iterator[os.DirEntry]] | None:
        """An Entry to report, a folder and its sorted listing to walk into, or None."""
        root, filters = self.root, self.filters
        follow = filters.follow_symlinks
        try:
            is_link = files.is_link(entry)  # a junction on Windows too
            is_dir = entry.is_dir(follow_symlinks=follow)
        except OSError as exc:
            return Entry(path, root, reason="unreadable", detail=_why(exc))
        if entry.path in self.skipped:
            return Entry(path, root, reason="excluded", detail="the output folder", is_dir=is_dir)
        if entry.name.startswith(".") and not filters.hidden:
            return Entry(path, root, reason="hidden", is_dir=is_dir)
        if is_link and not follow:
            return Entry(path, root, reason="symlink", detail="not followed", is_dir=entry.is_dir())
        if filters.excluded(path, entry.path[self.prefix :], is_dir):
            return Entry(path, root, reason="excluded", is_dir=is_dir)
        try:
            info = entry.stat(follow_symlinks=follow)
        except FileNotFoundError:
            return Entry(path, root, reason="symlink", detail="broken link")
        except OSError as exc:
            return Entry(path, root, reason="unreadable", detail=_why(exc), is_dir=is_dir)
        if files.hidden_by_flags(info) and not filters.hidden:  # macOS, Windows
            return Entry(path, root, reason="hidden", is_dir=is_dir)
        if is_dir:
            key = files.identity(info, entry.path)  # no inode in Windows' DirEntry
            if key in self.skipped_keys:
                return Entry(path, root, reason="excluded", detail="the output folder", is_dir=True)
            if key in self.visited:
                return Entry(
                    path,
                    root,
                    reason="symlink",
                    detail="folder already walked (a loop)",
                    is_dir=True,
                )
            self.visited.add(key)
            try:
                return path, iter(_listing(path))
            except OSError as exc:
                return Entry(path, root, reason="unreadable", detail=_why(exc), is_dir=True)
        if not stat.S_ISREG(info.st_mode):
            return Entry(path, root, reason="unreadable", detail="not a regular file")
        if entry.path in self.seen:  # two overlapping roots: list the file once
            return None
        self.seen.add(entry.path)
        return _file_entry(path, root, info, filters)


# folder / name, made the way Path.iterdir makes its paths (CPython's own shortcut
# for walking: nothing to parse), else by parsing: parsing every path was 40% of a
# scan's time (20,000 files). A private method, so looked up once, with a fallback.
_make_child = getattr(Path, "_make_child_relpath", None)


def _child(folder: Path, name: str) -> Path:
    return folder / name if _make_child is None else _make_child(folder, name)  # type: ignore[no-any-return]


def _listing(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda e: e.name)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


async def stream_scan(
    paths: Iterable[str | os.PathLike[str]],
    filters: Filters | None = None,
    *,
    skip: Iterable[Path] = (),
    chunk: int = 500,
) -> AsyncIterator[list[Entry]]:
    """`scan` on a worker thread, yielding lists of entries as they are found.

    Leaving the `async for` early (or cancelling the consumer) stops the walk.
    An InputError is raised in the consumer.
    """
    import asyncio  # here: the CLI's scans run without asyncio, and start sooner without it

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[Entry] | BaseException | None] = asyncio.Queue(maxsize=64)
    cancel = threading.Event()

    def put(item: list[Entry] | BaseException | None) -> None:
        if cancel.is_set():
            return
        putting = queue.put(item)
        try:
            future = asyncio.run_coroutine_threadsafe(putting, loop)
        except RuntimeError:  # the consumer's loop is gone
            putting.close()
            cancel.set()
            return
        while not cancel.is_set():
            try:
                future.result(timeout=0.1)
                return
            except TimeoutError:
                continue
        future.cancel()

    def work() -> None:
        batch: list[Entry] = []
        try:
            for entry in scan(paths, filters, skip=skip, cancel=cancel):
                batch.append(entry)
                if len(batch) >= chunk:
                    put(batch)
                    batch = []
            put(batch)
            put(None)
        except BaseException as exc:  # delivered to the consumer, not lost on a thread
            put(exc)

    thread = threading.Thread(target=work, name="batchgui-scan", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            if item:
                yield item
    finally:
        cancel.set()
