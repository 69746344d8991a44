"""Where an output may be written, and whether an existing file may be replaced.

    prepare (scan/safety.py), before anything runs: planned outputs of every task,
        checked against the sources, each other and the files already there ─►
        each task's `replaceable` (existing files batchgui made for it earlier)
    engine: one WriteGuard per running task (output folder, --on-exists, replaceable)
    worker: invoke() makes it the current guard (a context variable, so threads,
        processes and async tasks each see their own) ─► atomic_write, make_folder
        and the copies made for duplicates ask it:
          inside the output folder, symbolic links resolved?   else OutputRefused
          the file exists?  replaceable or --on-exists overwrite: replace it
                            --on-exists rename: a free name ("a (2).txt.md")
                            otherwise: OutputExists, and the file is kept

New files are committed with a no-replace primitive (a hard link from the
temporary file), so a file that appears while the task runs is not clobbered
either; where the file system has no hard links (FAT, exFAT) the name is
claimed with an exclusive create first. Without a current guard (a plugin's own
tests, the CLI writing a report) atomic_write replaces, as it always did.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batchgui.core import faults
from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.platform import files

TEMP_MARK = ".batchgui-tmp-"
SCRATCH_MARK = TEMP_MARK + "chain-"  # a chain's folder for the files between its steps
ON_EXISTS = ("skip", "overwrite", "rename", "fail")
DEFAULT_ON_EXISTS = "skip"


class OutputRefused(PermanentError):
    """An output path that would leave the output folder (or land on a source)."""

    def __init__(self, message: str, kind: ErrorKind | str = ErrorKind.ERROR) -> None:
        super().__init__(message, kind)


class OutputExists(PermanentError):
    """A file batchgui did not make is where an output would go; it is kept."""

    def __init__(self, message: str, kind: ErrorKind | str = ErrorKind.ERROR) -> None:
        super().__init__(message, kind)


@dataclass(slots=True)
class WriteGuard:
    """The rules for one task's writes. `out_root` is the real path of the batch's
    output folder; `replaceable` the existing files this task may replace (batchgui
    made them, for this source, in an earlier run). Picklable: it travels to
    process workers with the call."""

    out_root: str
    on_exists: str = DEFAULT_ON_EXISTS
    replaceable: frozenset[str] = frozenset()
    # a resumed batch: files changed since it first started are taken as written by
    # the attempt that was stopped (its result never reached the store)
    replace_since: float | None = None
    renamed: dict[str, str] | None = None  # asked-for path -> written path

    def allow_since(self, started: float | None) -> None:
        """A task that ran before (a retry, a re-run, a run that was stopped) may
        replace what changed since that start: its own earlier attempt wrote it."""
        if started is not None:
            since = self.replace_since
            self.replace_since = started if since is None else min(since, started)

    def may_replace(self, target: Path) -> bool:
        if self.on_exists == "overwrite" or os.fspath(target) in self.replaceable:
            return True
        return self.replace_since is not None and changed_since(target, self.replace_since)

    def actual(self, path: Path) -> Path:
        """Where an output the operation names was really written (after a rename)."""
        if not self.renamed:
            return Path(path)
        return Path(self.renamed.get(os.path.abspath(path), path))


_current: ContextVar[WriteGuard | None] = ContextVar("batchgui_write_guard", default=None)


def changed_since(path: Path, since: float) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return max(info.st_mtime, info.st_ctime) >= since and not os.path.islink(path)


def current_guard() -> WriteGuard | None:
    return _current.get()


set_guard = _current.set  # (the engine's hot path: a context manager costs more)
reset_guard = _current.reset


@contextlib.contextmanager
def guarded(guard: WriteGuard | None) -> Iterator[WriteGuard | None]:
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)


def real_folder(path: str | os.PathLike[str]) -> str:
    """The real path of a folder that may not exist yet (existing part resolved)."""
    return os.path.realpath(os.path.abspath(path))


def is_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_inside(path: str | os.PathLike[str], guard: WriteGuard | None = None) -> Path:
    """`path` with its folder's symbolic links resolved, if that is inside the output
    folder; OutputRefused otherwise. The last component is not followed: a link
    there is replaced (or kept), never written through. Public for plugins that
    write files themselves."""
    guard = guard or current_guard()
    target = Path(os.path.abspath(path))
    if guard is None:
        return target
    parent = os.path.realpath(target.parent)
    if not is_inside(parent, guard.out_root):
        raise OutputRefused(
            f"refused to write {target}: it resolves to {parent}, outside the output "
            f"folder {guard.out_root} (a symbolic link on the way?)"
        )
    return Path(parent) / target.name


def make_folder(folder: str | os.PathLike[str]) -> Path:
    """mkdir -p, but never through a symbolic link out of the output folder."""
    guard = current_guard()
    text = os.fspath(folder)
    key = (text, guard.out_root if guard is not None else "")
    known = _made_folders.get(key)
    if known is not None and _identity(text) == known:
        # made and checked before, and still that folder: most tasks share one
        return folder if isinstance(folder, Path) else Path(text)
    path = Path(os.path.abspath(text))
    if guard is not None:
        real = os.path.realpath(path)
        if not is_inside(real, guard.out_root):
            raise OutputRefused(
                f"refused to create {path}: it resolves to {real}, outside the output "
                f"folder {guard.out_root} (a symbolic link on the way?)"
            )
    path.mkdir(parents=True, exist_ok=True)
    if guard is not None and not is_inside(os.path.realpath(path), guard.out_root):
        raise OutputRefused(f"refused to use {path}: it left the output folder while created")
    if len(_made_folders) > 4096:
        _made_folders.clear()
    identity = _identity(text)
    if identity is not None:
        _made_folders[key] = identity
    return path


def _identity(folder: str) -> tuple[int, int] | None:
    """(device, inode) of a real folder (not a link to one); None otherwise."""
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


# folders make_folder made and checked, per output folder, with their identity (a
# cache for batches of tiny tasks: resolving a path costs a system call per
# component; one lstat tells the folder is still there and still the same)
_made_folders: dict[tuple[str, str], tuple[int, int]] = {}


def free_name(target: Path) -> Path:
    """`a.txt.md` -> `a (2).txt.md`, `a (3).txt.md`, ... : the first that does not exist."""
    stem, dot, rest = target.name.partition(".")
    for number in range(2, 10_000):
        candidate = target.with_name(f"{stem} ({number}){dot}{rest}")
        if not os.path.lexists(candidate):
            return candidate
    raise OutputExists(f"no free name next to {target}")


def _exists_message(target: Path) -> str:
    return (
        f"{target} already exists and batchgui did not make it: kept "
        "(--on-exists overwrite or rename to change that)"
    )


def _decide(target: Path, overwrite: bool | None, guard: WriteGuard | None) -> tuple[Path, bool]:
    """(where to write, whether replacing an existing file there is allowed)."""
    exists = os.path.lexists(target)
    if overwrite is False:
        if exists:
            raise FileExistsError(f"{target} exists and will not be overwritten")
        return target, False
    if guard is None:
        return target, True
    if not exists:
        return target, False
    if guard.may_replace(target):
        return target, True
    if guard.on_exists == "rename":
        return free_name(target), False
    raise OutputExists(_exists_message(target))


def commit(tmp_name: str, target: Path, *, replace: bool) -> None:
    """Move a finished temporary file to `target`; without `replace`, FileExistsError
    if something is there (checked by the kernel, not before)."""
    if replace:
        files.replace(tmp_name, target)
        return
    try:
        os.link(tmp_name, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # no hard links on this file system (FAT, exFAT): claim the name with an
        # exclusive create (fails if taken), then move the content onto the claim
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        files.replace(tmp_name, target)
        return
    os.unlink(tmp_name)


_NO_LINKS = {
    errno.EPERM,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.EXDEV,
    errno.EMLINK,
    errno.ENOSYS,
    errno.EACCES,
}


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, at the first write
    with _umask_lock:
        current = os.umask(0o022)
        os.umask(current)
    return current


_umask_lock = threading.Lock()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], *, overwrite: bool | None = None
) -> Iterator[IO[bytes]]:
    """Write `path` all at once or not at all.

    Yields a binary file in the same folder; on success it is flushed, synced
    and moved to `path` (so a reader, or a crash, sees the old file or the new
    one, never half of it); on an exception it is removed. Inside a task the
    task's guard decides about an existing file (see the module docstring);
    `overwrite=False` never replaces one (FileExistsError).
    """
    guard = current_guard()
    resolved = check_inside(path, guard)
    target, replace = _decide(resolved, overwrite, guard)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:80]}{TEMP_MARK}", dir=target.parent)
    try:
        files.set_mode(fd, tmp_name, 0o666 & ~_umask())  # mkstemp: 0600; outputs: the usual
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if faults.fires("mid-output"):  # crash tests: leave half of it, then die
                handle.flush()
                handle.truncate(handle.tell() // 2)
                handle.flush()
                faults.die()
            handle.flush()
            files.durable_sync(handle.fileno())
        faults.reached("before-replace")
        final = _commit_guarded(tmp_name, target, replace, overwrite, guard)
        faults.reached("after-replace")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if guard is not None and final != resolved:
        if guard.renamed is None:
            guard.renamed = {}
        guard.renamed[os.path.abspath(path)] = os.fspath(final)


def _commit_guarded(
    tmp_name: str, target: Path, replace: bool, overwrite: bool | None, guard: WriteGuard | None
) -> Path:
    while True:
        try:
            commit(tmp_name, target, replace=replace)
            break
        except FileExistsError:
            # it appeared while we wrote
            if overwrite is False:
                raise FileExistsError(f"{target} exists and will not be overwritten") from None
            if guard is None or guard.on_exists != "rename":
                raise OutputExists(_exists_message(target)) from None
            target = free_name(target)
    return target


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy a file under the current guard's rules; returns where it was written."""
    make_folder(target.parent)
    with open(source, "rb") as src, atomic_write(target) as handle:
        shutil.copyfileobj(src, handle, 1 << 20)
    guard = current_guard()
    return guard.actual(target) if guard is not None else target
