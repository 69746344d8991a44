"""`exec`: run a command once per file.

    template ─► shlex.split ─► each word formatted with the file's fields
             ─► argv, run without a shell in a new session (its own process
                group) ─► exit 0: completed; otherwise failed with the tail of
                its standard error

With `shell`, the template is formatted with shell-quoted fields and run by
/bin/sh. File names reach the command byte for byte: a name that is not
UTF-8 travels as a surrogate-escaped str and os.fsencode restores the bytes.

Stopping: on cancel or timeout the whole process group is SIGKILLed (so
grandchildren go too). In async mode that happens in `finally` when the task
is cancelled; in thread and process modes the call polls `ctx.cancelled`,
and in process mode the engine also kills the group it was told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import string
from pathlib import Path
from typing import Any

from batchgui.core.errors import OperationError, PermanentError
from batchgui.core.operation import Option, TaskContext, operation

PLACEHOLDERS = {
    "path": "the file's absolute path",
    "name": "its name",
    "stem": "its name without the last extension",
    "ext": "its last extension, with the dot",
    "parent": "its folder",
    "rel": "its path relative to the folder you gave",
    "out": "its output folder (created when the command names it)",
}
_POLL_S = 0.2
_TAIL_BYTES = 8192
_DRAIN_S = 1.0


def placeholders_in(template: str) -> set[str]:
    """The fields a template names; ValueError for an unknown or malformed one."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bad command template: {exc} (write {{{{ and }}}} for braces)") from None
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in PLACEHOLDERS or spec or conversion:
            known = " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise ValueError(
                f"unknown placeholder {{{field_name}}} in the command (known: {known})"
            )
        names.add(field_name)
    return names


def validate(options: dict[str, Any]) -> None:
    template = options.get("command") or ""
    if not template.strip():
        raise ValueError("exec needs a command, for example --exec 'gzip -k {path}'")
    placeholders_in(template)
    if not options.get("shell"):
        try:
            words = shlex.split(template)
        except ValueError as exc:
            raise ValueError(f"cannot split the command into words: {exc}") from None
        if not words:
            raise ValueError("the command is empty")


def fields(src: Path, out_dir: Path, root: Path | None) -> dict[str, str]:
    root = root or src.parent
    rel = src.name if root == src else os.path.relpath(src, root)
    return {
        "path": str(src),
        "name": src.name,
        "stem": src.stem,
        "ext": src.suffix,
        "parent": str(src.parent),
        "rel": rel,
        "out": str(out_dir),
    }


def build_argv(template: str, values: dict[str, str], shell: bool) -> list[str]:
    if shell:
        quoted = {key: shlex.quote(value) for key, value in values.items()}
        return ["/bin/sh", "-c", template.format_map(quoted)]
    return [word.format_map(values) for word in shlex.split(template)]


@operation(
    "exec",
    "Run a command per file",
    mode="async",
    per_file_outputs=False,
    validate=validate,
    options=[
        Option("command", str, "", "command template, e.g. gzip -k {path}"),
        Option("shell", bool, False, "run through /bin/sh"),
    ],
)
async def run_command(
    src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> list[Path]:
    """Run a command once per file; placeholders {path} {name} {stem} {ext} {parent} {rel} {out}."""
    template = options["command"]
    if "out" in placeholders_in(template):
        out_dir.mkdir(parents=True, exist_ok=True)
    argv = build_argv(template, fields(src, out_dir, ctx.root), options["shell"])
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise PermanentError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise PermanentError(f"command not executable: {argv[0]}") from None
    ctx.child_started(proc.pid)  # start_new_session: its pid is its process group
    readers = [asyncio.ensure_future(_tail(proc.stdout)), asyncio.ensure_future(_tail(proc.stderr))]
    try:
        code = await _wait(proc, ctx)
        _, pending = await asyncio.wait(readers, timeout=_DRAIN_S)
        if pending:  # a grandchild kept the pipes open after the command exited
            _kill_group(proc.pid)
    finally:
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(proc.wait())
        for reader in readers:
            reader.cancel()
        ctx.child_started(None)
    stdout, stderr = (r.result() if r.done() and not r.cancelled() else b"" for r in readers)
    if stdout:
        ctx.data["stdout_tail"] = stdout.decode(errors="replace")
    if code != 0:
        raise OperationError(_describe_exit(code, stderr))
    return []


async def _wait(proc: asyncio.subprocess.Process, ctx: TaskContext) -> int:
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=_POLL_S)
            if done:
                return waiter.result()
            if ctx.cancelled:
                _kill_group(proc.pid)
                raise InterruptedError("cancelled")
    finally:
        waiter.cancel()


async def _tail(stream: asyncio.StreamReader | None) -> bytes:
    kept = b""
    if stream is None:
        return kept
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-_TAIL_BYTES:]
    return kept


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


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
