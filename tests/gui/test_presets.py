"""Presets in the window, and the round trip with the command line's recipes."""

from __future__ import annotations

from PIL import Image
from PySide6.QtWidgets import QMessageBox

from batchgui.core import TaskStatus
from tests.conftest import batchgui_in
from tests.gui.conftest import close, until
from tests.gui.test_window import click, start_on


def test_a_recipe_saved_by_the_cli_fills_the_window_and_back(make_window, run, tmp_path):
    data = tmp_path / "data"
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 30), "red").save(photos / "beach.jpg")
    saved = batchgui_in(
        data, "run", str(photos), "--op", "image", "--set", "format=webp",
        "--set", "quality=60", "--output-name", "{stem}-web.{newext}", "--ext", ".jpg",
        "--out", str(tmp_path / "web"), "--save-recipe", "web", "--quiet",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr

    async def scenario():
        window = make_window(data)
        window.show()
        presets = window.presets
        await presets.refresh()
        assert [presets.combo.itemText(i) for i in range(presets.combo.count())] == [
            "(none)",
            "web",
        ]
        presets.combo.setCurrentText("web")
        presets.combo.activated.emit(1)
        control = window.control
        await until(lambda: control.op_combo.currentData() == "image")
        form = control._option_widgets
        assert form["format"].currentText() == "webp" and form["quality"].value() == 60
        assert form["name"].text() == "{stem}-web.{newext}"
        assert control.output_edit.text() == str(tmp_path / "web")
        assert window.preview.ext_edit.text() == ".jpg"
        assert "Preset web applied" in window.statusBar().currentMessage()

        # changed in the window and saved under a new name: the CLI runs it
        form["quality"].setValue(40)
        control.output_edit.setText(str(tmp_path / "web40"))
        await presets.save("web 40")
        assert presets.chosen() == "web 40"
        await presets.export("web 40", tmp_path / "shared.toml")
        await presets.rename("web 40", "lighter")
        assert presets.chosen() == "lighter"
        await presets.delete()
        assert presets.chosen() is None
        await presets.import_file(tmp_path / "shared.toml")
        assert presets.chosen() == "shared"
        await close(window)

    run(scenario)
    shown = batchgui_in(data, "recipe", "show", "shared")
    assert "quality = 40" in shown.stdout, shown.stderr
    ran = batchgui_in(data, "run", str(photos), "--recipe", "shared", "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "web40" / "beach-web.webp").exists()
    assert batchgui_in(data, "recipe", "list").stdout.split() == ["shared", "image", "web", "image"]


def test_a_bad_preset_file_is_one_line_and_changes_nothing(make_window, run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('operation = "image"\n[options]\nformat = "gif"\n')

    async def scenario():
        window = make_window()
        window.show()
        window.control.select_operation("checksum")
        await window.presets.import_file(bad)
        message = window.statusBar().currentMessage()
        assert message.startswith("Preset not imported: ") and f"{bad}:3:" in message
        assert window.control.op_combo.currentData() == "checksum"
        assert window.presets.chosen() is None
        await close(window)

    run(scenario)


def test_the_step_list_builds_checks_and_runs_a_chain(make_window, run, tmp_path, qtbot):

    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in (("a.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (300, 200), colour).save(photos / name)
    data = tmp_path / "data"

    async def scenario():
        window = make_window(data)
        window.show()
        control = window.control
        control.select_operation("chain")
        editor = control._option_widgets["steps"]
        assert editor.problem.text() == "Add the first step"
        qtbot.keyClicks(editor.new_step, "image format=webp max_width=50")
        click(editor, "addStepButton", qtbot)
        assert editor.problem.text() == ""
        editor.new_step.setText("text")
        editor.add_typed()
        assert editor.problem.text().startswith("step 2 (text): cannot take the .webp files")
        assert editor.list.item(1).toolTip() == editor.problem.text()  # marked
        click(editor, "removeStepButton", qtbot)  # the selected, last one
        editor.new_step.setText("checksum")
        editor.add_typed()
        click(editor, "stepUpButton", qtbot)  # checksum first: not allowed
        assert editor.problem.text().startswith("step 1 (checksum): a batch-wide step")
        assert editor.list.item(0).toolTip()
        click(editor, "stepDownButton", qtbot)
        assert editor.problem.text() == ""
        assert [editor.list.item(i).text() for i in range(2)] == [
            "image format=webp max_width=50",
            "checksum",
        ]
        control.output_edit.setText(str(tmp_path / "out"))
        await start_on(qtbot, window, photos)
        # finished: every file done and the manifest written (it comes last)
        await until(lambda: window.batch is not None and window.batch.status.value == "finished")
        assert window.batch.counts[TaskStatus.COMPLETED] == 2
        made = sorted(p.name for p in (tmp_path / "out").iterdir())
        assert made == ["SHA256SUMS", "a.webp", "b.webp"]
        await close(window)

        again = make_window(data)  # the steps are remembered with the chain
        again.show()
        again.control.select_operation("chain")
        steps = again.control._option_widgets["steps"]
        assert steps.specs() == ["image format=webp max_width=50", "checksum"]
        await close(again)

    run(scenario)


def test_keep_watching_runs_files_that_arrive_after_the_batch(make_window, run, tmp_path, qtbot):

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "first.txt").write_text("first\n")

    async def scenario():
        window = make_window()
        window.show()
        window.watch.settle_s = 0.5  # (2 s for people)
        window.control.select_operation("text")
        window.control.output_edit.setText(str(out))
        window.control.keep_watching.setChecked(True)
        await start_on(qtbot, window, inbox)
        await until(lambda: window.batch is not None and window.batch.is_done)
        first = window.batch
        await until(lambda: window.watch.active)
        await until(lambda: window.windowTitle().startswith("Watching"))
        assert "Watching 1 folder" in window.statusBar().currentMessage()
        assert window.stats.values["ETA"].text() == "watching"  # idle, not a stale value
        (inbox / "second.txt").write_text("second\n")
        await until(lambda: window.batch is not first and window.batch.is_done, timeout=30)
        assert [t.path.name for t in window.batch.tasks] == ["second.txt"]
        assert window.batch.counts[TaskStatus.COMPLETED] == 1
        assert (out / "second.txt.md").exists()
        await close(window)  # while watching: offered again at the next start

        (inbox / "third.txt").write_text("came while closed\n")
        again = make_window()
        again.show()
        again.watch.settle_s = 0.5
        await again.start_up()
        box = again.findChild(QMessageBox, "watchOffer")
        assert box is not None and box.isVisible()
        assert str(inbox) in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: again.watch.active)
        await until(lambda: (out / "third.txt.md").exists(), timeout=30)
        assert [t.path.name for t in again.batch.tasks] != ["first.txt"]
        again.control.keep_watching.setChecked(False)
        assert not again.watch.active
        assert again.statusBar().currentMessage() == "Stopped watching"
        await until(lambda: again.batch.is_done)
        await close(again)

        third = make_window()  # stopped on purpose: not offered any more
        third.show()
        await third.start_up()
        assert third.findChild(QMessageBox, "watchOffer") is None
        await close(third)

    run(scenario)


def test_quit_when_done_closes_the_window_after_the_batch(make_window, run, tmp_path, qtbot):

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")

    async def scenario():
        window = make_window()
        window.show()
        window.control.select_operation("text")
        window.control.output_edit.setText(str(tmp_path / "out"))
        window.quit_when_done_action.setChecked(True)
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.isHidden() and not window._background, timeout=30)
        assert window.batch.is_done and (tmp_path / "out" / "a.txt.md").exists()

    run(scenario)


def test_the_window_keeps_the_computer_awake_only_while_a_batch_works(
    make_window, run, tmp_path, qtbot
):

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")
    calls: list[str] = []

    class Recorder:
        def hold(self) -> str:
            calls.append("hold")
            return "kept awake (test)"

        def release(self) -> None:
            calls.append("release")

    async def scenario():
        window = make_window()
        window.show()
        window.awake = Recorder()
        assert window.keep_awake_action.isChecked()  # on unless turned off
        window.control.select_operation("text")
        window.control.output_edit.setText(str(tmp_path / "out"))
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.status.value == "finished")
        await until(lambda: calls == ["hold", "release"])
        window.keep_awake_action.setChecked(False)
        await close(window)
        assert calls[:2] == ["hold", "release"] and "hold" not in calls[2:]

    run(scenario)
