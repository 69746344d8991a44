"""Recipes from the command line: save, show, list, run with one (options given
override it), bad recipes named by file and line, and --retry-failed-from."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from PIL import Image

from tests.conftest import batchgui_in, make_files


def _photos(folder: Path) -> Path:
    folder.mkdir()
    for name, colour in (("beach.jpg", "blue"), ("sunset.png", "orange")):
        Image.new("RGB", (64, 48), colour).save(folder / name)
    return folder


def test_a_saved_recipe_runs_again_anywhere_and_options_given_override_it(tmp_path):
    data = tmp_path / "data"
    photos = _photos(tmp_path / "photos")
    first = batchgui_in(
        data, "run", str(photos), "--op", "image", "--set", "format=webp",
        "--set", "max_width=32", "--output-name", "{stem}-small.{newext}",
        "--out", str(tmp_path / "a"), "--save-recipe", "small web", "--quiet",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    listed = batchgui_in(data, "recipe", "list")
    assert listed.stdout.splitlines() == ["small web\timage"]
    shown = batchgui_in(data, "recipe", "show", "small web")
    assert (
        'name = "{stem}-small.{newext}"' in shown.stdout and "batchgui_recipe = 1" in shown.stdout
    )
    shared = tmp_path / "shared.toml"
    shared.write_text(shown.stdout)

    # by file, on other photos, with --out and max_width given here
    other = _photos(tmp_path / "other")
    again = batchgui_in(
        data, "run", str(other), "--recipe", str(shared), "--set", "max_width=16",
        "--out", str(tmp_path / "b"), "--quiet",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    made = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert made == ["beach-small.webp", "sunset-small.webp"]
    with Image.open(tmp_path / "b" / "beach-small.webp") as image:
        assert image.format == "WEBP" and image.width == 16  # the override
    assert not (tmp_path / "a" / "other").exists()

    # by name, taking the recipe's own output folder
    by_name = batchgui_in(data, "run", str(other), "--recipe", "small web", "--quiet")
    assert by_name.returncode == 0, by_name.stderr
    assert (tmp_path / "a" / "beach-small.webp").exists()
    deleted = batchgui_in(data, "recipe", "delete", "small web")
    assert deleted.returncode == 0 and batchgui_in(data, "recipe", "list").stdout == ""


def test_bad_recipes_name_the_file_and_line_and_change_nothing(tmp_path):
    data = tmp_path / "data"
    photos = _photos(tmp_path / "photos")
    cases = {
        'operation = "imag"\n': ":1: unknown operation 'imag'",
        'operation = "image"\n\n[options]\nquality = 85\nformat = "gif"\n': ":5: option format",
        'operation = "image"\nmode = "auto"\ncolour = "red"\n': ":3: unknown setting 'colour'",
        'operation = "image"\n[options]\nname = "{size}.{newext}"\n': ":3: unknown placeholder",
        "batchgui_recipe = 9\noperation = 'image'\n": ":1: made by a newer batchgui",
        "operation = \n": "not valid TOML",
    }
    for number, (text, expected) in enumerate(cases.items()):
        recipe = tmp_path / f"bad{number}.toml"
        recipe.write_text(text)
        out = tmp_path / f"out{number}"
        result = batchgui_in(data, "run", str(photos), "--recipe", str(recipe), "--out", str(out))
        assert result.returncode == 2, (text, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(recipe) in lines[0] and expected in lines[0], lines
        assert not out.exists()
    missing = batchgui_in(data, "run", str(photos), "--recipe", "nothing-saved")
    assert missing.returncode == 2 and "no such recipe" in missing.stderr


def test_a_hand_written_recipe_without_a_version_loads(tmp_path):
    data = tmp_path / "data"
    photos = _photos(tmp_path / "photos")
    recipe = tmp_path / "mine.toml"
    recipe.write_text(f'operation = "checksum"\nout = "{tmp_path / "sums"}"\n')
    done = batchgui_in(data, "run", str(photos), "--recipe", str(recipe), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sums" / "SHA256SUMS").read_text().count("\n") == 2
    saved = batchgui_in(data, "recipe", "save", "sums")  # the latest batch's setup
    assert saved.returncode == 0, saved.stderr
    assert 'operation = "checksum"' in batchgui_in(data, "recipe", "show", "sums").stdout


def test_retry_failed_from_a_report_runs_exactly_the_failures(tmp_path):
    data = tmp_path / "data"
    files = make_files(tmp_path / "in", 6)
    ok = tmp_path / "ok"
    ok.mkdir()
    for path in files[:4]:
        (ok / path.name).write_text("")
    script = f'test -e "{ok}/$(basename "$0")"'
    command = f"sh -c {shlex.quote(script)} {{path}}"
    first = tmp_path / "first.json"
    ran = batchgui_in(
        data, "run", str(tmp_path / "in"), "--exec", command, "--retries", "0",
        "--report", str(first), "--quiet",
    )  # fmt: skip
    assert ran.returncode == 1  # two failed
    failed = {t["path"] for t in json.loads(first.read_text())["tasks"] if t["status"] == "failed"}
    assert failed == {str(p) for p in files[4:]}
    for path in files[4:]:
        (ok / path.name).write_text("")
    second = tmp_path / "second.json"
    again = batchgui_in(
        data, "run", "--retry-failed-from", str(first), "--exec", command,
        "--report", str(second), "--quiet",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    tasks = json.loads(second.read_text())["tasks"]
    assert {t["path"] for t in tasks} == failed
    assert all(t["status"] == "completed" for t in tasks)
    nothing = batchgui_in(data, "run", "--retry-failed-from", str(second), "--exec", command)
    assert nothing.returncode == 0 and "nothing failed" in nothing.stderr


def test_a_batch_exported_here_is_imported_elsewhere_with_its_outcomes(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    files = make_files(tmp_path / "in", 4)
    ok = tmp_path / "ok"
    ok.mkdir()
    for path in files[:3]:
        (ok / path.name).write_text("")
    command = f"sh -c {shlex.quote(f'test -e {ok}/$(basename $0)')} {{path}}"
    ran = batchgui_in(here, "run", str(tmp_path / "in"), "--exec", command, "--retries", "0",
                   "--quiet")  # fmt: skip
    assert ran.returncode == 1
    [entry] = json.loads(batchgui_in(here, "history", "--json").stdout)["batches"]
    exported = tmp_path / "batch.json"
    done = batchgui_in(here, "export", entry["batch_id"], str(exported))
    assert done.returncode == 0, done.stderr
    document = json.loads(exported.read_text())
    assert document["batchgui_export"] == 1 and 'operation = "exec"' in document["recipe"]

    imported = batchgui_in(there, "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    assert "3 completed, 1 failed" in imported.stderr
    [copy] = json.loads(batchgui_in(there, "history", "--json").stdout)["batches"]
    assert copy["counts"]["completed"] == 3 and copy["counts"]["failed"] == 1
    assert copy["sources"] == [str(tmp_path / "in")]
    (ok / files[3].name).write_text("")
    again = batchgui_in(there, "run", "--retry-failed-from", str(exported), "--exec", command,
                     "--report", str(tmp_path / "r.json"), "--quiet")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [t["path"] for t in json.loads((tmp_path / "r.json").read_text())["tasks"]] == [
        str(files[3])
    ]

    (tmp_path / "broken.json").write_text('{"batchgui_export": 1, "recipe": "operation = 1"}')
    broken = batchgui_in(there, "import", str(tmp_path / "broken.json"))
    assert broken.returncode == 2 and len(broken.stderr.strip().splitlines()) == 1
    assert "broken.json (its recipe):1: unknown operation" in broken.stderr


def test_a_checksum_batch_imported_half_done_writes_a_whole_manifest(tmp_path):
    """The digests of the files hashed before the export travel with it: resumed
    elsewhere, the manifest lists every file, and `sha256sum -c` accepts it. An
    export without them (made before they travelled) gets them read again."""
    import shutil
    import subprocess

    here = tmp_path / "here"
    files = make_files(tmp_path / "in", 12)
    out = tmp_path / "out"
    half = batchgui_in(here, "run", str(tmp_path / "in"), "--op", "checksum", "--out", str(out),
                       "--stop-after", "5", "--quiet")  # fmt: skip
    assert half.returncode == 0, half.stderr
    [entry] = json.loads(batchgui_in(here, "history", "--json").stdout)["batches"]
    exported = tmp_path / "batch.json"
    assert batchgui_in(here, "export", entry["batch_id"], str(exported)).returncode == 0
    document = json.loads(exported.read_text())
    assert sum(1 for t in document["tasks"] if "digest" in t["data"]) == 5
    for t in document["tasks"]:
        del t["data"]
    older = tmp_path / "older.json"
    older.write_text(json.dumps(document))

    for name, source in (("there", exported), ("older", older)):
        assert batchgui_in(tmp_path / name, "import", str(source)).returncode == 0
        resumed = batchgui_in(tmp_path / name, "resume", "--quiet")
        assert resumed.returncode == 0, resumed.stderr
        manifest = (out / "SHA256SUMS").read_text().splitlines()
        assert len(manifest) == len(files), (name, manifest)
        if shutil.which("sha256sum"):
            check = subprocess.run(["sha256sum", "-c", "--quiet", str(out / "SHA256SUMS")],
                                   cwd=tmp_path / "in", capture_output=True, text=True)  # fmt: skip
            assert check.returncode == 0, check.stdout + check.stderr
        (out / "SHA256SUMS").unlink()  # the next import writes it afresh


def test_a_recipe_and_an_export_saved_with_a_byte_order_mark_still_read(tmp_path):
    """Windows editors (Notepad) may write a UTF-8 byte-order mark in front."""
    data = tmp_path / "data"
    make_files(tmp_path / "in", 2)
    recipe = tmp_path / "sums.toml"
    recipe.write_bytes(b'\xef\xbb\xbfbatchgui_recipe = 1\noperation = "checksum"\n')
    ran = batchgui_in(data, "run", str(tmp_path / "in"), "--recipe", str(recipe),
                      "--out", str(tmp_path / "out"), "--quiet")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    [entry] = json.loads(batchgui_in(data, "history", "--json").stdout)["batches"]
    exported = tmp_path / "batch.json"
    assert batchgui_in(data, "export", entry["batch_id"], str(exported)).returncode == 0
    exported.write_bytes(b"\xef\xbb\xbf" + exported.read_bytes())
    imported = batchgui_in(tmp_path / "there", "import", str(exported))
    assert imported.returncode == 0, imported.stderr
