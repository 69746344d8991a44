"""The Run panel's "Run on" row: this computer, or a Dask cluster at an address.

    Mode [auto ▾] [on this computer ▾]                      (the Run panel's Mode row)
    Mode [on a Dask cluster ▾] [tcp://host:8786 | local:2] [Test]
    one line under it: "tcp://…: 4 workers, 16 threads; batchgui 1.0, Python 3.11.7,
    Dask 2026.8.0", or why it failed

The row only describes the choice (`cluster()`); Test connection asks the window
to run the check (`test_requested`) on its loop, and `show_result` shows the
line. The window connects for real when a batch starts (session/cluster.py).
"""

from __future__ import annotations

import textwrap

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from batchgui.session import ClusterSettings
from batchgui.session.cluster import ClusterError, address_from

_THIS_COMPUTER, _CLUSTER = 0, 1
_LINE_CHARS = 44  # what the Run panel holds at its narrowest (a 1024 px window)


class RunOnRow(QWidget):
    #: Test connection was clicked for these settings
    test_requested = Signal(object)
    #: this computer or a cluster was chosen (the mode only applies to this computer)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runOnRow")
        self.where = QComboBox(self)
        self.where.setObjectName("runOnCombo")
        self.where.addItems(["on this computer", "on a Dask cluster"])
        self.where.setAccessibleName("Run on")
        self.where.setToolTip(
            "Where the work runs: here, or on a Dask cluster that sees the same files "
            "(pip install 'batchgui[cluster]')"
        )
        self.address = QLineEdit(self)
        self.address.setObjectName("clusterAddress")
        self.address.setPlaceholderText("tcp://host:8786 or local:2")
        self.address.setAccessibleName("Cluster address")
        self.address.setToolTip(
            "The scheduler's address (tcp:// or tls://), or local:N for N worker "
            "processes on this computer; empty: $DASK_SCHEDULER_ADDRESS"
        )
        self.test_button = QPushButton("Test", self)
        self.test_button.setObjectName("testClusterButton")
        self.test_button.setToolTip("Connect and show the workers, threads and versions")
        self.status = QLabel("", self)
        self.status.setObjectName("clusterStatus")
        # lines broken here, not word-wrapped by Qt: a form row is as tall as a
        # label's size hint, which a wrapped label understates
        self.status.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.where)
        layout.addWidget(self.address, 1)
        layout.addWidget(self.test_button)
        self.where.currentIndexChanged.connect(self._where_changed)
        self.test_button.clicked.connect(self._test)
        self._where_changed()

    def on_cluster(self) -> bool:
        return self.where.currentIndex() == _CLUSTER

    def cluster(self) -> ClusterSettings | None:
        """The choice as settings (None: this computer); ValueError, one line, for a
        bad address."""
        if not self.on_cluster():
            return None
        try:
            return ClusterSettings(address_from(self.address.text()))
        except ClusterError as exc:
            raise ValueError(str(exc)) from None

    def show_cluster(self, settings: ClusterSettings | None) -> None:
        self.where.setCurrentIndex(_CLUSTER if settings is not None else _THIS_COMPUTER)
        if settings is not None:
            self.address.setText(settings.address)

    def show_result(self, line: str, ok: bool) -> None:
        self.status.setText(textwrap.fill(line if ok else f"⚠ {line}", _LINE_CHARS))
        self.status.setToolTip(line)
        self.status.show()
        self.test_button.setEnabled(True)
        self.changed.emit()  # the panel is as tall as its rows (gui/control_panel.py)

    def _test(self) -> None:
        try:
            settings = self.cluster()  # the button shows only with a cluster chosen
        except ValueError as exc:
            self.show_result(str(exc), False)
            return
        assert settings is not None
        self.test_button.setEnabled(False)
        self.status.setText(textwrap.fill(f"Connecting to {settings.address}…", _LINE_CHARS))
        self.status.show()
        self.test_requested.emit(settings)

    def _where_changed(self) -> None:
        on = self.on_cluster()
        self.address.setVisible(on)
        self.test_button.setVisible(on)
        if not on:
            self.status.hide()
        self.changed.emit()
