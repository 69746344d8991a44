"""Files the same way on every system.

durable_sync(fd)        fsync; on macOS F_FULLFSYNC (fsync there stops at
                        the drive's cache)
set_mode(fd, path, m)   fchmod where it exists, chmod by name elsewhere
replace(src, dst)       os.replace, retried for up to a second while another
                        program holds the target open (a viewer or a virus
                        scanner on Windows: a sharing violation)
identity(info, path)    (device, inode) that is never (0, 0): Windows'
                        DirEntry.stat() has no inode, so ask os.stat
hidden_by_flags(info)   the system's own "hidden" mark: UF_HIDDEN on macOS,
                        FILE_ATTRIBUTE_HIDDEN on Windows (dot-names are
                        hidden everywhere; the walk checks those itself)
is_link(entry)          a symbolic link, or a Windows junction
path_key(path)          how two paths compare: case-folded where the system
                        folds case (Windows)
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

from batchgui.core.platform import MACOS, WINDOWS

_REPLACE_TRIES = 20
_REPLACE_WAIT_S = 0.05
_F_FULLFSYNC = 51  # <sys/fcntl.h> on macOS


def durable_sync(fd: int) -> None:
    if sys.platform == "darwin":
        try:
            import fcntl

            fcntl.fcntl(fd, _F_FULLFSYNC)
            return
        except OSError:  # not every file system takes it
            pass
    os.fsync(fd)


def set_mode(fd: int, path: str | os.PathLike[str], mode: int) -> None:
    fchmod = getattr(os, "fchmod", None)
    if fchmod is not None:
        fchmod(fd, mode)
    else:
        os.chmod(path, mode)


def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    for attempt in range(_REPLACE_TRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if not WINDOWS or attempt == _REPLACE_TRIES - 1:
                raise
            time.sleep(_REPLACE_WAIT_S)


def identity(info: os.stat_result, path: str | os.PathLike[str]) -> tuple[int, int]:
    if info.st_ino:
        return (info.st_dev, info.st_ino)
    try:
        full = os.stat(path)
    except OSError:
        full = info
    if full.st_ino:
        return (full.st_dev, full.st_ino)
    return (full.st_dev, hash(path_key(path)))  # no inode at all (some network shares)


def hidden_by_flags(info: os.stat_result) -> bool:
    if MACOS:
        return bool(getattr(info, "st_flags", 0) & getattr(stat, "UF_HIDDEN", 0x8000))
    if WINDOWS:
        attributes = getattr(info, "st_file_attributes", 0)
        return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2))
    return False


def is_link(entry: Any) -> bool:
    """For an os.DirEntry: a symbolic link, or a junction (Windows, Python 3.12+)."""
    if entry.is_symlink():
        return True
    is_junction = getattr(entry, "is_junction", None)
    return bool(is_junction()) if is_junction is not None else False


def path_key(path: str | os.PathLike[str]) -> str:
    text = os.path.abspath(os.fspath(path))
    return os.path.normcase(text) if WINDOWS else text


def same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return path_key(a) == path_key(Path(b))
