"""The window as a user drives it: drop, start, pause, cancel, retry, workers, resume."""

from __future__ import annotations

import asyncio
import shlex
import sys
import uuid

import psutil
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from batchgui.core import RetryPolicy, TaskStatus
from batchgui.gui.icons import status_icon
from batchgui.gui.task_model import DURATION, STATUS
from tests.conftest import make_files
from tests.gui.conftest import close, until

OBJECT_NAMES = (
    "previewPanel",
    "controlPanel",
    "statisticsPanel",
    "taskList",
    "opCombo",
    "modeCombo",
    "workersSpin",
    "outputEdit",
    "startButton",
    "pauseButton",
    "drainButton",
    "resumeButton",
    "cancelAllButton",
    "retryFailedButton",
)


def drop(window, urls: list[QUrl] | None = None, text: str | None = None) -> bool:
    """A drag that enters, moves and drops where a real one would: on the window."""
    mime = QMimeData()
    if urls is not None:
        mime.setUrls(urls)
    if text is not None:
        mime.setText(text)
    where = QPointF(window.width() / 2, window.height() / 3)
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where.toPoint(), actions, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(where.toPoint(), actions, mime, buttons, mods)
    QApplication.sendEvent(window, move)
    assert move.isAccepted(), "a drag that is not accepted while moving is refused by Qt"
    event = QDropEvent(where, actions, mime, buttons, mods)
    QApplication.sendEvent(window, event)
    return event.isAccepted()


def use_command(window, command: str, workers: int = 2) -> None:
    window.control.select_operation("exec")
    window.control._option_widgets["command"].setText(command)
    window.control.workers_spin.setValue(workers)


async def start_commands(qtbot, window, folder, command: str, workers: int = 2) -> None:
    """Show the window and run `command` over `folder`: scanned, then Start clicked."""
    window.show()
    use_command(window, command, workers)
    await start_on(qtbot, window, folder)


async def start_on(qtbot, window, folder) -> None:
    """Add `folder`, wait for its preview (duplicates included), click Start."""
    window.add_paths([str(folder)])
    await until(lambda: scanned(window))
    click(window, "startButton", qtbot)


def cancel_everything(window) -> None:
    """Cancel all, saying yes when the window asks first."""
    box = window.cancel_all()
    if box is not None:
        box.findChild(QPushButton, "confirmCancelAll").click()


def click(window, name: str, qtbot) -> None:
    button = window.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def scanned(window) -> bool:
    """The preview's scan, duplicate detection included, has ended."""
    return window._scan_task is not None and window._scan_task.done()


def stat(window, name: str) -> str:
    return window.stats.values[name].text()


def test_the_panels_carry_the_names_checks_rely_on(make_window, run):
    async def scenario():
        window = make_window()
        for name in OBJECT_NAMES:
            assert window.findChild(object, name) is not None, name
        await close(window)

    run(scenario)


def test_a_dropped_folder_fills_the_preview_with_reasons(make_window, run, tmp_path):
    make_files(tmp_path / "docs", 12)
    (tmp_path / "docs" / ".hidden").write_text("x")
    (tmp_path / "docs" / "copy.txt").write_bytes((tmp_path / "docs" / "f0001.txt").read_bytes())

    async def scenario():
        window = make_window()
        window.show()
        assert drop(window, urls=[QUrl.fromLocalFile(str(tmp_path / "docs"))])
        await until(lambda: scanned(window))
        model = window.preview.model
        assert model.rowCount() == 14
        reasons = {e.path.name: model.reason(e) for e in model.entries}
        assert reasons[".hidden"] == "hidden" and reasons["f0000.txt"] is None
        # "copy.txt" comes first in scan order, so it is the original
        assert reasons["copy.txt"] is None and reasons["f0001.txt"] == "duplicate"
        counts = window.preview.counts_label.text()
        assert counts.startswith("12 files to process")
        # a duplicate is not left out: it gets copies of its original's results
        assert "left out: 1 hidden" in counts and "1 duplicate, done once and copied" in counts
        # plain text and web links are refused with a message, not a freeze
        assert not drop(window, text="just some text")
        assert not drop(window, urls=[QUrl("https://example.invalid/a.pdf")])
        assert "Only files and folders" in window.statusBar().currentMessage()
        await close(window)

    run(scenario)


