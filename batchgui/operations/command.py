"""`exec`: run a command once per file.

    template ─► argv (templates.py: file names always whole arguments, also
                for `sh -c` scripts and --shell) ─► run without a shell in a
                new session (its own process group), started with posix_spawn ─►
                exit 0: completed; otherwise failed with the tail of its
                standard error

Output: stdout and stderr go to two anonymous files, whose last 8 KiB are
read once the command has ended (and only if it wrote something): nothing is
watched while it runs. The files pass on to the next command (emptied if
written), not opened and closed for each: a tenth of batchgui's CPU per command.
What the command left running in its group is killed as it exits.

With `progress_regex`, the output comes through pipes instead and every piece
of it (stdout and stderr: tools print progress to either) is searched, and the last percentage
found is the task's progress. File names reach the command byte
for byte: a name that is not UTF-8 travels as a surrogate-escaped str and
os.fsencode restores the bytes. With `shell`, the template is a /bin/sh script
that gets the file's fields as positional parameters ("$1"), never as text.

Waiting: a plain function, so each command's worker thread (thread mode, the
default; in async mode the runner's threads) waits for it blocking, with the
GIL released (core/platform/exits.py): an event loop that spawned and watched
every command spent more of its own time per command than the commands did
(5,000 gzips, the whole command: 1.4-1.6x the time of xargs -P2; this way 1.3x).

Stopping: on cancel or timeout the whole process group is SIGKILLed (so
grandchildren go too): the waiting thread looks at `ctx.cancelled` every
_POLL_S, and in process mode the engine also kills the group it was told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO, Any

from batchgui.core.errors import OperationError, PermanentError
from batchgui.core.operation import Option, TaskContext, operation
from batchgui.core.platform import commands, exits, jobs, pipes, processes, spawn
from batchgui.core.platform.guardian import command_environment, guardian
from batchgui.operations.templates import compile_command
from batchgui.operations.templates import placeholders_in as placeholders_in  # re-exported

_POLL_S = 0.05  # how often a waiting command's thread looks at the cancel flag
_TAIL_BYTES = 8192
_DRAIN_S = 1.0
_OUTPUT_FILES = spawn.OutputFiles()  # reused by the commands batchgui runs


def validate(options: dict[str, Any]) -> None:
    template = options.get("command") or ""
    if not template.strip():
        raise ValueError("exec needs a command, for example --exec 'gzip -k {path}'")
    command = compile_command(template, bool(options.get("shell")))  # TemplateError
    if not command.words or not command.words[0]:
        raise ValueError("the command is empty")
    progress_pattern(options.get("progress_regex") or "")


def preflight(options: dict[str, Any]) -> None:
    """The program is here, before a batch of thousands each fails to find it. A
    program named by a placeholder ({path}: each file run) is known only per file."""
    command = compile_command(options.get("command") or "", bool(options.get("shell")))
    if command.shell or placeholders_in(command.words[0]):
        return
    program = command.words[0].replace("{{", "{").replace("}}", "}")
    try:
        path = _executable(program)
    except PermanentError as exc:
        raise ValueError(str(exc)) from None
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise ValueError(f"command not found or not executable: {program}")


@functools.lru_cache(maxsize=32)
def progress_pattern(text: str) -> re.Pattern[bytes] | None:
    """The --progress-regex: its first group (or whole match) is a percentage."""
    if not text:
        return None
    try:
        pattern = re.compile(text.encode())
    except re.error as exc:
        raise ValueError(f"bad progress regex {text!r}: {exc}") from None
    if pattern.groups > 1:
        raise ValueError(f"progress regex {text!r}: use at most one group, the percentage")
    return pattern


def percent_in(pattern: re.Pattern[bytes], chunk: bytes) -> float | None:
    """The last percentage the pattern finds in a piece of output, as a fraction."""
    found = None
    for match in pattern.finditer(chunk):
        digits = re.sub(rb"[^0-9.]", b"", match.group(pattern.groups and 1))
        with contextlib.suppress(ValueError):
            found = float(digits) / 100
    return found


def fields(src: Path, out_dir: Path, root: Path | None) -> dict[str, str]:
    path = str(src)
    base = str(root) if root is not None and root != src else str(src.parent)
    # a prefix cut, not os.path.relpath: this runs once per file
    rel = path[len(base) + 1 :] if path.startswith(base + os.sep) else src.name
    return {
        "path": path,
        "name": src.name,
        "stem": src.stem,
        "ext": src.suffix,
        "parent": str(src.parent),
        "rel": rel,
        "out": str(out_dir),
    }


def build_argv(template: str, values: dict[str, str], shell: bool) -> list[str]:
    return compile_command(template, shell).argv(values)


def command_line(options: dict[str, Any], src: Path, out_dir: Path, root: Path | None) -> str:
    """The command a task runs, as a line for this system's shell (the details pane)."""
    try:
        argv = build_argv(
            str(options.get("command", "")),
            fields(src, out_dir, root),
            bool(options.get("shell", False)),
        )
    except ValueError as exc:
        return f"(cannot be built: {exc})"
    return commands.join(argv)


