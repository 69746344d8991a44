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
