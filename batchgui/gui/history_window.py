"""The History window: past batches, their reports, and what can be done with them.

    opened from Batch > History (Ctrl+H) ─► refresh(): Store.history on a
        thread ─► the table (newest first): operation, sources, status, done,
        failed, started, finished
    a row selected ─► its report (session/history.stored_report, on a thread)
        ─► the summary below: settings, counts, the failed tasks and why
    Export JSON… / Export CSV… ─► the report written on a thread
    Re-run failed ─► rerun_requested(batch id): the main window reopens the
        batch and runs its failed tasks again
    Delete… ─► asks, then forget_batches on a thread (refused in one line
        while another batchgui runs it)
    "Forget finished batches after N days" ─► remembered; applied now and at
        every start (prune)

No SQLite or file work happens on the GUI thread: every read and write is
awaited on a worker thread through the window's `spawn`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from batchgui.core.operation import atomic_write
from batchgui.core.report import write_csv
from batchgui.gui.names import shown, shown_line
from batchgui.gui.questions import confirm
from batchgui.gui.remembered import Remembered
from batchgui.session.history import ENDED, forget_batches, prune, stored_report
from batchgui.session.units import plural, words
from batchgui.store import Store, StoreError

log = logging.getLogger(__name__)

COLUMNS = ("Operation", "Sources", "Status", "Done", "Failed", "Started", "Finished")
UNFINISHED = ("pending", "running", "paused")
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "–"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def describe_sources(sources: list[str]) -> str:
    if not sources:
        return "–"
    more = f" (+{len(sources) - 1} more)" if len(sources) > 1 else ""
    return sources[0] + more


class HistoryWindow(QDialog):
    #: run this stored batch's failed tasks again (the main window does it)
    rerun_requested = Signal(str)
    #: one line for the main window's status bar
    message = Signal(str)

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        remembered: Remembered,
        spawn: Spawn,
        parent: QWidget | None = None,
        *,
        saved: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyWindow")
        self.setWindowTitle("History — batchgui")
        self.store, self.data_dir, self.remembered, self.spawn = store, data_dir, remembered, spawn
        # what the window's running batches did up to now, in the store before
        # it is read (else a batch that just ended could show its last flush)
        self._saved = saved
        self.entries: list[dict[str, Any]] = []
        self.report: tuple[str, dict[str, Any]] | None = None  # (batch id, report)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("historyTable")
        self.table.setAccessibleName("Past batches")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)  # else Qt wraps at "/" and cuts the end off
        self.table.itemSelectionChanged.connect(self._selected)

        self.summary = QPlainTextEdit(self)
        self.summary.setObjectName("historySummary")
        self.summary.setAccessibleName("Report of the selected batch")
        self.summary.setReadOnly(True)
        self.summary.setTabChangesFocus(True)
        self.summary.setPlaceholderText("Select a batch to see its report")

        self.export_json = self._button(
            "Export JSON…", "historyExportJson", "Save the report as JSON"
        )
        self.export_json.clicked.connect(lambda: self._choose_export("json"))
        self.export_csv = self._button("Export CSV…", "historyExportCsv", "Save every task as CSV")
        self.export_csv.clicked.connect(lambda: self._choose_export("csv"))
        self.rerun = self._button(
            "Re-run failed", "historyRerunFailed", "Run the failed tasks of this batch again"
        )
        self.rerun.clicked.connect(self._rerun)
        self.delete = self._button(
            "Delete…", "historyDelete", "Forget this batch (the files it made are kept)"
        )
        self.delete.clicked.connect(self.ask_delete)
        close = self._button("Close", "historyClose", "Close this window")
        close.clicked.connect(self.close)

        self.forget_spin = QSpinBox(self)
        self.forget_spin.setObjectName("forgetAfterSpin")
        self.forget_spin.setRange(0, 3650)
        self.forget_spin.setSpecialValueText("never")
        self.forget_spin.setSuffix(" days")
        self.forget_spin.setValue(remembered.forget_after_days)
        self.forget_spin.setToolTip(
            "Finished and cancelled batches older than this are forgotten when batchgui "
            "starts; unfinished batches are always kept"
        )
        forget_label = QLabel("Forget finished batches after", self)
        forget_label.setBuddy(self.forget_spin)
        self.forget_spin.setAccessibleName(forget_label.text())
        self.forget_spin.editingFinished.connect(self._forget_setting_changed)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.summary)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        actions = QHBoxLayout()
        for button in (self.export_json, self.export_csv, self.rerun, self.delete):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(close)
        setting = QHBoxLayout()
        setting.addWidget(forget_label)
        setting.addWidget(self.forget_spin)
        setting.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(actions)
        layout.addLayout(setting)
        self.resize(900, 560)
        self._enable()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    # --- the list ------------------------------------------------------------------------
    async def refresh(self) -> None:
        if self._saved is not None:
            await self._saved()
        try:
            entries = await asyncio.to_thread(self.store.history)
        except StoreError as exc:
            self.message.emit(str(exc))
            return
        selected = self.selected_id()
        self.entries = entries
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            counts = entry["counts"]
            done = counts["completed"] + counts["skipped"]
            cells = (
                entry["op"],
                describe_sources(entry["sources"]),
                words(entry["status"]),
                f"{done} of {counts['total']}",
                str(counts["failed"]),
                _when(entry["started_at"] or entry["created_at"]),
                _when(entry["finished_at"]),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(shown_line(text))  # a source's name may not be UTF-8
                item.setData(Qt.ItemDataRole.UserRole, entry["batch_id"])
                if column == 1:
                    item.setToolTip(shown("\n".join(entry["sources"])))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        if selected is not None:
            self.select(selected)
        self._enable()

    def select(self, batch_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == batch_id:
                self.table.selectRow(row)
                return

    def selected_id(self) -> str | None:
        items = self.table.selectedItems()
        return str(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def selected_entry(self) -> dict[str, Any] | None:
        batch_id = self.selected_id()
        return next((e for e in self.entries if e["batch_id"] == batch_id), None)

    def _enable(self) -> None:
        entry = self.selected_entry()
        self.export_json.setEnabled(entry is not None)
        self.export_csv.setEnabled(entry is not None)
        self.delete.setEnabled(entry is not None)
        self.rerun.setEnabled(
            entry is not None and entry["status"] in ENDED and entry["counts"]["failed"] > 0
        )

    def _selected(self) -> None:
        self._enable()
        batch_id = self.selected_id()
        if batch_id is not None:
            self.spawn(self._show_report(batch_id))

    async def _show_report(self, batch_id: str) -> None:
        try:
            report, settings = await asyncio.to_thread(stored_report, self.store, batch_id)
        except StoreError as exc:
            self.summary.setPlainText(str(exc))
            return
        if self.selected_id() != batch_id:
            return  # another row was chosen meanwhile
        self.report = (batch_id, report)
        self.summary.setPlainText(shown(summary_text(report, settings)))

    # --- actions -------------------------------------------------------------------------
    def _choose_export(self, form: str) -> None:
        batch_id = self.selected_id()
        if batch_id is None:
            return
        dialog = QFileDialog(
            self, f"Export {form.upper()}", str(Path.home() / f"{batch_id}.{form}")
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("JSON report (*.json)" if form == "json" else "CSV table (*.csv)")
        dialog.fileSelected.connect(
            lambda path: self.spawn(self.export(batch_id, Path(path), form))
        )
        dialog.open()

    async def export(self, batch_id: str, path: Path, form: str) -> None:
        def write() -> None:
            report, _settings = stored_report(self.store, batch_id)
            if form == "json":
                data = json.dumps(report, indent=2).encode()
            else:
                text = io.StringIO(newline="")
                write_csv(report, text)
                data = text.getvalue().encode()
            with atomic_write(path) as handle:
                handle.write(data)

        try:
            await asyncio.to_thread(write)
        except (OSError, StoreError) as exc:
            self.message.emit(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}")
            return
        self.message.emit(f"Report written to {path}")

    def _rerun(self) -> None:
        batch_id = self.selected_id()
        if batch_id is not None:
            self.rerun_requested.emit(batch_id)

    def ask_delete(self) -> QMessageBox | None:
        entry = self.selected_entry()
        if entry is None:
            return None
        batch_id = entry["batch_id"]
        return confirm(
            self,
            "historyDeleteConfirm",
            "Delete batch",
            f"Forget the {entry['op']} batch on {describe_sources(entry['sources'])}?",
            "Its record and results leave the history; the files it made stay where they are.",
            ("Delete", "historyConfirmDelete"),
            "Cancel",
            lambda: self.spawn(self.forget(batch_id)),
        )

    async def forget(self, batch_id: str) -> None:
        try:
            await asyncio.to_thread(forget_batches, self.store, self.data_dir, [batch_id])
        except StoreError as exc:
            self.message.emit(f"Not deleted: {exc}")
            return
        self.summary.clear()
        self.message.emit("Batch deleted from the history")
        await self.refresh()

    def _forget_setting_changed(self) -> None:
        days = self.forget_spin.value()
        if days == self.remembered.forget_after_days:
            return
        self.remembered.forget_after_days = days
        if days:
            self.spawn(self.prune(days))

    async def prune(self, days: int) -> None:
        forgotten = await prune_old(self.store, self.data_dir, days)
        if forgotten is None:
            return
        if forgotten:
            self.message.emit(
                f"Forgot {plural(len(forgotten), 'finished batch', 'finished batches')} "
                f"older than {plural(days, 'day')}"
            )
        await self.refresh()


async def prune_old(store: Store, data_dir: Path, days: int) -> list[str] | None:
    """Forget finished batches older than `days` (on a thread); None if it failed
    (logged: the history is only kept longer)."""
    try:
        return await asyncio.to_thread(prune, store, data_dir, days * 86400.0)
    except StoreError as exc:
        log.warning("old batches not forgotten: %s", exc)
        return None


def summary_text(report: dict[str, Any], settings: dict[str, Any]) -> str:
    """A stored batch's report as a person reads it: what, where, how it went, what failed."""
    totals = report["totals"]
    lines = [
        f"Batch {report['batch_id']}: {report['op']} ({report['mode']} mode, "
        f"{plural(report['workers'], 'worker')})",
    ]
    options = settings.get("options") or {}
    if options:
        lines.append("Options: " + ", ".join(f"{words(k)}: {v}" for k, v in options.items()))
    sources = settings.get("sources") or []
    if sources:
        lines.append("Sources: " + ", ".join(sources))
    if settings.get("out"):
        lines.append(f"Output: {settings['out']}")
    lines.append(
        f"{totals['completed']} completed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped, {totals['cancelled']} cancelled "
        f"of {totals['total']}"
    )
    failed = [t for t in report["tasks"] if t["status"] == "failed"]
    if failed:
        lines.append("")
        lines.append("Failed:")
        for task in failed[:200]:
            kind = words(task["error_kind"]) if task["error_kind"] else "Error"
            lines.append(f"  {task['path']} — {kind}: {task['error']}")
        if len(failed) > 200:
            lines.append(f"  … and {len(failed) - 200} more (export the report for all)")
    return "\n".join(lines)