def test_start_runs_everything_and_the_statistics_agree(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 20)

    async def scenario():
        window = make_window()
        window.show()
        window.control.output_edit.setText(str(tmp_path / "sums"))
        window.control.select_operation("checksum")
        await start_on(qtbot, window, tmp_path / "in")
        await until(
            lambda: (
                window.batch is not None
                and window.batch.is_done
                and window.batch.status.value == "finished"
            )
        )
        await until(lambda: stat(window, "Completed") == "20")
        assert stat(window, "Failed") == "0" and stat(window, "Success rate") == "100%"
        assert window.stats.progress.value() == 1000
        assert (tmp_path / "sums" / "SHA256SUMS").read_text().count("\n") == 20
        model = window.tasks.model
        assert model.rowCount() == 20
        assert all(model.task_at(r).status is TaskStatus.COMPLETED for r in range(20))
        await until(lambda: "20 completed" in window.statusBar().currentMessage())
        assert window.bridge.updates > 0
        await close(window)

    run(scenario)


def test_finish_then_pause_starts_nothing_and_resume_finishes(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 16)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", "sleep 0.1", workers=2)
        await until(
            lambda: window.batch is not None and window.batch.counts[TaskStatus.COMPLETED] >= 2
        )
        click(window, "drainButton", qtbot)
        await until(lambda: window.batch.counts[TaskStatus.RUNNING] == 0)
        started = sum(1 for t in window.batch.tasks if t.attempts)
        assert window.control.resume_button.isEnabled()
        await asyncio.sleep(0.4)  # the interval under test: nothing may start in it
        assert sum(1 for t in window.batch.tasks if t.attempts) == started < 16
        # paused, the statistics say so instead of a stale rate and ETA, and the
        # chart leaves a gap instead of drawing throughput that is not happening
        await until(lambda: stat(window, "ETA") == "paused")
        assert stat(window, "Files/s") == "paused"
        window.stats._chart_sample()
        assert window.stats.chart.samples[-1] is None
        click(window, "resumeButton", qtbot)
        await until(lambda: stat(window, "Files/s") != "paused")
        await until(lambda: window.batch.is_done)
        assert window.batch.counts[TaskStatus.COMPLETED] == 16
        await close(window)

    run(scenario)


def test_cancel_all_stops_running_and_waiting_tasks(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 10)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", "sleep 30", workers=2)
        await until(
            lambda: window.batch is not None and window.batch.counts[TaskStatus.RUNNING] == 2
        )
        click(window, "cancelAllButton", qtbot)
        box = window.findChild(QMessageBox, "cancelAllConfirm")
        assert box is not None and box.isVisible()
        assert box.text() == "Cancel 10 unfinished tasks?"
        [keep] = [b for b in box.buttons() if b.text() == "Keep running"]
        keep.click()  # asked, and said no: nothing is cancelled
        assert window.batch.counts[TaskStatus.RUNNING] == 2 and not window.batch.is_done
        click(window, "cancelAllButton", qtbot)
        box = next(b for b in window.findChildren(QMessageBox, "cancelAllConfirm") if b.isVisible())
        box.findChild(QPushButton, "confirmCancelAll").click()
        await until(lambda: window.batch.is_done, timeout=10)
        assert window.batch.counts[TaskStatus.CANCELLED] == 10
        # the bar says how it ended, in the cancelled colour, not a plain "100%"
        await until(lambda: "10 cancelled" in window.stats.progress.text())
        assert window.stats.progress.parts[TaskStatus.CANCELLED] == 10
        # cancelled on purpose: Retry cancelled offers them again, Retry failed does not
        await until(lambda: window.retry_cancelled_action.isEnabled())
        assert not window.control.retry_button.isEnabled()
        await close(window)

    run(scenario)


def test_retry_failed_runs_the_failures_again(make_window, run, tmp_path, qtbot):
    files = make_files(tmp_path / "in", 6)
    ok = tmp_path / "ok"
    ok.mkdir()
    script = f'test -e "{ok}/$(basename "$0")" || (echo missing ok file >&2; exit 9)'

    async def scenario():
        window = make_window()
        window.processor.retry = RetryPolicy(max_retries=0)
        window.show()
        use_command(window, f"sh -c {shlex.quote(script)} {{path}}")
        (ok / "f0000.txt").write_text("")
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.is_done)
        assert window.batch.counts[TaskStatus.FAILED] == 5
        failed = next(t for t in window.batch.tasks if t.status is TaskStatus.FAILED)
        assert failed.error == "exit status 9: missing ok file"
        for path in files:
            (ok / path.name).write_text("")
        await until(lambda: window.windowTitle() == "Done · exec — batchgui")
        # one failure cancelled by hand stays cancelled through Retry failed
        assert not window.retry_cancelled_action.isEnabled()
        cancelled = next(t for t in window.batch.tasks if t.status is TaskStatus.FAILED)
        window.processor.retry_tasks([cancelled])
        window.processor.cancel([cancelled])
        await until(lambda: cancelled.status is TaskStatus.CANCELLED)
        await until(lambda: window.retry_cancelled_action.isEnabled())
        assert window.control.retry_button.isEnabled()
        click(window, "retryFailedButton", qtbot)
        await until(lambda: window.batch.is_done and window.batch.counts[TaskStatus.COMPLETED] == 5)
        assert cancelled.status is TaskStatus.CANCELLED
        await until(lambda: window.retry_cancelled_action.isEnabled())
        window.retry_cancelled_action.trigger()
        await until(lambda: window.batch.is_done and window.batch.counts[TaskStatus.COMPLETED] == 6)
        await close(window)

    run(scenario)


