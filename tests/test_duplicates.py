"""Duplicates found by content, done once, copied to every duplicate; incremental reruns."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from pathlib import Path

from batchgui.core import Batch, BatchProcessor, RetryPolicy, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.scan.duplicates import HEAD_BYTES, find_duplicates
from batchgui.scan.filters import Filters
from batchgui.scan.incremental import MemoryResultCache, operation_key
from batchgui.scan.prepare import prepare
from batchgui.scan.walk import scan
from batchgui.session.recorder import ResultRecorder
from batchgui.store import BatchJournal, Store
from tests.plugins import testops


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _tree(root: Path) -> dict[str, Path]:
    rng = random.Random(7)
    mib = rng.randbytes(1 << 20)
    files = {
        "a": _write(root / "a.bin", mib + b"tail one"),
        "a_copy": _write(root / "sub" / "renamed.dat", mib + b"tail one"),
        "a_copy2": _write(root / "zz" / "again.bin", mib + b"tail one"),
        "trap": _write(root / "trap.bin", mib + b"tail two"),  # same size and first MiB
        "same_size": _write(root / "s1.txt", b"abcd"),
        "same_size_other": _write(root / "s2.txt", b"abce"),
        "small": _write(root / "small1.txt", b"hello"),
        "small_copy": _write(root / "small2.txt", b"hello"),
        "empty1": _write(root / "e1", b""),
        "empty2": _write(root / "e2", b""),
    }
    files["hard"] = root / "hardlink.bin"
    os.link(files["trap"], files["hard"])
    return files


def test_duplicates_need_equal_full_contents(tmp_path):
    f = _tree(tmp_path)
    dups = find_duplicates(scan([tmp_path])).duplicate_of
    assert dups == {
        f["a_copy"]: f["a"],
        f["a_copy2"]: f["a"],
        f["small_copy"]: f["small"],
        f["trap"]: f["hard"],  # hard links: the first in scan order is the original
    }
    assert HEAD_BYTES < (1 << 20)  # the trap really shares more than the head


def _run_prepared(prepared, spec, out, cache=None, options=None):
    """Run a prepared batch; with a Store as the cache, saved as the front ends do."""
    options = spec.resolve_options(options or {})
    batch = Batch(spec.name, prepared.plan.tasks, options, out_root=out, base=prepared.plan.base)

    async def scenario():
        engine = BatchProcessor(2, retry=RetryPolicy(max_retries=0))
        journal, results = None, cache
        if isinstance(cache, Store):
            cache.create_batch(batch)
            journal = BatchJournal(cache, engine)
            results = cache.results
        recorder = (
            ResultRecorder(engine, batch, results, operation_key(spec.name, options))
            if results is not None
            else None
        )
        await asyncio.wait_for(engine.run(batch, spec), 60)
        if recorder is not None:
            await recorder.flush()
        if journal is not None:
            await journal.aclose()
        await engine.aclose()

    asyncio.run(scenario())
    return batch


def test_duplicates_are_done_once_and_get_copies_of_the_outputs(tmp_path):
    f = _tree(tmp_path / "in")
    out = tmp_path / "out"
    spec = spec_of(testops.copy)
    prepared = prepare([tmp_path / "in"], Filters(), out)
    batch = _run_prepared(prepared, spec, out)
    by_path = {t.path: t for t in batch.tasks}
    copy = by_path[f["a_copy"]]
    assert copy.status is TaskStatus.SKIPPED and copy.reason == "duplicate"
    assert copy.duplicate_of == f["a"] and copy.attempts == 0
    assert copy.outputs == [out / "sub" / "renamed.dat.copy"]
    assert copy.outputs[0].read_bytes() == f["a"].read_bytes()
    assert by_path[f["trap"]].status is TaskStatus.SKIPPED  # its hard link ran
    ran = [t for t in batch.tasks if t.status is TaskStatus.COMPLETED]
    assert len(ran) == 7 and all(t.attempts == 1 for t in ran)
    # every source has its output: the tree is complete
    for task in batch.tasks:
        rel = task.path.relative_to(tmp_path / "in")
        assert (out / rel.parent / (rel.name + ".copy")).read_bytes() == task.path.read_bytes()


def test_no_dedupe_runs_every_file(tmp_path):
    _tree(tmp_path / "in")
    prepared = prepare([tmp_path / "in"], Filters(), tmp_path / "out", dedupe=False)
    batch = _run_prepared(prepared, spec_of(testops.copy), tmp_path / "out")
    assert batch.counts[TaskStatus.COMPLETED] == 11


def test_when_the_original_fails_its_duplicates_fail_with_it(tmp_path):
    _write(tmp_path / "in" / "a.txt", b"same")
    _write(tmp_path / "in" / "b.txt", b"same")
    prepared = prepare([tmp_path / "in"], Filters(), tmp_path / "out")
    batch = _run_prepared(prepared, spec_of(testops.corrupt), tmp_path / "out")
    original, duplicate = batch.tasks
    assert original.status is TaskStatus.FAILED and original.attempts == 1
    assert duplicate.status is TaskStatus.FAILED and duplicate.attempts == 0
    assert duplicate.error == "same content as a.txt, which failed: a.txt is damaged"
    assert duplicate.error_kind == "corrupt"


def test_a_duplicate_changed_after_the_scan_is_processed_itself(tmp_path):
    _write(tmp_path / "in" / "a.txt", b"same")
    dup = _write(tmp_path / "in" / "b.txt", b"same")
    prepared = prepare([tmp_path / "in"], Filters(), tmp_path / "out")
    assert prepared.plan.tasks[1].duplicate_of is not None
    dup.write_bytes(b"now different and longer")
    batch = _run_prepared(prepared, spec_of(testops.copy), tmp_path / "out")
    second = batch.tasks[1]
    assert second.status is TaskStatus.COMPLETED and second.duplicate_of is None
    assert (tmp_path / "out" / "b.txt.copy").read_bytes() == b"now different and longer"


def test_nfc_and_nfd_names_with_equal_content_are_one_job_and_two_outputs(tmp_path):
    raw = os.fsencode(tmp_path / "in")
    os.makedirs(raw)
    for name in (b"caf\xc3\xa9.txt", b"cafe\xcc\x81.txt"):
        with open(os.path.join(raw, name), "wb") as handle:
            handle.write(b"the same words")
    prepared = prepare([tmp_path / "in"], Filters(), tmp_path / "out")
    batch = _run_prepared(prepared, spec_of(testops.copy), tmp_path / "out")
    statuses = sorted(t.status for t in batch.tasks)
    assert statuses == [TaskStatus.COMPLETED, TaskStatus.SKIPPED]
    outputs = sorted(os.listdir(os.fsencode(tmp_path / "out")))
    assert outputs == sorted([b"caf\xc3\xa9.txt.copy", b"cafe\xcc\x81.txt.copy"])


def test_unchanged_files_are_skipped_on_a_rerun_until_forced(tmp_path):
    files = [_write(tmp_path / "in" / f"f{i}.txt", f"content {i}".encode()) for i in range(5)]
    out = tmp_path / "out"
    spec = spec_of(testops.copy)
    cache = Store(tmp_path / "data")  # it also knows which outputs batchgui made
    key = operation_key(spec.name, spec.resolve_options({}))

    def rerun(**kw):
        prepared = prepare(
            [tmp_path / "in"],
            Filters(),
            out,
            spec=spec,
            cache=cache.results,
            made=cache,
            op_key=key,
            **kw,
        )
        return _run_prepared(prepared, spec, out, cache), prepared

    first, _ = rerun()
    assert first.counts[TaskStatus.COMPLETED] == 5
    second, prepared = rerun()
    assert prepared.unchanged == 5 and second.counts[TaskStatus.SKIPPED] == 5
    assert {t.reason for t in second.tasks} == {"unchanged"}
    assert second.tasks[0].outputs == [out / "f0.txt.copy"]

    os.utime(files[0], (1, 1))  # touched, same content: still unchanged
    files[1].write_bytes(b"edited")  # changed: runs
    (out / "f2.txt.copy").unlink()  # output gone: runs
    third, _ = rerun()
    state = {t.path.name: (t.status, t.reason) for t in third.tasks}
    assert state["f0.txt"] == (TaskStatus.SKIPPED, "unchanged")
    assert state["f1.txt"] == (TaskStatus.COMPLETED, None)
    assert state["f2.txt"] == (TaskStatus.COMPLETED, None)
    assert state["f3.txt"] == (TaskStatus.SKIPPED, "unchanged")
    assert (out / "f1.txt.copy").read_bytes() == b"edited"

    forced, _ = rerun(force=True)
    assert forced.counts[TaskStatus.COMPLETED] == 5


def test_other_options_are_not_unchanged(tmp_path):
    _write(tmp_path / "in" / "f.txt", b"x")
    out = tmp_path / "out"
    spec = spec_of(testops.copy)
    cache = MemoryResultCache()
    for suffix, expected in (
        (".a", TaskStatus.COMPLETED),
        (".b", TaskStatus.COMPLETED),
        (".a", TaskStatus.SKIPPED),
    ):
        options = spec.resolve_options({"suffix": suffix})
        prepared = prepare(
            [tmp_path / "in"], Filters(), out, cache=cache, op_key=operation_key(spec.name, options)
        )
        batch = _run_prepared(prepared, spec, out, cache, {"suffix": suffix})
        assert batch.tasks[0].status is expected


def test_files_are_read_only_as_far_as_needed(tmp_path, monkeypatch):
    """A file whose size no other file has is never opened; a small file is read
    whole once (its head is its content); a large one is first compared by its head,
    and read whole only if another large file shares size and head."""
    from batchgui.scan import duplicates

    big = duplicates.WHOLE_MAX * 3
    (tmp_path / "unique.bin").write_bytes(b"u" * 12345)
    (tmp_path / "small1.txt").write_bytes(b"same small")
    (tmp_path / "small2.txt").write_bytes(b"same small")
    (tmp_path / "big1.bin").write_bytes(b"A" * big)
    (tmp_path / "big2.bin").write_bytes(b"A" * big)
    (tmp_path / "bigdiff.bin").write_bytes(b"B" * big)  # same size, another head
    opened: list[str] = []
    real_open = os.open

    def counting_open(path, *args, **kwargs):
        opened.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(duplicates.os, "open", counting_open)
    hashed_whole: list[str] = []
    real_hash = duplicates.content_hash
    monkeypatch.setattr(
        duplicates, "content_hash", lambda p: hashed_whole.append(p.name) or real_hash(p)
    )
    found = find_duplicates(scan([tmp_path])).duplicate_of
    names = {k.name: v.name for k, v in found.items()}
    assert names == {"small2.txt": "small1.txt", "big2.bin": "big1.bin"}
    assert sorted(hashed_whole) == ["big1.bin", "big2.bin"]  # not the one whose head differs
    # a head each (os.open is patched for the whole process: the whole-content
    # hashes of the two big ones open them again)
    assert Counter(opened) == Counter(
        ["small1.txt", "small2.txt", "bigdiff.bin"] + ["big1.bin", "big2.bin"] * 2
    )
