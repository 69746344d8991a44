"""The window keeps files safe as the command line does: the preview says which
outputs already exist, and Start refuses an output folder that is an input."""

from __future__ import annotations

from PySide6.QtCore import Qt

from batchgui.core import TaskStatus
from tests.gui.conftest import close, until
from tests.gui.test_window import click, scanned
from tests.test_safety import tree


async def previewed(window, operation: str, out, source) -> None:
    """Show the window, choose the operation and output, add the source, await the preview."""
    window.show()
    window.control.select_operation(operation)
    window.control.output_edit.setText(str(out))
    window.add_paths([str(source)])
    await until(lambda: scanned(window))


def test_the_preview_marks_existing_outputs_and_start_keeps_them(make_window, run, tmp_path, qtbot):
    docs = tree(tmp_path / "docs", {"a.txt": "alpha", "b.txt": "beta"})
    out = tree(tmp_path / "out", {"b.txt.md": "the user's own file"})

    async def scenario():
        window = make_window()
        await previewed(window, "text", out, docs)
        model = window.preview.model
        await until(lambda: {model.reason(e) for e in model.entries} == {None, "exists"})
        reasons = {e.path.name: model.reason(e) for e in model.entries}
        assert reasons == {"a.txt": None, "b.txt": "exists"}
        assert window.preview.counts_label.text().startswith("1 file to process")
        click(window, "startButton", qtbot)
        await until(lambda: window.batch is not None and window.batch.is_done)
        by_name = {t.path.name: t for t in window.batch.tasks}
        assert by_name["b.txt"].status is TaskStatus.SKIPPED
        assert by_name["b.txt"].reason == "exists"
        assert (out / "b.txt.md").read_text() == "the user's own file"
        assert (out / "a.txt.md").read_text().strip() == "alpha"
        await close(window)

    run(scenario)


def test_start_refuses_an_output_folder_that_is_the_input(make_window, run, tmp_path, qtbot):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("alpha")

    async def scenario():
        window = make_window()
        await previewed(window, "text", docs, docs)
        await until(lambda: "input folder" in window.statusBar().currentMessage())
        click(window, "startButton", qtbot)
        await until(lambda: "Not started" in window.statusBar().currentMessage())
        message = window.statusBar().currentMessage()
        assert "is the input folder" in message
        # in the window's words: its output field, not the command line's --out
        assert "another output folder" in message and "--" not in message
        assert window.batch is None
        assert sorted(p.name for p in docs.iterdir()) == ["a.txt"]
        await close(window)

    run(scenario)


def test_the_preview_leaves_out_what_the_operation_cannot_take(make_window, run, tmp_path):
    from PIL import Image

    src = tmp_path / "src"
    src.mkdir()
    (src / "readme.txt").write_text("words")
    Image.new("RGB", (8, 8)).save(src / "photo.png")

    async def scenario():
        window = make_window()
        await previewed(window, "image", tmp_path / "out", src)
        model = window.preview.model
        reasons = {e.path.name: model.reason(e) for e in model.entries}
        assert reasons == {"readme.txt": "unsupported", "photo.png": None}
        assert window.preview.counts_label.text().startswith("1 file to process")
        assert "unsupported" in window.preview.counts_label.text()
        # the extensions the operation takes: cut in the cell (no sideways scrolling)
        # and whole in its tooltip
        row = next(r for r, e in enumerate(model.entries) if e.path.name == "readme.txt")
        cell = model.index(row, 3)
        assert cell.data().startswith("no: unsupported (image takes .bmp, ")
        assert cell.data().endswith("…)") and len(cell.data()) < 60
        assert "unsupported: image takes .bmp" in cell.data(Qt.ItemDataRole.ToolTipRole)
        assert ".webp" in cell.data(Qt.ItemDataRole.ToolTipRole)
        await close(window)

    run(scenario)