def test_more_workers_while_running_start_more_at_once(make_window, run, tmp_path):
    make_files(tmp_path / "in", 30)

    async def scenario():
        window = make_window()
        window.show()
        use_command(window, "sleep 0.2", workers=1)
        window.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(window))
        peak = [0]

        def started(task):  # the number running as each task starts
            peak[0] = max(peak[0], task.batch.counts[TaskStatus.RUNNING])

        window.processor.events.task_started.connect(started)
        window.start()
        await until(
            lambda: window.batch is not None and window.batch.counts[TaskStatus.COMPLETED] >= 2
        )
        assert peak[0] == 1  # one worker: never more than one at once
        window.control.workers_spin.setValue(4)
        await until(lambda: peak[0] == 4)
        cancel_everything(window)
        await until(lambda: window.batch.is_done)
        await close(window)

    run(scenario)


def test_the_task_model_passes_the_model_tester(make_window, run, tmp_path, qtmodeltester):
    make_files(tmp_path / "in", 25)

    async def scenario():
        window = make_window()
        use_command(window, "true")
        window.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(window))
        window.start()
        await until(lambda: window.batch is not None and window.batch.is_done)
        model = window.tasks.model
        qtmodeltester.check(model, force_py=True)
        model.sort(1, Qt.SortOrder.DescendingOrder)
        window.tasks.filter_combo.setCurrentText("Completed")
        assert model.rowCount() == 25
        window.tasks.filter_combo.setCurrentText("Failed")
        assert model.rowCount() == 0
        qtmodeltester.check(window.preview.model, force_py=True)
        await close(window)

    run(scenario)


def test_closing_mid_batch_and_reopening_offers_to_resume(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 12)
    data = tmp_path / "data"

    async def scenario():
        first = make_window(data)
        first.show()
        use_command(first, "sleep 0.3", workers=2)
        first.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(first))
        first.start()
        await until(
            lambda: first.batch is not None and first.batch.counts[TaskStatus.COMPLETED] >= 2
        )
        first.close()
        box = first.findChild(QMessageBox, "closeDialog")
        assert box is not None and box.isVisible()
        box.findChild(QPushButton, "close_save").click()
        await until(lambda: first.isHidden() and not first._background, timeout=30)
        assert not first.batch.is_done

        second = make_window(data)
        second.show()
        box = await second.offer_resume()
        assert box is not None and box.objectName() == "resumeOffer"
        # it names the batch: what, where, how far
        assert box.text().startswith(f"The exec batch on {tmp_path / 'in'} did not finish: ")
        assert "of 12 files done" in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: second.batch is not None and second.batch.is_done, timeout=30)
        assert second.batch.counts[TaskStatus.COMPLETED] == 12
        # the Run panel showed the resumed batch's own settings, not an empty command
        assert second.control.op_combo.currentData() == "exec"
        assert second.control._option_widgets["command"].text() == "sleep 0.3"
        assert second.batch.id == first.batch.id
        done_before = {t.path for t in first.batch.tasks if t.status is TaskStatus.COMPLETED}
        redone = [t for t in second.batch.tasks if t.path in done_before and t.attempts > 1]
        assert not redone
        await close(second)

    run(scenario)


def test_the_window_opens_from_the_command_line(tmp_path):
    import subprocess

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "batchgui",
            "--data-dir",
            str(tmp_path),
            "gui",
            str(tmp_path),
            "--smoke-test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert "batchgui: window shown" in result.stdout


def test_an_empty_folder_says_so_and_start_asks_for_files(make_window, run, tmp_path, qtbot):
    (tmp_path / "empty").mkdir()

    async def scenario():
        window = make_window()
        window.show()
        window.add_paths([str(tmp_path / "empty")])
        await until(lambda: scanned(window))
        assert "nothing found" in window.preview.counts_label.text()
        window.clear_sources()
        window.start()
        assert window.statusBar().currentMessage() == "Add files or folders first"
        assert window.batch is None
        await close(window)

    run(scenario)


