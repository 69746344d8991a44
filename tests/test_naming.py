"""Output names from a template: every placeholder, names refused and clashes found
before anything runs, and the default that never doubles an extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import blake3
import pytest
from PIL import Image

from batchgui.core.naming import NameRefused, check_template, illegal, naming_for, render


def batchgui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "batchgui", *args], capture_output=True, text=True, timeout=120
    )


def test_every_placeholder(tmp_path):
    src = tmp_path / "trip" / "day 1" / "IMG_1092.jpg"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"pixels")
    os.utime(src, (1_700_000_000, 1_700_000_000))
    with naming_for(tmp_path / "trip", 7):
        assert render("{stem}.{newext}", src, "png") == "IMG_1092.png"
        assert render("{name}.md", src, ".md") == "IMG_1092.jpg.md"
        assert render("{stem}{ext}", src, "png") == "IMG_1092.jpg"
        assert render("{parent}-{n:04d}.{newext}", src, "webp") == "day 1-0007.webp"
        assert render("{rel}", src, "x") == "day 1_IMG_1092.jpg"
        day = datetime.fromtimestamp(1_700_000_000).strftime("%Y-%m-%d")
        assert render("{date}_{stem}", src, "x") == f"{day}_IMG_1092"
        digest = blake3.blake3(b"pixels").hexdigest()[:8]
        assert render("{hash8}.{newext}", src, "png") == f"{digest}.png"


def test_bad_templates_and_names_are_refused_in_one_line(tmp_path):
    src = tmp_path / "README"
    src.write_text("x")
    with pytest.raises(ValueError, match=r"unknown placeholder \{size\}"):
        check_template("{stem}-{size}")
    with pytest.raises(ValueError, match="bad name template"):
        check_template("{stem")
    for empty in ("", "  "):  # not a "name clash" for every file: said before the batch
        with pytest.raises(ValueError, match="the output name is empty"):
            check_template(empty)
    refused = batchgui("run", str(tmp_path), "--op", "text", "--output-name", "",
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "the output name is empty" in refused.stderr
    with pytest.raises(NameRefused, match="an empty name"):
        render("{ext}", src, "md")  # README has no extension
    with pytest.raises(NameRefused, match="longer than 255 bytes"):
        render("{stem}" * 50 + "{stem}" * 10, tmp_path / ("x" * 20), "md")
    assert illegal("..") == "not a file name" and illegal("a/b")
    assert illegal("IMG_1092.png") is None


def test_the_default_image_name_never_doubles_an_extension(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (30, 20), "red").save(src / "IMG_1092.jpg")
    Image.new("RGB", (30, 20), "blue").save(src / "logo.png")
    out = tmp_path / "out"
    done = batchgui("run", str(src), "--op", "image", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["IMG_1092.jpg", "logo.png"]
    webp = tmp_path / "webp"
    done = batchgui(
        "run", str(src), "--op", "image", "--set", "format=webp", "--out", str(webp),
        "--output-name", "{stem}-{n:02d}.{newext}", "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in webp.iterdir()) == ["IMG_1092-01.webp", "logo-02.webp"]


def test_clashing_and_impossible_names_show_at_preview_and_are_skipped_at_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (30, 20), "red").save(src / "a.jpg")
    Image.new("RGB", (30, 20), "blue").save(src / "a.png")  # a.jpg and a.png -> a.webp
    out = tmp_path / "out"
    args = ("--op", "image", "--set", "format=webp", "--out", str(out))
    shown = batchgui("preview", str(src), *args, "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(shown.stdout)["files"]}
    assert rows["a.jpg"]["included"] and rows["a.png"]["reason"] == "name clash"
    assert "a.jpg" in rows["a.png"]["detail"]
    assert not out.exists()  # a preview writes nothing
    report = tmp_path / "r.json"
    ran = batchgui("run", str(src), *args, "--report", str(report), "--quiet")
    assert ran.returncode == 0, ran.stderr
    tasks = {Path(t["path"]).name: t for t in json.loads(report.read_text())["tasks"]}
    assert tasks["a.png"]["status"] == "skipped" and tasks["a.png"]["reason"] == "name clash"
    with Image.open(out / "a.webp") as made:
        assert made.getpixel((0, 0))[0] > 200  # the red one, made once

    docs = tmp_path / "docs"
    docs.mkdir()
    long = "x" * 100
    (docs / f"{long}.txt").write_text("a long name")
    (docs / "notes.txt").write_text("a short one")
    too_long = batchgui(
        "preview", str(docs), "--op", "text", "--output-name", "{stem}{stem}{stem}.md",
        "--out", str(tmp_path / "md"), "--json",
    )  # fmt: skip
    rows = {Path(r["path"]).name: r for r in json.loads(too_long.stdout)["files"]}
    assert rows[f"{long}.txt"]["reason"] == "name clash"
    assert "longer than 255 bytes" in rows[f"{long}.txt"]["detail"]
    assert rows["notes.txt"]["included"]
