"""The checksum operation: manifests that coreutils verifies, for awkward names too."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from batchgui.cli import main

NAMES = [
    b"plain.txt",
    b"with space.txt",
    b"new\nline.txt",
    b"back\\slash.txt",
    b"caf\xe9.bin",
    b"sub/inner.txt",
    b"sub/deeper/more.txt",
    b"empty.txt",
]


def _tree(root: Path) -> Path:
    base = root / "photos"
    for raw in NAMES:
        path = Path(os.fsdecode(os.path.join(os.fsencode(base), raw)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"" if raw == b"empty.txt" else raw * 1000)
    return base


@pytest.mark.parametrize(
    ("algo", "manifest", "tool"),
    [("sha256", "SHA256SUMS", "sha256sum"), ("md5", "MD5SUMS", "md5sum")],
)
@pytest.mark.parametrize("mode", ["thread", "process"])
def test_manifest_passes_coreutils_check(tmp_path, algo, manifest, tool, mode):
    base = _tree(tmp_path)
    out = tmp_path / "sums"
    code = main(
        [
            "run",
            str(base),
            "--op",
            "checksum",
            "--set",
            f"algo={algo}",
            "--out",
            str(out),
            "--mode",
            mode,
            "--workers",
            "3",
            "--quiet",
        ]
    )
    assert code == 0
    check = subprocess.run([tool, "-c", str(out / manifest)], cwd=base, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(b": OK") == len(NAMES)


def test_blake3_manifest_has_the_reference_digests(tmp_path):
    import blake3

    base = _tree(tmp_path)
    out = tmp_path / "sums"
    assert (
        main(
            [
                "run",
                str(base),
                "--op",
                "checksum",
                "--set",
                "algo=blake3",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    lines = (out / "B3SUMS").read_bytes().splitlines()
    assert len(lines) == len(NAMES)  # the name with a newline is escaped onto one line
    plain = next(line for line in lines if line.endswith(b"  plain.txt"))
    assert plain.split(b"  ")[0].decode() == blake3.blake3(b"plain.txt" * 1000).hexdigest()


def test_files_given_directly_are_named_relative_to_their_common_folder(tmp_path):
    base = _tree(tmp_path)
    out = tmp_path / "sums"
    files = [base / "plain.txt", base / "sub" / "inner.txt"]
    assert main(["run", *map(str, files), "--op", "checksum", "--out", str(out), "--quiet"]) == 0
    text = (out / "SHA256SUMS").read_text()
    assert "  plain.txt\n" in text and "  sub/inner.txt\n" in text
    check = subprocess.run(
        ["sha256sum", "-c", str(out / "SHA256SUMS")], cwd=base, capture_output=True
    )
    assert check.returncode == 0


def test_sources_are_untouched_and_no_folders_are_mirrored(tmp_path):
    base = _tree(tmp_path)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*") if p.is_file()}
    out = tmp_path / "sums"
    assert main(["run", str(base), "--op", "checksum", "--out", str(out), "--quiet"]) == 0
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*") if p.is_file()}
    assert before == after
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS"]


def test_a_file_that_grows_while_it_is_hashed_gets_no_digest_and_is_tried_again(tmp_path):
    """A digest of a file that changed mid-read matches neither version: the task
    fails with a retryable error saying so, and a later attempt, once the file
    has settled, records the digest of what is there."""
    import hashlib

    from batchgui.core import BatchProcessor, RetryPolicy, TaskStatus
    from batchgui.core.errors import SourceChanged
    from batchgui.core.operation import TaskContext
    from batchgui.operations.checksum import checksum
    from tests.conftest import build_batch

    log = tmp_path / "in" / "growing.log"
    log.parent.mkdir()
    log.write_bytes(b"line\n" * (2 << 20))  # 10 MiB: hashed in chunks, with progress

    def append_once(fraction: float, done: list[bool] = []) -> None:  # noqa: B006
        if not done:  # someone writes to the log while it is being read
            done.append(True)
            with open(log, "ab") as handle:
                handle.write(b"one more line\n")

    ctx = TaskContext(on_progress=append_once)
    with pytest.raises(SourceChanged, match=r"growing\.log changed while it was read"):
        checksum(log, tmp_path / "out", {"algo": "sha256"}, ctx)
    assert "digest" not in ctx.data

    # through the engine: SourceChanged is retried like any passing failure
    batch, spec = build_batch(checksum, [tmp_path / "in"], tmp_path / "out",
                              options={"algo": "sha256"})  # fmt: skip
    import asyncio

    async def scenario():
        engine = BatchProcessor(1, retry=RetryPolicy(max_retries=2, base_delay_s=0))
        await asyncio.wait_for(engine.run(batch, spec), 60)
        await engine.aclose()

    asyncio.run(scenario())
    [task] = batch.tasks
    assert task.status is TaskStatus.COMPLETED
    assert task.data["digest"] == hashlib.sha256(log.read_bytes()).hexdigest()


def test_read_steadily_notices_a_file_replaced_under_it(tmp_path):
    from batchgui.core.errors import SourceChanged
    from batchgui.core.files import read_steadily

    source = tmp_path / "a.txt"
    source.write_text("first")
    with read_steadily(source):
        pass  # untouched: nothing said
    with pytest.raises(SourceChanged), read_steadily(source):
        replacement = tmp_path / "b.txt"
        replacement.write_text("other")  # same size, another file
        os.replace(replacement, source)