def test_start_runs_what_the_preview_found_without_walking_again(
    make_window, run, tmp_path, qtbot, monkeypatch
):
    import batchgui.scan.prepare as preparing
    from tests.conftest import make_files

    make_files(tmp_path / "in", 6)
    walks = []

    async def scenario():
        window = make_window()
        await previewed(window, "checksum", tmp_path / "sums", tmp_path / "in")
        original = preparing.scan
        monkeypatch.setattr(preparing, "scan", lambda *a, **k: walks.append(a) or original(*a, **k))
        (tmp_path / "in" / "late.txt").write_text("added after the preview")
        click(window, "startButton", qtbot)
        await until(lambda: window.batch is not None and window.batch.is_done)
        assert walks == []  # no second walk
        assert sorted(t.path.name for t in window.batch.tasks) == sorted(
            p.name for p in (tmp_path / "in").iterdir() if p.name != "late.txt"
        )
        await close(window)

    run(scenario)


def test_a_batch_run_in_the_window_is_unchanged_for_the_command_line(
    make_window, run, tmp_path, qtbot
):
    import json

    from tests.conftest import make_files
    from tests.test_cli import batchgui

    make_files(tmp_path / "docs", 5)
    data = tmp_path / "data"
    out = tmp_path / "md"

    async def scenario():
        window = make_window(data)
        await previewed(window, "text", out, tmp_path / "docs")
        click(window, "startButton", qtbot)
        await until(lambda: window.batch is not None and window.batch.is_done)
        assert window.batch.counts[TaskStatus.COMPLETED] == 5
        await close(window)

    run(scenario)
    result = batchgui(
        "--data-dir", str(data), "run", str(tmp_path / "docs"), "--op", "text",
        "--out", str(out), "--report", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tasks = json.loads((tmp_path / "r.json").read_text())["tasks"]
    assert [t["reason"] for t in tasks] == ["unchanged"] * 5


def test_start_with_every_file_left_out_says_why_and_runs_nothing(
    make_window, run, tmp_path, qtbot
):
    docs = tree(tmp_path / "docs", {"a.txt": "alpha", "b.txt": "beta"})

    async def scenario():
        window = make_window()
        await previewed(window, "image", tmp_path / "out", docs)
        click(window, "startButton", qtbot)
        await until(lambda: "Not started" in window.statusBar().currentMessage())
        message = window.statusBar().currentMessage()
        assert "nothing to process: 2 files found, all left out: unsupported: 2" in message
        assert window.batch is None  # no empty batch in the history either
        assert window.store.history() == []
        assert window.control.start_button.isEnabled()
        await close(window)

    run(scenario)


def test_start_with_a_program_that_is_not_installed_says_so_and_runs_nothing(
    make_window, run, tmp_path, qtbot
):
    docs = tree(tmp_path / "docs", {"a.txt": "alpha", "b.txt": "beta"})

    async def scenario():
        window = make_window()
        window.show()
        window.control.select_operation("exec")
        window.control._option_widgets["command"].setText("no-such-command-xyz {path}")
        window.control.output_edit.setText(str(tmp_path / "out"))
        window.add_paths([str(docs)])
        await until(lambda: scanned(window))
        click(window, "startButton", qtbot)
        await until(lambda: "Not started" in window.statusBar().currentMessage())
        assert "command not found: no-such-command-xyz" in window.statusBar().currentMessage()
        assert window.batch is None and window.store.history() == []
        await close(window)

    run(scenario)


def test_resuming_a_batch_whose_program_is_gone_says_so(make_window, run, tmp_path):
    from tests.test_exec import paused_on_a_tool

    data = tmp_path / "data"
    tool, batch_id = paused_on_a_tool(tmp_path, data, files=3)
    tool.unlink()

    async def scenario():
        window = make_window(data)
        window.show()
        await window.stored.resume_batch(batch_id)
        message = window.statusBar().currentMessage()
        assert message.startswith("Cannot resume: command not found") and str(tool) in message
        assert window.batch is None
        await close(window)

    run(scenario)
