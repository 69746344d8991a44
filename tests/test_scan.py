"""Discovery: every filter and exclusion, with the reason each file is left out."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from batchgui.scan.filters import Filters, compile_name, parse_size, parse_when
from batchgui.scan.walk import InputError, scan, stream_scan
from tests.conftest import make_files


def _write(path: Path, data: bytes | str = b"x", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _reasons(root: Path, filters: Filters | None = None, **kw) -> dict[str, str | None]:
    return {os.path.relpath(e.path, root): e.reason for e in scan([root], filters, **kw)}


def test_extension_filter_is_case_insensitive_and_knows_multi_part_suffixes(tmp_path):
    for name in ("a.PDF", "b.pdf", "c.tar.gz", "d.gz", "e.docx", "f"):
        _write(tmp_path / name)
    got = _reasons(tmp_path, Filters(extensions=(".pdf", "tar.gz", "DOCX")))
    assert got == {
        "a.PDF": None,
        "b.pdf": None,
        "c.tar.gz": None,
        "d.gz": "extension",
        "e.docx": None,
        "f": "extension",
    }


def test_size_filter_with_unit_suffixes(tmp_path):
    _write(tmp_path / "small", b"x" * 100)
    _write(tmp_path / "mid", b"x" * 20_000)
    _write(tmp_path / "large", b"x" * 3_000_000)
    got = _reasons(tmp_path, Filters(min_size=parse_size("10K"), max_size=parse_size("2M")))
    assert got == {"small": "size", "mid": None, "large": "size"}
    assert parse_size("1.5MiB") == 1572864 and parse_size("300") == 300
    with pytest.raises(ValueError, match="bad size"):
        parse_size("ten")


def test_date_filter_with_iso_dates_and_ages(tmp_path):
    now = time.time()
    _write(tmp_path / "old", mtime=now - 30 * 86400)
    _write(tmp_path / "recent", mtime=now - 2 * 86400)
    _write(tmp_path / "today", mtime=now - 60)
    got = _reasons(tmp_path, Filters(newer_than=parse_when("7d"), older_than=parse_when("1h")))
    assert got == {"old": "date", "recent": None, "today": "date"}
    assert parse_when("2024-05-01") < parse_when("2024-05-01T12:30")
    with pytest.raises(ValueError, match="bad date"):
        parse_when("last tuesday")


def test_name_regex_and_a_bad_one(tmp_path):
    for name in ("IMG_001.jpg", "img_002.jpg", "notes.txt"):
        _write(tmp_path / name)
    got = _reasons(tmp_path, Filters(name=compile_name(r"^IMG_\d+")))
    assert got == {"IMG_001.jpg": None, "img_002.jpg": "name", "notes.txt": "name"}
    with pytest.raises(ValueError, match="bad name pattern"):
        compile_name("([")


def test_gitignore_patterns_and_paths_exclude_without_walking_in(tmp_path):
    _write(tmp_path / "keep.txt")
    _write(tmp_path / "debug.log")
    _write(tmp_path / "sub" / "trace.log")
    _write(tmp_path / "sub" / "important.log")
    _write(tmp_path / "node_modules" / "lib" / "x.js")
    _write(tmp_path / "private" / "secret.txt")
    filters = Filters(
        exclude=("*.log", "!important.log", "node_modules/"), exclude_paths=(tmp_path / "private",)
    )
    got = _reasons(tmp_path, filters)
    assert got == {
        "debug.log": "excluded",
        "keep.txt": None,
        "node_modules": "excluded",
        "private": "excluded",
        "sub/important.log": None,
        "sub/trace.log": "excluded",
    }


def test_hidden_files_and_folders_are_left_out_unless_asked(tmp_path):
    _write(tmp_path / ".env")
    _write(tmp_path / ".git" / "config")
    _write(tmp_path / "visible.txt")
    assert _reasons(tmp_path) == {".env": "hidden", ".git": "hidden", "visible.txt": None}
    assert _reasons(tmp_path, Filters(hidden=True)) == {
        ".env": None,
        ".git/config": None,
        "visible.txt": None,
    }


def test_symlinks_are_reported_not_followed_and_loops_end(tmp_path):
    _write(tmp_path / "real" / "file.txt")
    (tmp_path / "real" / "loop").symlink_to(tmp_path)  # a loop back to the top
    (tmp_path / "real" / "alias.txt").symlink_to(tmp_path / "real" / "file.txt")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    assert _reasons(tmp_path) == {
        "broken": "symlink",
        "real/alias.txt": "symlink",
        "real/file.txt": None,
        "real/loop": "symlink",
    }
    followed = {
        os.path.relpath(e.path, tmp_path): (e.reason, e.detail)
        for e in scan([tmp_path], Filters(follow_symlinks=True))
    }
    assert followed["real/alias.txt"] == (None, None)
    assert followed["real/loop"] == ("symlink", "folder already walked (a loop)")
    assert followed["broken"] == ("symlink", "broken link")


def test_an_unreadable_folder_is_reported_and_the_rest_still_found():
    # root reads everything, so the scan runs as an unprivileged user when we are root
    base = Path(tempfile.mkdtemp(prefix="batchgui-unreadable-"))
    try:
        os.chmod(base, 0o755)
        _write(base / "ok.txt")
        _write(base / "locked" / "hidden-from-us.txt")
        os.chmod(base / "ok.txt", 0o644)
        os.chmod(base / "locked", 0o000)
        # imports first, then (as root) drop to an unprivileged user, then scan
        code = (
            "import os, sys; from batchgui.scan.walk import scan; "
            "os.geteuid() == 0 and os.setuid(65534); "
            "[print(e.path.name, e.reason, e.detail) for e in scan([sys.argv[1]])]"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(base)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            "locked unreadable Permission denied",
            "ok.txt None None",
        ]
    finally:
        os.chmod(base / "locked", 0o755)
        subprocess.run(["rm", "-rf", str(base)], check=True)


def test_missing_paths_are_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="nope: no such file or folder"):
        list(scan([tmp_path / "nope"]))
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(InputError, match="broken symbolic link"):
        list(scan([tmp_path / "dangling"]))


def test_non_utf8_and_nfc_nfd_names_are_all_found(tmp_path):
    raw = os.fsencode(tmp_path)
    for name in (b"caf\xc3\xa9.txt", b"cafe\xcc\x81.txt", b"latin\xe9.txt"):  # NFC, NFD, latin-1
        with open(os.path.join(raw, name), "wb") as handle:
            handle.write(name)
    names = sorted(os.fsencode(e.path.name) for e in scan([tmp_path]) if e.included)
    assert names == sorted([b"caf\xc3\xa9.txt", b"cafe\xcc\x81.txt", b"latin\xe9.txt"])


def test_streaming_delivers_chunks_and_stops_when_the_consumer_leaves(tmp_path):
    for i in range(2500):
        _write(tmp_path / f"d{i % 10}" / f"f{i}.txt")

    async def consume(limit):
        seen, chunks = 0, 0
        async for chunk in stream_scan([tmp_path], chunk=100):
            seen += len(chunk)
            chunks += 1
            if limit and seen >= limit:
                break
        return seen, chunks

    seen, chunks = asyncio.run(consume(None))
    assert seen == 2500 and chunks >= 25
    seen, _ = asyncio.run(consume(300))
    assert seen == 300


def test_streaming_raises_input_errors_in_the_consumer(tmp_path):
    async def consume():
        async for _ in stream_scan([tmp_path / "missing"]):
            pass

    with pytest.raises(InputError):
        asyncio.run(consume())


def test_a_scan_freezes_what_it_finds_and_unfreezes_when_done(tmp_path, monkeypatch):
    """Full collections do not re-walk a growing scan (frozen as it goes), and a scan
    that ends leaves nothing frozen unless a batch holds the heap: a process that
    scans again and again (`watch`) never keeps cycles uncollectable."""
    import gc

    from batchgui.core import collector

    make_files(tmp_path, 7)
    monkeypatch.setattr(collector, "FREEZE_EVERY", 3)
    gc.unfreeze()
    seen_frozen = []
    for _entry in scan([tmp_path]):
        seen_frozen.append(gc.get_freeze_count() > 0)
    assert any(seen_frozen)  # frozen while it ran
    assert gc.get_freeze_count() == 0  # and not after

    async def while_a_batch_holds_the_heap() -> int:
        collector.heap.hold()
        try:
            await asyncio.to_thread(lambda: list(scan([tmp_path])))  # as the window scans
            return gc.get_freeze_count()
        finally:
            collector.heap.release()

    assert asyncio.run(while_a_batch_holds_the_heap()) > 0  # left to the holder
    assert gc.get_freeze_count() == 0  # whose release undoes it
