"""`checksum`: hash every file, then write one manifest that `sha256sum -c` accepts.

Each task hashes its file in chunks and reports the hex digest in `ctx.data`;
`write_manifest` runs once when the batch ends and writes `SHA256SUMS`
(`B3SUMS`, `MD5SUMS`) into the output folder, one line per file, named
relative to the inputs' common base folder, in GNU coreutils' format.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3

from batchgui.core.files import read_steadily
from batchgui.core.operation import Option, TaskContext, atomic_write, make_folder, operation

ALGORITHMS: dict[str, tuple[str, Callable[[], Any]]] = {
    "sha256": ("SHA256SUMS", hashlib.sha256),
    "blake3": ("B3SUMS", blake3.blake3),
    "md5": ("MD5SUMS", hashlib.md5),
}
_CHUNK = 1 << 20


def write_manifest(
    entries: list[tuple[Path, dict[str, Any]]], out_root: Path, base: Path, options: dict[str, Any]
) -> list[Path]:
    name, _ = ALGORITHMS[options["algo"]]
    # in path order (bytes, like `LC_ALL=C sort`): the same tree gives the same file
    named = sorted(
        (os.fsencode(os.path.relpath(path, base)), _recorded_or_read(path, data, options))
        for path, data in entries
    )
    lines = [_manifest_line(digest, os.fsdecode(relative)) for relative, digest in named]
    manifest = make_folder(out_root) / name
    with atomic_write(manifest) as handle:
        handle.writelines(lines)
    return [manifest]


def _recorded_or_read(path: Path, data: dict[str, Any], options: dict[str, Any]) -> str:
    """The digest its task recorded; or, for a task that completed without one
    being kept (a batch imported from an export made before digests travelled
    with it), the file's digest read now. OSError (one line) if it cannot be."""
    digest = data.get("digest")
    if isinstance(digest, str):
        return digest
    try:
        return _digest(path, options, TaskContext())
    except OSError as exc:
        raise OSError(
            f"{ALGORITHMS[options['algo']][0]} not written: {path} has no recorded digest "
            f"and cannot be read ({exc.strerror or exc})"
        ) from exc


def _manifest_line(digest: str, relative: str) -> bytes:
    raw = os.fsencode(relative)
    if b"\\" in raw or b"\n" in raw or b"\r" in raw:
        # coreutils' escaping: a leading backslash says the name is escaped
        escaped = raw.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        return b"\\" + digest.encode() + b"  " + escaped + b"\n"
    return digest.encode() + b"  " + raw + b"\n"


def manifest_path(out_root: Path, options: dict[str, Any]) -> list[Path]:
    return [out_root / ALGORITHMS[options["algo"]][0]]


@operation(
    "checksum",
    "Checksum files",
    mode="thread",
    per_file_outputs=False,
    finalize=write_manifest,
    planned_outputs=lambda src, out_dir, options: [],  # one manifest for the batch
    planned_batch_outputs=manifest_path,
    options=[Option("algo", str, "sha256", "hash algorithm", choices=tuple(ALGORITHMS))],
)
def checksum(src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext) -> list[Path]:
    """Hash every file and write a manifest (SHA256SUMS, B3SUMS or MD5SUMS)."""
    with read_steadily(src):  # a digest of a file changing meanwhile matches no version
        digest = _digest(src, options, ctx)
    ctx.data["digest"] = digest
    return []


def _digest(src: Path, options: dict[str, Any], ctx: TaskContext) -> str:
    hasher = ALGORITHMS[options["algo"]][1]()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    size = max(1, os.path.getsize(src))
    done = 0
    with open(src, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
            done += count
            if size > 8 * _CHUNK:
                ctx.progress(done / size)
                if ctx.cancelled:
                    raise InterruptedError("cancelled")
    return str(hasher.hexdigest())