def test_pause_freezes_running_commands_and_resume_finishes(make_window, run, tmp_path, qtbot):
    from tests.test_control import burner, frozen_cpu_use, tagged

    marker = f"batchgui-test-{uuid.uuid4().hex}"
    make_files(tmp_path / "in", 2)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", burner(marker, 0.8), workers=2)
        await until(lambda: len(tagged(marker)) == 2)
        procs = tagged(marker)
        click(window, "pauseButton", qtbot)
        assert "frozen" in window.statusBar().currentMessage()
        used = await frozen_cpu_use(procs)
        assert used < 0.02, f"paused commands used {used:.3f} s of CPU"
        assert window.batch.counts[TaskStatus.RUNNING] == 2  # frozen, not finished
        # the task list says so, and their clocks stand still
        model = window.tasks.model
        rows = [r for r in range(model.rowCount()) if _cell(model, r, DURATION)]
        assert {_cell(model, r, STATUS) for r in rows} == {"paused"}
        icons = {model.data(model.index(r, STATUS), Qt.ItemDataRole.DecorationRole) for r in rows}
        assert {icon.cacheKey() for icon in icons} == {
            status_icon(TaskStatus.RUNNING, True).cacheKey()
        }
        clocks = [_cell(model, r, DURATION) for r in rows]
        await asyncio.sleep(0.3)  # the interval under test: the clocks must not move
        assert [_cell(model, r, DURATION) for r in rows] == clocks
        # the statistics do not call frozen tasks running, nor show a stale rate
        await until(lambda: stat(window, "Running") == "0 (2 paused)")
        assert stat(window, "Files/s") == stat(window, "ETA") == "paused"
        # closing now asks about a paused batch, not a running one
        box = window.ask_how_to_close()
        assert box.text().startswith("The batch is paused (0 tasks waiting, 2 tasks frozen")
        box.reject()
        click(window, "resumeButton", qtbot)
        await until(lambda: {_cell(model, r, STATUS) for r in rows} != {"paused"})
        await until(lambda: window.batch.is_done)
        assert window.batch.counts[TaskStatus.COMPLETED] == 2
        await close(window)

    run(scenario)


def _cell(model, row: int, column: int) -> str:
    return model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole) or ""


def test_the_task_list_shows_progress_read_from_a_command(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 1)
    script = "import time; print('42% done', flush=True); time.sleep(30)"

    async def scenario():
        window = make_window()
        window.show()
        use_command(window, f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}", 1)
        window.control._option_widgets["progress_regex"].setText(r"(\d+)%")
        await start_on(qtbot, window, tmp_path / "in")
        model = window.tasks.model

        def status_text() -> str:
            return str(model.data(model.index(0, 1)))

        await until(lambda: "42%" in status_text())
        click(window, "cancelAllButton", qtbot)
        await until(lambda: window.batch.is_done)
        await close(window)

    run(scenario)


def test_pause_after_a_task_from_its_menu(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 12)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", "sleep 0.3", workers=1)
        await until(lambda: window.batch is not None and window.batch.counts[TaskStatus.RUNNING])
        [task] = [t for t in window.batch.tasks if t.status is TaskStatus.RUNNING]
        menu = window.tasks.build_menu([task])
        [action] = [a for a in menu.actions() if a.text() == "Pause after this task"]
        action.trigger()
        assert window.statusBar().currentMessage() == f"The batch will pause after {task.name}"
        await until(lambda: task.status is TaskStatus.COMPLETED)
        await until(lambda: window.control.resume_button.isEnabled())
        # the promise is now past: the status bar says it happened
        await until(lambda: window.statusBar().currentMessage() == f"Paused after {task.name}")
        assert window.batch.counts[TaskStatus.RUNNING] == 0
        assert window.batch.counts[TaskStatus.COMPLETED] < 12
        click(window, "resumeButton", qtbot)
        await until(lambda: window.batch.is_done, timeout=30)
        assert window.batch.counts[TaskStatus.COMPLETED] == 12
        await close(window)

    run(scenario)


