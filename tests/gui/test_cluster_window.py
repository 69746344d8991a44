"""The window's Run on row: Test connection shows a real LocalCluster's workers,
threads and versions; a batch started with "A Dask cluster" runs there (on the
window's qasync loop) and the choice is remembered; a bad address is one line."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from batchgui.core import TaskStatus
from tests.conftest import make_files
from tests.gui.conftest import close, until
from tests.gui.test_window import click, start_on

pytest.importorskip("distributed")


def on_cluster(window, address: str) -> None:
    window.control.run_on.where.setCurrentIndex(1)
    window.control.run_on.address.setText(address)


def test_test_connection_shows_workers_threads_and_versions(make_window, run, qtbot):
    window = make_window()

    async def scenario():
        window.show()
        on_cluster(window, "local:2")
        assert window.control.mode_combo.isHidden()  # the cluster decides
        click(window, "testClusterButton", qtbot)
        status = window.findChild(QLabel, "clusterStatus")
        await until(lambda: "worker" in status.text() or "⚠" in status.text(), 60)
        shown = status.text()
        on_cluster(window, "tcp://127.0.0.1:9")
        click(window, "testClusterButton", qtbot)
        await until(lambda: "⚠" in status.text(), 60)
        refused = status.text()
        await close(window)
        return shown, refused

    shown, refused = run(scenario, 120)
    shown = " ".join(shown.split())  # the label breaks its lines
    assert "local:2: 2 workers, 2 threads, batchgui " in shown and "Python 3." in shown
    assert "but this computer runs" not in shown
    refused = " ".join(refused.split())
    assert refused.startswith("⚠ cannot connect to the cluster tcp://127.0.0.1:9")


def test_a_batch_started_on_a_cluster_runs_there(make_window, run, qtbot, tmp_path):
    make_files(tmp_path / "in", 12)
    window = make_window()

    async def scenario():
        window.show()
        window.control.select_operation("checksum")
        on_cluster(window, "local:2")
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: window.batch is not None and window.batch.is_done, 60)
        batch = window.batch
        await close(window)
        return batch

    batch = run(scenario, 120)
    assert batch.mode == "cluster"
    assert batch.counts[TaskStatus.COMPLETED] == 12
    assert window.clusters.connection is None  # closed with the window
    again = make_window()  # the choice is remembered
    assert again.control.run_on.on_cluster()
    assert again.control.run_on.address.text() == "local:2"
    again.close()


def test_a_bad_address_is_one_line_and_nothing_starts(make_window, run, qtbot, tmp_path):
    make_files(tmp_path / "in", 2)
    window = make_window()

    async def scenario():
        window.show()
        on_cluster(window, "nonsense")
        await start_on(qtbot, window, tmp_path / "in")
        await until(lambda: "nonsense" in window.statusBar().currentMessage())
        message = window.statusBar().currentMessage()
        await close(window)
        return message

    message = run(scenario)
    assert "is not an address" in message and "\n" not in message
    assert window.batch is None
