"""The plugin API of SPEC §4: the decorator, both call forms, entry points, atomic_write."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

import batchgui
from batchgui.core import BatchProcessor, TaskStatus
from batchgui.core.operation import spec_of
from batchgui.operations import registry as registry_module
from tests.conftest import build_batch, make_files


def test_both_call_forms_and_async_functions_are_described():
    @batchgui.operation(name="three", extensions={"txt", ".MD"})
    def three(src, out_dir, options):
        return []

    @batchgui.operation(name="four", mode="process")
    def four(src, out_dir, options, ctx):
        return []

    @batchgui.operation(name="coro")
    async def coro(src, out_dir, options):
        return []

    assert not spec_of(three).takes_context and spec_of(three).mode == "thread"
    assert spec_of(three).extensions == {".txt", ".md"}
    assert spec_of(four).takes_context and spec_of(four).mode == "process"
    assert spec_of(coro).is_async and spec_of(coro).mode == "async"
    with pytest.raises(ValueError, match="mode must be one of"):
        batchgui.operation(name="bad", mode="gpu")(three)


def test_options_are_parsed_to_their_declared_types():
    @batchgui.operation(
        name="opts",
        options=[
            batchgui.Option("width", int, 800),
            batchgui.Option("strip", bool, False),
            batchgui.Option("fmt", str, "png", choices=("png", "jpeg")),
        ],
    )
    def opts(src, out_dir, options):
        return []

    spec = spec_of(opts)
    assert spec.resolve_options({"width": "1024", "strip": "yes"}) == {
        "width": 1024,
        "strip": True,
        "fmt": "png",
    }
    for bad, message in [
        ({"width": "wide"}, "expected int"),
        ({"strip": "maybe"}, "true or"),
        ({"fmt": "gif"}, "not one of"),
        ({"height": "3"}, "no option"),
    ]:
        with pytest.raises(ValueError, match=message):
            spec.resolve_options(bad)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), batchgui.atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with batchgui.atomic_write(target) as handle:
        handle.write(b"new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 != 0o600
    with pytest.raises(FileExistsError), batchgui.atomic_write(target, overwrite=False):
        pass
    assert target.read_text() == "new"


def test_a_plugin_installed_under_the_entry_point_group_runs(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "shout_plugin").mkdir(parents=True)
    (site / "shout_plugin" / "__init__.py").write_text(
        textwrap.dedent("""
        from batchgui import operation, atomic_write

        @operation(name="shout", title="Upper-case text", extensions={".txt"}, mode="process")
        def shout(src, out_dir, options):
            target = out_dir / (src.name + ".upper")
            with atomic_write(target) as handle:
                handle.write(src.read_bytes().upper())
            return [target]
    """)
    )
    (site / "broken_plugin.py").write_text("raise ImportError('missing dependency foo')\n")
    dist = site / "shout_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[batchgui.operations]\nshout = shout_plugin:shout\nbroken = broken_plugin:nothing\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))  # spawned workers import the plugin too
    registry_module.load_operations.cache_clear()
    try:
        registry = registry_module.load_operations()
        spec = registry.get("shout")
        assert any("broken" in w and "missing dependency foo" in w for w in registry.warnings)
        make_files(tmp_path / "in", 3)
        batch, _ = build_batch(spec.func, [tmp_path / "in"], tmp_path / "out")

        async def scenario():
            engine = BatchProcessor(2)
            await engine.run(batch, spec)
            await engine.aclose()

        asyncio.run(scenario())
    finally:
        registry_module.load_operations.cache_clear()
        sys.modules.pop("shout_plugin", None)
    assert batch.mode == "process"
    assert batch.counts[TaskStatus.COMPLETED] == 3, [t.error for t in batch.tasks]
    out = tmp_path / "out" / "f0000.txt.upper"
    assert out.read_bytes() == b"F0\n............."
    assert batch.tasks[0].outputs == [out]


def test_unknown_operation_names_the_available_ones():
    with pytest.raises(KeyError, match="available: chain, checksum, exec"):
        registry_module.load_operations().get("nope")


def test_every_call_form_gets_a_mirrored_out_dir(tmp_path):
    from tests.plugins import testops

    (tmp_path / "in" / "a" / "b").mkdir(parents=True)
    (tmp_path / "in" / "a" / "b" / "deep.txt").write_text("deep")
    (tmp_path / "in" / "top.txt").write_text("top")
    batch, spec = build_batch(testops.copy, [tmp_path / "in"], tmp_path / "out")

    async def scenario():
        engine = BatchProcessor(2)
        await engine.run(batch, spec)
        await engine.aclose()

    asyncio.run(scenario())
    assert (tmp_path / "out" / "a" / "b" / "deep.txt.copy").read_text() == "deep"
    assert (tmp_path / "out" / "top.txt.copy").read_text() == "top"


def test_two_dropped_folders_of_the_same_name_never_share_outputs(tmp_path):
    from batchgui.scan.plan import plan_tasks
    from batchgui.scan.walk import scan

    for parent in ("x", "y"):
        (tmp_path / parent / "photos").mkdir(parents=True)
        (tmp_path / parent / "photos" / "same.jpg").write_text(parent)
    plan = plan_tasks(
        scan([tmp_path / "x" / "photos", tmp_path / "y" / "photos"]), tmp_path / "out"
    )
    dirs = [t.out_dir for t in plan.tasks]
    assert dirs == [tmp_path / "out" / "photos", tmp_path / "out" / "photos-2"]
    assert plan.base == tmp_path


def test_the_output_folder_inside_an_input_is_not_walked(tmp_path):
    from batchgui.scan.walk import scan

    make_files(tmp_path / "in", 2)
    make_files(tmp_path / "in" / "batchgui-output", 5)
    found = list(scan([tmp_path / "in"], skip=[tmp_path / "in" / "batchgui-output"]))
    assert [(f.path.name, f.reason) for f in found] == [
        ("batchgui-output", "excluded"),
        ("f0000.txt", None),
        ("f0001.txt", None),
    ]
    assert Path(found[0].root) == tmp_path / "in"