@pytest.mark.parametrize(("choice", "cpu_seconds"), [("save", 30), ("drain", 0.6), ("kill", 30)])
def test_closing_mid_batch_asks_and_no_command_outlives_the_window(
    make_window, run, tmp_path, qtbot, choice, cpu_seconds
):
    from tests.test_control import burner, tagged

    marker = f"batchgui-test-{uuid.uuid4().hex}"
    make_files(tmp_path / "in", 6)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", burner(marker, cpu_seconds), workers=2)
        await until(lambda: len(tagged(marker)) == 2)
        children = tagged(marker)
        window.close()
        box = window.findChild(QMessageBox, "closeDialog")
        assert box is not None and box.isVisible() and not window.isHidden()
        box.findChild(QPushButton, f"close_{choice}").click()
        await until(lambda: window.isHidden() and not window._background, timeout=30)
        alive = [p for p in children + tagged(marker) if p.is_running()]
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        return window.batch.counts

    counts = run(scenario)
    if choice == "save":
        assert counts[TaskStatus.PENDING] == 6  # all resumable, nothing charged
    elif choice == "drain":
        assert counts[TaskStatus.COMPLETED] == 2 and counts[TaskStatus.PENDING] == 4
    else:
        assert counts[TaskStatus.CANCELLED] == 6


def test_files_the_system_asks_to_open_join_the_preview(make_window, run, tmp_path):
    """macOS sends files dropped on the Dock icon as QFileOpenEvents to the application."""
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from batchgui.gui.app import OpenFilesFilter

    make_files(tmp_path / "in", 3)

    async def scenario():
        window = make_window()
        window.show()
        app = QApplication.instance()
        opener = OpenFilesFilter(window)
        app.installEventFilter(opener)
        try:
            QApplication.sendEvent(app, QFileOpenEvent(str(tmp_path / "in")))
            await until(lambda: scanned(window))
            assert window.sources == [str(tmp_path / "in")]
            assert window.preview.model.rowCount() == 3
        finally:
            app.removeEventFilter(opener)
        await close(window)

    run(scenario)


def test_each_priority_in_a_tasks_menu_sets_exactly_that_level(make_window, run, tmp_path, qtbot):
    """Through the real QActions of the context menu (triggered(bool) once turned
    every choice into LOW)."""
    from batchgui.core import Priority

    make_files(tmp_path / "in", 6)

    async def scenario():
        window = make_window()
        await start_commands(qtbot, window, tmp_path / "in", "sleep 0.5", workers=1)
        await until(lambda: window.batch is not None and window.batch.counts[TaskStatus.RUNNING])
        waiting = [t for t in window.batch.tasks if t.status is TaskStatus.PENDING]
        task = waiting[-1]
        for level in (Priority.URGENT, Priority.HIGH, Priority.LOW, Priority.NORMAL):
            menu = window.tasks.build_menu([task])
            [submenu] = [a.menu() for a in menu.actions() if a.text() == "Priority"]
            [action] = [a for a in submenu.actions() if a.text() == level.name.capitalize()]
            action.trigger()
            assert task.priority is level, (level, task.priority)
        menu = window.tasks.build_menu([task])
        [submenu] = [a.menu() for a in menu.actions() if a.text() == "Priority"]
        [urgent] = [a for a in submenu.actions() if a.text() == "Urgent"]
        urgent.trigger()  # the last file queued now runs next
        await until(lambda: task.status is not TaskStatus.PENDING, timeout=10)
        assert sum(t.status is TaskStatus.PENDING for t in waiting) == len(waiting) - 1
        cancel_everything(window)
        await until(lambda: window.batch.is_done, timeout=10)
        await close(window)

    run(scenario)


def test_filters_apply_as_you_type_and_a_bad_one_keeps_the_table(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 4)
    (tmp_path / "in" / "notes.md").write_text("x")

    async def scenario():
        window = make_window()
        window.show()
        window.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(window))
        preview = window.preview
        assert preview.counts_label.text().startswith("5 files to process")
        qtbot.keyClicks(preview.ext_edit, ".md")  # typed, no Enter
        await until(lambda: preview.counts_label.text().startswith("1 file to process"))
        qtbot.keyClicks(preview.name_edit, "([broken")
        await until(lambda: "bad name pattern" in preview.name_edit.toolTip())
        assert preview.name_edit.styleSheet()  # marked
        assert preview.model.rowCount() == 5  # the last good scan stays on screen
        assert "bad name pattern" in preview.counts_label.text()
        preview.name_edit.clear()
        qtbot.keyClicks(preview.name_edit, "notes")
        await until(lambda: "bad" not in preview.name_edit.toolTip() and scanned(window))
        await until(lambda: preview.counts_label.text().startswith("1 file to process"))
        assert not preview.name_edit.styleSheet()
        await close(window)

    run(scenario)
