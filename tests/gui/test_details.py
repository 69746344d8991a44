"""The details pane: what a user reads about one task, opened as a user opens it."""

from __future__ import annotations

import shlex

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from batchgui.core import RetryPolicy, TaskStatus
from tests.conftest import make_files
from tests.gui.conftest import close, until
from tests.gui.test_window import click, start_on, use_command


def test_double_click_shows_the_whole_story_of_a_failed_task(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 3)
    script = (
        'echo "first line out"; echo "second line out"; '
        'echo "warning: one" >&2; echo "error: two" >&2; exit 3'
    )

    async def scenario():
        window = make_window()
        window.processor.retry = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.01)
        window.show()
        use_command(window, f"sh -c {shlex.quote(script)} {{path}}")
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.is_done)
        assert window.batch.counts[TaskStatus.FAILED] == 3
        assert not window.details_dock.isVisible()
        # the end of the batch offers the way to its failures
        button = window.show_failures_button
        await until(lambda: button.isVisible())
        assert button.text() == "Show 3 failures"
        click(window, "showFailuresButton", qtbot)
        assert window.tasks.filter_combo.currentText() == "Failed"
        assert window.tasks.model.rowCount() == 3
        await until(lambda: window.details_dock.isVisible())
        window.details_dock.hide()
        window.tasks.filter_combo.setCurrentText("All")

        table = window.tasks.table
        rect = table.visualRect(window.tasks.model.index(1, 0))
        # a real double-click: a press and release, then the second press (Qt's
        # view ignores a lone double-click event with no press before it)
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        await until(lambda: window.details_dock.isVisible())
        pane = window.details
        task = window.tasks.model.task_at(1)
        assert pane.task is task
        assert pane.title.text() == task.name
        assert pane.fields["Status"].text() == "failed"
        assert pane.fields["Attempts"].text() == "2"
        # stderr and stdout apart, line by line, not joined with " | "
        assert pane.texts["Standard error"].toPlainText() == "warning: one\nerror: two\n"
        assert pane.texts["Standard output"].toPlainText() == "first line out\nsecond line out\n"
        assert pane.texts["Error"].toPlainText().startswith("Error: exit status 3")
        command = pane.texts["Command"].toPlainText()
        assert shlex.split(command)[:2] == ["sh", "-c"] and str(task.path) in command
        history = pane.texts["History"].toPlainText().splitlines()
        assert "attempt 1: failed, retrying" in history[0]
        assert history[-1].endswith("attempt 2: failed (exit status 3: warning: one | error: two)")
        # copyable: the open tab goes to the clipboard
        pane.tabs.setCurrentIndex(2)
        click(pane, "detailsCopy", qtbot)
        assert QGuiApplication.clipboard().text() == "warning: one\nerror: two\n"
        assert "Copied standard error" in window.statusBar().currentMessage()

        # Enter on another row shows that one; the selection follows while it is open
        table.setFocus()
        table.setCurrentIndex(window.tasks.model.index(2, 0))
        await until(lambda: pane.task is window.tasks.model.task_at(2))
        table.setCurrentIndex(window.tasks.model.index(0, 0))
        qtbot.keyClick(table, Qt.Key.Key_Return)
        await until(lambda: pane.task is window.tasks.model.task_at(0))
        await close(window)

    run(scenario)


def test_outputs_open_and_a_missing_program_is_said(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 2)

    async def scenario():
        window = make_window()
        window.show()
        window.control.select_operation("text")
        window.control.output_edit.setText(str(tmp_path / "out"))
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.is_done)
        task = window.batch.tasks[0]
        assert task.status is TaskStatus.COMPLETED
        window.show_details(task)
        pane = window.details
        assert pane.outputs.count() == 1
        assert pane.outputs.item(0).text() == str(task.outputs[0])
        assert pane.fields["Status"].text() == "completed"
        assert "started" in pane.texts["History"].toPlainText()
        assert pane.texts["Command"].toPlainText() == ""  # not a command
        # the test's desktop has no program for anything: the user is told, in one line
        assert pane.open_button.isEnabled()
        click(pane, "detailsOpen", qtbot)
        await until(lambda: "no program to open" in window.statusBar().currentMessage())
        assert "\n" not in window.statusBar().currentMessage()
        assert not window.show_failures_button.isVisible()  # nothing failed
        window.statusBar().clearMessage()
        click(window, "openOutputButton", qtbot)
        message = window.statusBar().currentMessage()
        assert message == f"The system has no program to open {tmp_path / 'out'}"
        await close(window)

    run(scenario)


def test_a_name_that_is_not_utf8_is_shown_with_a_mark_and_opened_by_its_real_name(
    make_window, run, tmp_path, qtbot, monkeypatch
):
    """Qt cannot hold the escapes that carry such a name's odd byte: the window shows
    it as U+FFFD, not a shorter name that does not exist, and Open gets the real file."""
    import os
    from pathlib import Path

    from batchgui.gui import details_pane

    folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"d\xe9p\xf4t")))
    folder.mkdir()
    source = Path(os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9.txt")))
    source.write_text("un café")
    opened: list[Path] = []
    monkeypatch.setattr(details_pane, "open_path", lambda path: opened.append(path))

    async def scenario():
        window = make_window()
        await _converted_and_shown(window, qtbot, folder, "caf\ufffd.txt")
        pane = window.details
        click(pane, "detailsOpen", qtbot)
        assert opened and opened[0].exists() and os.fsencode(opened[0]).endswith(b"caf\xe9.txt.md")
        window.statusBar().showMessage(f"cannot open {opened[0].name}")  # as messages name files
        assert window.statusBar().currentMessage() == "cannot open caf\ufffd.txt.md"
        assert pane.folder.text().endswith("d\ufffdp\ufffdt")

        window.findChild(type(window.start_action), "historyAction").trigger()
        history = window.stored.history_window
        await until(lambda: history.isVisible() and history.table.rowCount() == 1)
        assert history.table.item(0, 1).text().endswith("d\ufffdp\ufffdt")
        history.table.selectRow(0)
        await until(lambda: "Sources:" in history.summary.toPlainText())
        assert "d\ufffdp\ufffdt" in history.summary.toPlainText()
        history.close()
        await close(window)

    run(scenario)


def test_a_name_holding_a_newline_is_one_line_with_an_escape(make_window, run, tmp_path, qtbot):
    """A newline in a name would make its row two lines of which one is hidden: the
    preview, the task list and the details' title write it as "\\n", as the CLI does."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "new\nline.txt").write_text("text")

    async def scenario():
        window = make_window()
        await _converted_and_shown(window, qtbot, folder, "new\\nline.txt")
        await close(window)

    run(scenario)


async def _converted_and_shown(window, qtbot, folder, name: str) -> None:
    """Preview the folder's one file, convert it, open its details: `name` is how the
    preview, the task list, the details' title and its output's name show it."""
    window.show()
    window.control.select_operation("text")
    window.add_paths([str(folder)])
    await until(lambda: window.preview.model.rowCount() == 1)
    assert window.preview.model.index(0, 0).data() == name
    await start_on(qtbot, window, folder)
    await until(lambda: window.batch is not None and window.batch.is_done)
    assert window.batch.counts[TaskStatus.COMPLETED] == 1, window.batch.tasks[0].error
    model = window.tasks.model
    assert model.index(0, 0).data() == name
    window.show_details(model.task_at(0))
    assert window.details.title.text() == name
    assert window.details.outputs.item(0).text().endswith(f"{name}.md")
