"""Chains of steps and variants (fan-out), from the command line and from recipes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PIL import Image

from batchgui.core.outputs import TEMP_MARK
from tests.conftest import batchgui_in


def _photos(folder: Path, count: int = 3) -> Path:
    (folder / "sub").mkdir(parents=True)
    colours = ("red", "green", "blue", "white", "black")
    for i in range(count):
        where = folder / "sub" if i == 0 else folder
        Image.new("RGB", (400, 300), colours[i % len(colours)]).save(where / f"p{i}.png")
    return folder


def _report(path: Path) -> dict[str, dict]:
    return {Path(t["path"]).name: t for t in json.loads(path.read_text())["tasks"]}


def test_a_three_step_chain_keeps_only_the_last_files_and_reruns_nothing_unchanged(tmp_path):
    data, photos, out = tmp_path / "data", _photos(tmp_path / "photos"), tmp_path / "out"
    steps = (
        "--step", "image max_width=40",
        "--step", "image format=webp",
        "--step", "checksum",
    )  # fmt: skip
    first = batchgui_in(data, "run", str(photos), *steps, "--out", str(out),
                     "--report", str(tmp_path / "r1.json"), "--quiet")  # fmt: skip
    assert first.returncode == 0, first.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["SHA256SUMS", "p1.webp", "p2.webp", "sub/p0.webp"]
    assert not [p for p in out.rglob("*") if TEMP_MARK in p.name]  # no step between left
    with Image.open(out / "sub" / "p0.webp") as image:
        assert image.format == "WEBP" and image.size == (40, 30)
    # the manifest lists the final files, and their digests are right
    lines = (out / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # the report says what each step made
    tasks = _report(tmp_path / "r1.json")
    made_by = tasks["p1.png"]["steps"][""]
    assert len(made_by) == 3 and made_by[1] == [str(out / "p1.webp")] and made_by[2] == []
    # the same chain again: nothing changed, nothing is redone
    again = batchgui_in(data, "run", str(photos), *steps, "--out", str(out),
                     "--report", str(tmp_path / "r2.json"), "--quiet")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert {t["reason"] for t in _report(tmp_path / "r2.json").values()} == {"unchanged"}
    # another chain (the key is the whole chain and its options): everything runs
    other = batchgui_in(data, "run", str(photos), "--step", "image max_width=20",
                     "--step", "image format=webp", "--out", str(out), "--on-exists",
                     "overwrite", "--report", str(tmp_path / "r3.json"), "--quiet")  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert {t["status"] for t in _report(tmp_path / "r3.json").values()} == {"completed"}


def test_fan_out_makes_three_sizes_of_each_file(tmp_path):
    data, photos, out = tmp_path / "data", _photos(tmp_path / "photos", 2), tmp_path / "out"
    done = batchgui_in(
        data, "run", str(photos),
        "--step", "small: image max_width=32 format=webp name={stem}-small.{newext}",
        "--step", "medium: image max_width=100 format=webp name={stem}-medium.{newext}",
        "--step", "large: image max_width=200 format=jpeg name={stem}-large.{newext}",
        "--out", str(out), "--report", str(tmp_path / "r.json"), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    widths = {}
    for path in out.rglob("*.*"):
        with Image.open(path) as image:
            widths[path.name] = image.width
    assert widths == {
        "p0-small.webp": 32, "p0-medium.webp": 100, "p0-large.jpg": 200,
        "p1-small.webp": 32, "p1-medium.webp": 100, "p1-large.jpg": 200,
    }  # fmt: skip
    assert set(_report(tmp_path / "r.json")["p1.png"]["steps"]) == {"small", "medium", "large"}
    # two variants that would write the same file are a clash before anything runs
    clash = batchgui_in(
        data, "preview", str(photos), "--step", "a: image format=webp",
        "--step", "b: image format=webp max_width=10", "--out", str(tmp_path / "o2"), "--json",
    )  # fmt: skip
    rows = {Path(r["path"]).name: r for r in json.loads(clash.stdout)["files"]}
    assert rows["p1.png"]["reason"] == "name clash"


def test_bad_chains_are_one_line_before_anything_runs(tmp_path):
    data, photos = tmp_path / "data", _photos(tmp_path / "photos", 1)
    cases = [
        (("--step", "imag"), "step 1: unknown operation 'imag'"),
        (("--step", "image formt=png"), "step 1 (image): image has no option 'formt'"),
        (("--step", "text", "--step", "image"), "step 2 (image): cannot take the .md files"),
        (("--step", "exec command=true", "--step", "image"), "step 1 (exec): its results"),
        (("--step", "checksum", "--step", "image"), "step 1 (checksum): a batch-wide step"),
        (("--step", "image", "--step", "a: image"), "give every step a branch, or none"),
        (("--step", "image", "--op", "text"), "--step makes a chain"),
        (
            ("--step", "image format=png", "--step", "exec command='no-such-command-xyz {path}'"),
            "step 2 (exec): command not found: no-such-command-xyz",
        ),
    ]
    for args, expected in cases:
        out = tmp_path / "out"
        result = batchgui_in(data, "run", str(photos), *args, "--out", str(out))
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr, args
        assert not out.exists()


def test_a_failing_step_fails_the_file_with_the_step_named(tmp_path):
    data, photos = tmp_path / "data", _photos(tmp_path / "photos", 1)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    report = tmp_path / "r.json"
    result = batchgui_in(data, "run", str(photos), "--step", "image max_width=10",
                      "--step", "image format=webp", "--out", str(tmp_path / "out"),
                      "--report", str(report), "--quiet")  # fmt: skip
    assert result.returncode == 1
    tasks = _report(report)
    assert tasks["broken.png"]["status"] == "failed"
    assert tasks["broken.png"]["error"].startswith("step 1 (image): ")
    assert tasks["broken.png"]["error_kind"] == "corrupt"
    assert tasks["broken.png"]["attempts"] == 1  # a corrupt file is not retried
    assert tasks["p0.png"]["status"] == "completed"


def test_a_hand_written_chain_recipe_runs_and_survives_a_round_trip(tmp_path):
    data, photos, out = tmp_path / "data", _photos(tmp_path / "photos", 2), tmp_path / "out"
    recipe = tmp_path / "web.toml"
    recipe.write_text(
        f'out = "{out}"\n\n'
        '[[steps]]\nop = "image"\noptions = {{ max_width = 64 }}\n\n'
        '[[steps]]\nop = "image"\nkeep = true\n[steps.options]\nformat = "webp"\n\n'
        '[[steps]]\nop = "checksum"\n'.replace("{{", "{").replace("}}", "}")
    )
    done = batchgui_in(data, "run", str(photos), "--recipe", str(recipe), "--quiet",
                    "--save-recipe", "web")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "p1.webp").exists() and (out / "SHA256SUMS").exists()
    shown = batchgui_in(data, "recipe", "show", "web").stdout
    assert 'operation = "chain"' in shown and 'op = "checksum"' in shown
    copy = tmp_path / "copy.toml"
    copy.write_text(shown.replace(str(out), str(tmp_path / "out2")))
    again = batchgui_in(data, "run", str(photos), "--recipe", str(copy), "--quiet")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "out2").rglob("*") if p.is_file()) == [
        "SHA256SUMS", "p0.webp", "p1.webp",
    ]  # fmt: skip
