"""What the window remembers across restarts, and the History window."""

from __future__ import annotations

import csv
import json
import shlex

from PySide6.QtWidgets import QMessageBox

from batchgui.core import Batch, RetryPolicy, Task, TaskStatus
from batchgui.store import Store
from tests.conftest import make_files
from tests.gui.conftest import close, until
from tests.gui.test_window import click, start_on, use_command


def test_options_filters_and_choices_survive_a_restart(make_window, run, tmp_path):
    data = tmp_path / "data"

    async def scenario():
        first = make_window(data)
        first.show()
        first.control.select_operation("image")
        first.control._option_widgets["format"].setCurrentText("png")
        first.control._option_widgets["max_width"].setValue(640)
        use_command(first, "echo {path}")  # exec, shown last
        first.control.select_on_exists("rename")
        first.preview.ext_edit.setText(".jpg, .png")
        first.preview.hidden_check.setChecked(True)
        await close(first)

        second = make_window(data)
        second.show()
        control = second.control
        assert control.op_combo.currentData() == "exec"
        assert control._option_widgets["command"].text() == "echo {path}"
        assert control.on_exists() == "rename"
        assert second.preview.ext_edit.text() == ".jpg, .png"
        assert second.preview.hidden_check.isChecked()
        control.select_operation("image")  # each operation keeps its own options
        assert control._option_widgets["format"].currentText() == "png"
        assert control._option_widgets["max_width"].value() == 640
        control.select_operation("exec")
        assert control._option_widgets["command"].text() == "echo {path}"
        await close(second)

    run(scenario)


def test_the_resume_offer_names_the_batch_and_remembers_no(make_window, run, tmp_path):
    data = tmp_path / "data"
    make_files(tmp_path / "photos", 3)
    store = Store(data)
    batch = Batch("checksum", [Task(p, 1) for p in sorted((tmp_path / "photos").iterdir())])
    batch.settings = {"sources": [str(tmp_path / "photos")], "out": str(tmp_path / "sums")}
    store.create_batch(batch)
    store.close()

    async def scenario():
        first = make_window(data)
        first.show()
        box = await first.offer_resume()
        assert box is not None
        assert box.text().startswith(
            f"The checksum batch on {tmp_path / 'photos'} did not finish: 0 of 3 files done."
        )
        box.button(QMessageBox.StandardButton.No).click()
        await until(lambda: "stays in File > History" in first.statusBar().currentMessage())
        await close(first)
        second = make_window(data)
        second.show()
        assert await second.offer_resume() is None  # "No" stands for that batch
        await close(second)

    run(scenario)


def test_history_shows_exports_reruns_and_deletes_past_batches(make_window, run, tmp_path, qtbot):
    make_files(tmp_path / "in", 4)
    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "f0000.txt").write_text("")
    script = f'test -e "{ok}/$(basename "$0")" || (echo no ok file >&2; exit 4)'

    async def scenario():
        window = make_window()
        window.processor.retry = RetryPolicy(max_retries=0)
        window.show()
        use_command(window, f"sh -c {shlex.quote(script)} {{path}}")
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.is_done)
        batch_id = window.batch.id
        assert window.batch.counts[TaskStatus.FAILED] == 3

        window.findChild(type(window.start_action), "historyAction").trigger()
        history = window.stored.history_window
        await until(lambda: history.isVisible() and history.table.rowCount() == 1)
        assert history.table.item(0, 0).text() == "exec"
        assert history.table.item(0, 3).text() == "1 of 4"
        assert history.table.item(0, 4).text() == "3"
        history.table.selectRow(0)
        await until(lambda: "Failed:" in history.summary.toPlainText())
        summary = history.summary.toPlainText()
        assert "Error: exit status 4: no ok file" in summary and "Command: sh -c" in summary

        await history.export(batch_id, tmp_path / "r.json", "json")
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["batch_id"] == batch_id and report["totals"]["failed"] == 3
        await history.export(batch_id, tmp_path / "r.csv", "csv")
        rows = list(csv.DictReader((tmp_path / "r.csv").open()))
        assert len(rows) == 4 and sum(r["status"] == "failed" for r in rows) == 3

        for name in ("f0001.txt", "f0002.txt", "f0003.txt"):
            (ok / name).write_text("")
        assert history.rerun.isEnabled()
        first_run = window.batch
        click(history, "historyRerunFailed", qtbot)
        await until(lambda: window.batch is not first_run)
        assert window.batch.id == batch_id  # the same batch, reopened from the store
        await until(lambda: window.batch.is_done and window.batch.counts[TaskStatus.COMPLETED] == 4)
        await until(lambda: "4 completed" in window.statusBar().currentMessage())  # let go

        await history.refresh()
        history.table.selectRow(0)
        box = history.ask_delete()
        box.findChild(type(history.rerun), "historyConfirmDelete").click()
        await until(
            lambda: (
                history.table.rowCount() == 0
                or "Not deleted" in window.statusBar().currentMessage()
            )
        )
        assert history.table.rowCount() == 0, window.statusBar().currentMessage()
        assert "deleted" in window.statusBar().currentMessage()

        history.forget_spin.setValue(30)
        history.forget_spin.editingFinished.emit()
        assert window.remembered.forget_after_days == 30
        history.close()
        await close(window)

    run(scenario, timeout=90)


def test_start_up_forgets_finished_batches_older_than_the_setting(make_window, run, tmp_path):
    data = tmp_path / "data"
    store = Store(data)
    old, recent, unfinished = (Batch("checksum", [Task(tmp_path / "x", 1)]) for _ in range(3))
    for batch in (old, recent, unfinished):
        store.create_batch(batch)
    long_ago = 1_000_000.0  # 1970: far older than any setting
    store.write(
        lambda c: c.execute(
            "UPDATE batches SET status='finished', finished_at=? WHERE id IN (?, ?)",
            (long_ago, old.id, recent.id),
        )
    )
    store.write(
        lambda c: c.execute(
            "UPDATE batches SET finished_at=strftime('%s','now') WHERE id=?", (recent.id,)
        )
    )
    store.close()

    async def scenario():
        window = make_window(data)
        window.remembered.forget_after_days = 7
        window.show()
        await window.start_up()
        left = {entry["batch_id"] for entry in window.store.history()}
        assert left == {recent.id, unfinished.id}  # the unfinished one is never forgotten
        boxes = [b for b in window.findChildren(QMessageBox, "resumeOffer") if b.isVisible()]
        for box in boxes:  # it is offered for resuming instead
            box.button(QMessageBox.StandardButton.No).click()
        await close(window)

    run(scenario)
