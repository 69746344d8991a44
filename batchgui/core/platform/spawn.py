"""Starting a command as cheaply as the system allows, in a group of its own.

    spawn(argv, executable, env, stdout=fd, stderr=fd) ─► a process with .pid,
          .returncode, .wait(), .poll()
        native (Linux, macOS): os.posix_spawn — vfork semantics, so nothing of
            batchgui's memory is copied — with POSIX_SPAWN_SETSID: a session and
            process group of its own (frozen and killed whole, out of reach of
            Ctrl-C in batchgui's terminal); stdin /dev/null; stdout and stderr
            onto the descriptors given (files, or pipes when output is read live)
        portable (Windows; BATCHGUI_PLATFORM=portable): subprocess.Popen with the
            same streams and processes.group_options()
    output_file() ─► an anonymous file for a command's output (O_TMPFILE on Linux:
        one system call, nothing to delete), read only when there is something
        in it (tail()); OutputFiles keeps them for the next command

Python opens every descriptor close-on-exec (PEP 446), so a command inherits
only the three it is given.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import tempfile

from batchgui.core.platform import portable, processes

log = logging.getLogger(__name__)

_NO_HANG = getattr(os, "WNOHANG", 1)  # POSIX (Spawned is made only there)


class Spawned:
    """A command started with posix_spawn: what Popen offers that exec needs."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, _NO_HANG)
            except ChildProcessError:
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except InterruptedError:
                continue
            except ChildProcessError:  # reaped elsewhere: the status is lost
                self.returncode = 255
                break
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def spawn(
    argv: list[str], executable: str, env: dict[str, str] | None, *, stdout: int, stderr: int
) -> Spawned | subprocess.Popen[bytes]:
    """Start the command; OSError (FileNotFoundError, PermissionError) if it cannot."""
    if sys.platform != "win32" and not portable():
        actions = [
            (os.POSIX_SPAWN_DUP2, _devnull(), 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ]
        environment = os.environ if env is None else env
        pid = os.posix_spawn(executable, argv, environment, file_actions=actions, setsid=True)
        return Spawned(pid)
    return subprocess.Popen(
        argv,
        executable=executable,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=env,
        **processes.group_options(),
    )


@functools.cache
def _devnull() -> int:
    return os.open(os.devnull, os.O_RDONLY)  # kept open: every command's stdin


def output_file() -> int:
    """A descriptor of an anonymous, empty file (closed by the caller)."""
    folder = tempfile.gettempdir()
    anonymous = getattr(os, "O_TMPFILE", 0)  # Linux
    if anonymous:
        try:
            return os.open(folder, anonymous | os.O_RDWR, 0o600)
        except OSError:  # a file system without O_TMPFILE
            pass
    if sys.platform == "win32":  # deleted when closed; open files cannot be unlinked
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_TEMPORARY | os.O_BINARY
        return os.open(os.path.join(folder, f"batchgui-out-{os.urandom(8).hex()}"), flags)
    handle, name = tempfile.mkstemp(prefix="batchgui-out-")
    os.unlink(name)  # gone from the folder, alive while open
    return handle


class OutputFiles:
    """Anonymous output files handed from one command to the next instead of opened
    and closed for each (four system calls a command): give_back empties a file
    that was written to. Thread-safe (list append and pop are atomic).

    A process a command set loose in a session of its own survives the kill of the
    command's group and could write to its file after the next command got it; the
    tail of that command's output could then hold its words (exit statuses, and so
    verdicts, are unaffected)."""

    _KEPT = 64  # files kept at most (two per command running at once)

    def __init__(self) -> None:
        self._free: list[int] = []

    def take(self) -> int:
        try:
            return self._free.pop()
        except IndexError:
            return output_file()

    def give_back(self, fd: int, written: bool) -> None:
        """`written`: whether tail() found anything (the file is then emptied). Called
        from `finally`: a file that cannot be emptied is closed and logged, not raised
        (that would hide why the command's task ended, and leak its other file)."""
        try:
            if written:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
        except OSError:
            log.exception("cannot empty a command's output file for reuse; closed instead")
            os.close(fd)
            return
        if len(self._free) < self._KEPT:
            self._free.append(fd)
        else:
            os.close(fd)


def tail(fd: int, size: int) -> bytes:
    """The last `size` bytes written to an output file (b"": nothing written)."""
    length = os.fstat(fd).st_size
    if not length:
        return b""
    os.lseek(fd, max(0, length - size), os.SEEK_SET)
    return os.read(fd, size)