@functools.lru_cache(maxsize=256)
def _executable(name: str) -> str:
    """The program's path, looked up in PATH once per name (not once per file)."""
    if os.sep in name:
        return name
    found = shutil.which(name)
    if found is None:
        raise PermanentError(f"command not found: {name}")
    return found


@operation(
    "exec",
    "Run a command per file",
    mode="thread",  # a command per worker thread, waited for with the GIL released
    per_file_outputs=False,
    incremental=False,  # what a command writes is unknown, so it always runs
    validate=validate,
    preflight=preflight,
    options=[
        Option("command", str, "", "command template, e.g. gzip -k {path}"),
        Option("shell", bool, False, "run through /bin/sh"),
        Option(
            "progress_regex",
            str,
            "",
            "a regex finding the command's progress percentage in its output, e.g. (\\d+)%",
        ),
    ],
)
def run_command(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """Run a command once per file; placeholders {path} {name} {stem} {ext} {parent} {rel} {out}."""
    command = compile_command(options["command"], options["shell"])
    if command.uses_out:
        out_dir.mkdir(parents=True, exist_ok=True)
    argv = command.argv(fields(src, out_dir, ctx.root))
    guardian().start(ctx.batch_id)  # so that no command can outlive batchgui
    pattern = progress_pattern(options.get("progress_regex") or "")
    if pattern is None:
        code, stdout, stderr = _run_quietly(argv, ctx)
    else:  # the pipes are read on a loop of this call's own
        code, stdout, stderr = asyncio.run(_run_watched(argv, pattern, ctx))
    # the tails are kept with the task, failed or not (the window's details pane)
    for name, kept in (("stdout_tail", stdout), ("stderr_tail", stderr)):
        if kept:
            ctx.data[name] = kept.decode(errors="replace")
    if code != 0:
        raise OperationError(_describe_exit(code, stderr), ctx.data)
    return []


def _run_quietly(argv: list[str], ctx: TaskContext) -> tuple[int, bytes, bytes]:
    """The command with its output going to two anonymous files, whose tails are
    read once it has ended (nothing is read when it wrote nothing): no pipes to
    watch while it runs."""
    out, err = _OUTPUT_FILES.take(), _OUTPUT_FILES.take()
    stdout = stderr = None
    try:
        proc = _start(argv, ctx, out, err)
        try:
            code = _wait(proc, ctx)
        finally:
            _reap(proc, ctx)
        stdout, stderr = spawn.tail(out, _TAIL_BYTES), spawn.tail(err, _TAIL_BYTES)
        return code, stdout, stderr
    finally:
        # not read (an error, a cancel): emptied all the same
        _OUTPUT_FILES.give_back(out, written=stdout != b"")
        _OUTPUT_FILES.give_back(err, written=stderr != b"")


async def _run_watched(
    argv: list[str], pattern: re.Pattern[bytes], ctx: TaskContext
) -> tuple[int, bytes, bytes]:
    """The command with its output read through pipes as it comes (--progress-regex)."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    # closed by _Output (or just below, if the command cannot start)
    readers: list[IO[bytes]] = [os.fdopen(fd, "rb", buffering=0) for fd in (out_read, err_read)]
    try:
        proc = _start(argv, ctx, out_write, err_write)
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    finally:
        os.close(out_write)  # the command has its own copies: end of file comes with it
        os.close(err_write)
    output = _Output(readers, pattern, ctx)
    try:
        # waited for on a thread, while this call's own loop reads the pipes
        code = await asyncio.to_thread(_wait, proc, ctx)
        if not await output.finished(_DRAIN_S):  # a process set loose kept them open
            _kill_group(proc.pid)
    finally:
        _reap(proc, ctx)
        output.close()
    return code, bytes(output.stdout), bytes(output.stderr)


def _start(argv: list[str], ctx: TaskContext, stdout: int, stderr: int) -> Any:
    """Start the command (core/platform/spawn.py) with this batch's mark in its
    environment; a missing or unrunnable program fails its task for good."""
    env = command_environment(ctx.batch_id)
    try:
        proc = spawn.spawn(argv, _executable(argv[0]), env, stdout=stdout, stderr=stderr)
    except FileNotFoundError:
        raise PermanentError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise PermanentError(f"command not executable: {argv[0]}") from None
    if isinstance(proc, subprocess.Popen):
        jobs.contain(proc)  # Windows: it dies with this process (POSIX: the guardian)
    return proc


def _wait(proc: Any, ctx: TaskContext) -> int:
    """The exit status, waited for in this thread (core/platform/exits.py) with a look
    at `ctx.cancelled` every _POLL_S (InterruptedError: _reap then kills the group).
    What the command left running in its group is killed as it exits, before it is
    reaped (so that its number cannot have been reused)."""
    ctx.child_started(proc.pid)  # its pid stands for its whole tree (core/platform)
    watch = exits.ExitWatch(proc)
    try:
        while not watch.ended(_POLL_S):
            if ctx.cancelled:
                raise InterruptedError("cancelled")
        processes.end_group_of_exited(proc.pid)
        return int(proc.wait())
    finally:
        watch.close()


def _reap(proc: Any, ctx: TaskContext) -> None:
    """(finally) A command still running is killed with its group and waited for."""
    if proc.returncode is None:
        _kill_group(proc.pid)
        proc.wait()
    ctx.child_started(None)


class _Output:
    """Reads a process's stdout and stderr as they come, keeping the last bytes of each."""

    def __init__(
        self, readers: list[IO[bytes]], progress: re.Pattern[bytes] | None, ctx: TaskContext
    ) -> None:
        self._progress, self._ctx = progress, ctx
        self._loop = asyncio.get_running_loop()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._kept = (self.stdout, self.stderr)
        self._open = {0, 1}
        self._all_closed = self._loop.create_future()
        self._stop = pipes.read_pipes(self._loop, readers, self._chunk, self._ended)

    def _chunk(self, index: int, chunk: bytes) -> None:
        kept = self._kept[index]
        kept += chunk
        del kept[:-_TAIL_BYTES]
        if self._progress is not None:
            fraction = percent_in(self._progress, chunk)
            if fraction is not None:
                self._ctx.progress(fraction)

    def _ended(self, index: int) -> None:
        self._open.discard(index)
        if not self._open and not self._all_closed.done():
            self._all_closed.set_result(None)

    async def finished(self, timeout: float) -> bool:
        """Wait for end of file on both pipes; False if still open after `timeout`."""
        if self._all_closed.done():
            return True
        done, _ = await asyncio.wait({self._all_closed}, timeout=timeout)
        return bool(done)

    def close(self) -> None:
        self._stop()
        self._open.clear()


def _kill_group(pid: int) -> None:
    processes.kill_tree(pid)


def _describe_exit(code: int, stderr: bytes) -> str:
    if code < 0:
        try:
            what = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            what = f"killed by signal {-code}"
    else:
        what = f"exit status {code}"
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    tail = " | ".join(lines[-3:])
    if len(tail) > 500:
        tail = "…" + tail[-499:]
    return f"{what}: {tail}" if tail else what
