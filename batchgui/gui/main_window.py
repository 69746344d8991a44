"""The main window: four panels around one engine, and what the user does with them.

    drop / Add / `batchgui gui PATH` ─► add_paths ─► _scan: stream_scan on a
        thread fills the preview as it goes, then duplicates on a thread
    Start ─► _start: prepare (scan, duplicates, unchanged: a thread) ─► saved
        in the store (a thread) ─► BatchProcessor.submit on this loop
    engine events ─► EngineBridge (≤ 20 updates/s) ─► task model, statistics,
        buttons, a notification when a batch ends
    Pause ─► running commands and worker processes frozen (SIGSTOP); Finish,
        then pause ─► running tasks end, nothing new starts; a task's menu
        ─► pause after it
    close while running ─► asks: stop and save (running work back to pending,
        offered again at the next start), finish running tasks, or stop and
        cancel ─► every child process ends with the window

Around it, a module per idea: menus.py (the menus), questions.py (Cancel all
and close confirmations), stored_batches.py (start-up clean-up, the resume
offer, resuming, History), remembered.py (what survives a restart),
details_pane.py + task_history.py (one task's story), theme.py, wording.py
(messages in the window's words), desktop.py (opening files).

Everything here runs on the Qt main thread, which is also the asyncio loop's
thread (qasync); anything that touches files is awaited on a worker thread.
Dialogs are opened with open(), never exec(), so the loop never nests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QSystemTrayIcon,
    QWidget,
)

from batchgui._version import __version__
from batchgui.core import Batch, BatchProcessor, BatchStatus, Priority, TaskStatus
from batchgui.core.collector import heap
from batchgui.core.operation import OperationSpec, atomic_write
from batchgui.core.processor import default_workers
from batchgui.core.report import build_report
from batchgui.gui.bridge import EngineBridge
from batchgui.gui.control_panel import ControlPanel
from batchgui.gui.desktop import open_path
from batchgui.gui.details_pane import DetailsPane
from batchgui.gui.history_window import (
    HistoryWindow,
)
from batchgui.gui.icons import app_icon
from batchgui.gui.menus import build_menus
from batchgui.gui.presets import PresetBar
from batchgui.gui.preview_panel import PreviewPanel, count_entries
from batchgui.gui.questions import CONFIRM_CANCEL_ABOVE, ask_how_to_close, confirm_cancel_all
from batchgui.gui.remembered import Remembered
from batchgui.gui.stats_panel import StatisticsPanel
from batchgui.gui.stored_batches import StoredBatches
from batchgui.gui.task_history import TaskHistory
from batchgui.gui.task_view import TaskPanel
from batchgui.gui.theme import apply_theme
from batchgui.gui.window_cluster import WindowClusters
from batchgui.gui.window_watch import WindowWatch
from batchgui.gui.wording import WindowStatusBar
from batchgui.operations.registry import load_operations
from batchgui.scan.duplicates import Duplicates, find_duplicates
from batchgui.scan.safety import leave_out_unsupported, output_reasons
from batchgui.scan.walk import InputError, absolute, stream_scan
from batchgui.session import RunSettings, StopMode
from batchgui.session.awake import KeepAwake
from batchgui.session.batch_session import BatchSession, nothing_to_process, prepare_batch
from batchgui.session.cluster import ClusterError
from batchgui.session.units import plural
from batchgui.store import Store, StoreError

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    # made by gui/menus.py: the actions the window enables and disables
    start_action: QAction
    pause_action: QAction
    drain_action: QAction
    resume_action: QAction
    cancel_action: QAction
    retry_action: QAction
    retry_cancelled_action: QAction
    quit_when_done_action: QAction
    keep_awake_action: QAction
    theme_actions: dict[str, QAction]

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("batchgui")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setStatusBar(WindowStatusBar(self))  # messages in the window's words
        self.data_dir = data_dir
        self.remembered = Remembered(data_dir)
        self.sources: list[str] = []
        self.batch: Batch | None = None
        self.sessions: list[BatchSession] = []  # every batch this window started
        self._window_holds_heap = False
        self._background: set[asyncio.Future] = set()  # keep references (qasync)
        self._scan_task: asyncio.Task | None = None
        self._scanned: tuple | None = None  # (what it depends on, entries, duplicates)
        self._closing = False
        self._shut_down_done = False
        self._stop_draining: asyncio.Event | None = None  # while closing waits for running tasks
        self._stop_point = ""  # what the status bar says once a promised pause happens
        self.stored = StoredBatches(self)
        self.watch = WindowWatch(self)
        self.awake = KeepAwake()  # held while a batch works (session/awake.py)
        # one thread for it: a hold and the release after it never swap places
        self._awake_thread = ThreadPoolExecutor(1, thread_name_prefix="batchgui-awake")
        self._awake_thread.submit(self.awake.prepare)  # not as the first batch starts
        self._awake_closed = False
        self._last_spec: OperationSpec | None = None  # what the latest batch ran
        self.clusters = WindowClusters()  # a Dask cluster, while batches run there

        registry = load_operations()
        workers = max(1, self.remembered.integer("workers", default_workers()))
        self.processor = BatchProcessor(workers)
        self.bridge = EngineBridge(self.processor, self)
        self.store: Store | None = None
        try:
            self.store = Store(data_dir)
        except StoreError as exc:
            log.error("the store cannot be used: %s", exc)
            self._store_problem = str(exc)
        else:
            self._store_problem = ""

        self.preview = PreviewPanel(self)
        self.control = ControlPanel(registry.operations, workers, self)
        self.presets = PresetBar(
            data_dir, registry.operations, self._spawn, self._preset_settings, self
        )
        self.control.set_preset_bar(self.presets)
        self.stats = StatisticsPanel(self.processor, self)
        self.tasks = TaskPanel(self)
        self.history = TaskHistory(self.processor)
        self.details = DetailsPane(self.history, self)
        self._build_layout()
        build_menus(self)
        self._connect()
        self._restore_settings()
        self.statusBar().showMessage(self._store_problem or "Drop files or folders to begin")
        for warning in registry.warnings:
            self.statusBar().showMessage(warning)
        self.tray = (
            QSystemTrayIcon(app_icon(), self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        )
        if self.tray is not None:
            self.tray.messageClicked.connect(self._notification_clicked)
            self.tray.show()
        # after a batch with failures: one click to them (hidden otherwise)
        self.show_failures_button = QPushButton("Show failures", self)
        self.show_failures_button.setObjectName("showFailuresButton")
        self.show_failures_button.setToolTip("List only the failed tasks and open the first")
        self.show_failures_button.clicked.connect(self.show_failures)
        self.show_failures_button.setFlat(True)
        self.statusBar().addPermanentWidget(self.show_failures_button)
        self.show_failures_button.hide()
        self._refresh_buttons()

    # --- construction -------------------------------------------------------------------
    def _build_layout(self) -> None:
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.preview)
        left.addWidget(self.tasks)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)
        right_split = QSplitter(Qt.Orientation.Vertical, self)
        right_split.addWidget(self.control)
        right_split.addWidget(self.stats)
        right_split.setStretchFactor(0, 0)
        self.right_split = right_split
        right_split.setStretchFactor(1, 1)
        # the Run panel and the statistics scroll when the window is too small for
        # them (1024x600, or a scale factor of 2 on a 1600x1000 screen)
        right = QScrollArea(self)
        right.setObjectName("rightColumn")
        right.setWidget(right_split)
        right.setWidgetResizable(True)
        right.setFrameShape(QFrame.Shape.NoFrame)
        right.setMinimumWidth(420)
        right.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to its fields, not to it
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.details_dock = QDockWidget("Details", self)
        self.details_dock.setObjectName("detailsDock")
        self.details_dock.setWidget(self.details)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.details_dock)
        self.details_dock.hide()  # opened by double-click, Enter or View > Details
        self.resize(1200, 780)

    def _connect(self) -> None:
        self.preview.paths_added.connect(self.add_paths)
        self.preview.filters_changed.connect(self.rescan)
        # what the outputs would meet depends on the operation and the output folder
        self.control.op_combo.currentIndexChanged.connect(self.rescan)
        self.control.output_edit.editingFinished.connect(self.rescan)
        self.control.on_exists_combo.currentIndexChanged.connect(self.rescan)
        self.preview.cleared.connect(self.clear_sources)
        c = self.control
        c.start_button.clicked.connect(self.start)
        c.pause_button.clicked.connect(self.pause)
        c.drain_button.clicked.connect(self.drain)
        c.resume_button.clicked.connect(self.resume)
        c.cancel_button.clicked.connect(self.cancel_all)
        c.retry_button.clicked.connect(self.retry_failed)
        c.open_output_button.clicked.connect(self.open_output_folder)
        c.workers_changed.connect(self.set_workers)
        c.run_on.test_requested.connect(
            lambda settings: self._spawn(self.clusters.test(settings, c.run_on))
        )
        self.tasks.retry_requested.connect(self._retry)
        self.tasks.cancel_requested.connect(self.processor.cancel)
        self.tasks.pause_after_requested.connect(self.pause_after)
        self.tasks.priority_requested.connect(self._reprioritise)
        self.tasks.details_requested.connect(self.show_details)
        self.tasks.current_changed.connect(self._current_task_changed)
        self.tasks.message.connect(self.statusBar().showMessage)
        self.details.message.connect(self.statusBar().showMessage)
        self.presets.message.connect(self.statusBar().showMessage)
        self.presets.applied.connect(self.apply_settings)
        self.control.keep_watching.toggled.connect(self._keep_watching_toggled)
        # once the new option fields are laid out (they are shown by a queued event)
        self.control.options_rebuilt.connect(lambda: QTimer.singleShot(0, self._fit_run_panel))
        self.bridge.tasks_changed.connect(self._refresh_details)
        self.bridge.tasks_changed.connect(self.tasks.model.tasks_changed)
        self.bridge.stats_changed.connect(self.stats.refresh)
        self.bridge.stats_changed.connect(self._refresh_buttons)
        self.bridge.batch_state_changed.connect(self._batch_state_changed)
        self.bridge.batch_finished.connect(self._batch_finished)

    # --- settings -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.remembered.restore(self)

    def _save_settings(self) -> None:
        self.remembered.save(self)

    # --- inputs and the preview -------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasText():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        local = [u.toLocalFile() for u in urls if u.isLocalFile() and u.toLocalFile()]
        if not local:
            self.statusBar().showMessage("Only files and folders can be dropped here")
            event.ignore()
            return
        if len(local) < len(urls):
            self.statusBar().showMessage(
                f"{plural(len(urls) - len(local), 'dropped item')} ignored: not local files"
            )
        event.acceptProposedAction()
        self.add_paths(local)

    def add_paths(self, paths: list[str]) -> None:
        fresh = [os.fspath(absolute(p)) for p in paths]
        self.sources.extend(p for p in fresh if p not in self.sources)
        self.rescan()

    def clear_sources(self) -> None:
        self.sources.clear()
        self.rescan()

    def rescan(self) -> None:
        if self._scan_task is not None:
            self._scan_task.cancel()
        self.preview.start_scan()
        if not self.sources:
            self.preview.update_counts(note="drop files or folders to begin")
            return
        self._scan_task = self._spawn(self._scan(list(self.sources)))

    async def _scan(self, sources: list[str]) -> None:
        try:
            filters = self.preview.filters()
        except ValueError as exc:
            self.preview.update_counts(note=str(exc))
            return
        self._hold_heap()
        await self._scan_and_show(sources, filters)

    async def _scan_and_show(self, sources: list[str], filters) -> None:
        entries = []
        self._scanned = None
        scanned_cleanly = True
        try:
            async for chunk in stream_scan(sources, filters, skip=[self._output_folder()]):
                entries.extend(chunk)
                self.preview.add_entries(chunk)
        except InputError as exc:
            scanned_cleanly = False
            self.statusBar().showMessage(str(exc))
        self.preview.update_counts(note="looking for duplicates…")

        spec, out, on_exists = (
            self.control.operation(),
            self._output_folder(),
            self.control.on_exists(),
        )
        try:
            options = spec.resolve_options(self.control.raw_options())
            spec = spec.for_options(options)
        except ValueError:
            options = None  # said when Start is pressed

        def find() -> tuple:
            nonlocal entries
            # what the operation cannot take is left out, as a run would
            entries = leave_out_unsupported(entries, spec)
            # a command's effects cannot be copied: every file gets it (no duplicates)
            found = find_duplicates(entries) if spec.incremental else Duplicates()
            left_out, refused = {}, ""
            if options is not None:
                try:
                    left_out = output_reasons(
                        entries, found.duplicate_of, spec, options, out, on_exists, self.store
                    )
                except (InputError, StoreError) as exc:
                    refused = str(exc)
            return found, left_out, refused, count_entries(entries, found.duplicate_of, left_out)

        duplicates, left_out, refused, counts = await asyncio.to_thread(find)
        if scanned_cleanly:  # Start uses it instead of walking and hashing again
            self._scanned = (self._scan_key(spec.name, options), entries, duplicates)
        first = next((e for e in entries if e.included and not e.is_dir), None)
        self.control.set_example_file(first.path if first else None, first.root if first else None)
        self.preview.model.replace_entries(entries)
        self.preview.model.mark_duplicates(duplicates.duplicate_of, counts)
        self.preview.model.mark_outputs(left_out, counts)
        note = "" if entries else "nothing found"
        if any(e.reason == "unreadable" for e in entries):
            note = "some folders could not be read"
        if refused:
            note = refused
            self.statusBar().showMessage(f"Cannot start: {refused}")
        self.preview.update_counts(note=note)

    def _output_folder(self) -> Path:
        chosen = self.control.output_folder()
        if chosen is not None:
            return absolute(chosen)
        # beside the first thing added, named after it; worked out from the name
        # alone (no stat on the GUI thread): photos/ -> photos-batchgui/
        first = Path(self.sources[0]) if self.sources else Path.home() / "batchgui"
        return absolute(first.parent / f"{first.name}-batchgui")

    # --- running ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.batch is not None and not self.batch.is_done:
            return
        self.watch.stop()  # a new batch: the old one's folders are watched no more
        if not self.sources:
            self.statusBar().showMessage("Add files or folders first")
            return
        self._spawn(self._start())

    async def _start(self) -> None:
        spec = self.control.operation()
        try:
            options = spec.resolve_options(self.control.raw_options())
            spec = spec.for_options(options)
            settings = self._run_settings(spec.name, options)
            settings.filters.build()  # a bad filter is said before anything is walked
        except ValueError as exc:
            self.statusBar().showMessage(str(exc))
            return
        scanned = None
        if self._scanned is not None and self._scanned[0] == self._scan_key(spec.name, options):
            scanned = self._scanned[1:]  # what the preview shows is what runs
        self.control.start_button.setEnabled(False)
        self.statusBar().showMessage("Preparing…")
        try:
            batch = await asyncio.to_thread(
                prepare_batch, settings, spec, self.store, scanned=scanned
            )
        except (ValueError, OSError, StoreError) as exc:  # InputError is a ValueError
            log.info("cannot start: %s", exc)
            self.statusBar().showMessage(f"Not started: {exc}")
            self._refresh_buttons()
            return
        if not batch.tasks:  # not saved: an empty batch would only crowd the history
            self.statusBar().showMessage(f"Not started: {nothing_to_process(batch)}")
            self._refresh_buttons()
            return
        await self._run(batch, spec, save=True)

    def _scan_key(self, operation: str, options: dict | None) -> tuple:
        """What a preview's result depends on: if it is unchanged, Start reuses it."""
        try:
            filters = self.preview.filter_settings()
        except ValueError:
            filters = None
        return (tuple(self.sources), filters, os.fspath(self._output_folder()), operation,
                json.dumps(options, sort_keys=True, default=str))  # fmt: skip

    def _preset_settings(self) -> RunSettings:
        """The controls as a preset (ValueError, one line, for a bad option or filter)."""
        spec = self.control.operation()
        settings = self._run_settings(spec.name, spec.resolve_options(self.control.raw_options()))
        settings.filters.build()
        return settings

    def apply_settings(self, settings: RunSettings) -> None:
        """Fill the Run panel and the filters with these settings (a preset; the
        files added stay)."""
        self.control.show_settings(settings)
        self.preview.show_filters(settings.filters)

    def _run_settings(self, operation: str, options: dict) -> RunSettings:
        """The controls as RunSettings (ValueError for a bad filter)."""
        return RunSettings(
            operation=operation,
            options=options,
            mode=self.control.mode(),
            workers=self.control.workers_spin.value(),
            filters=self.preview.filter_settings(),
            out=os.fspath(self._output_folder()),
            sources=tuple(self.sources),
            on_exists=self.control.on_exists(),
            cluster=self.control.run_on.cluster(),
        )

    def _hold_heap(self) -> None:
        """What the window shows (a preview, a batch: 100,000 tasks are millions of
        objects) lives until the window closes or something replaces it: kept
        frozen from the first scan or batch on (core/collector.py). Letting go
        after each made the next full collection walk it all: a 0.1-0.4 s stall
        of the window as a scan or a batch ended."""
        if not self._window_holds_heap:
            self._window_holds_heap = True
            heap.hold()

    async def _run(self, batch: Batch, spec, *, save: bool) -> None:
        self._hold_heap()  # before it is saved
        await self._start_session(batch, spec, save=save)

    async def _start_session(self, batch: Batch, spec, *, save: bool) -> None:
        self._last_spec = spec
        session = BatchSession(self.store, self.data_dir, batch, on_store_error=self._store_failed)
        try:
            await self.clusters.attach(self.processor, batch, spec)
            if batch.mode == "cluster":  # as many at once as the cluster has threads
                self.control.workers_spin.setValue(self.processor.max_workers)
            await session.start(self.processor, spec, save=save)
        except ClusterError as exc:  # cannot connect, or a worker cannot do this batch
            log.info("batch %s not started: %s", batch.id, exc)
            self.statusBar().showMessage(f"Not started: {exc}")
            self._refresh_buttons()
            return
        except StoreError as exc:  # unsaved work could not be resumed: not started
            log.info("batch %s not started: %s", batch.id, exc)
            await session.close()
            self.statusBar().showMessage(f"Not started: {exc}")
            self._refresh_buttons()
            return
        self.sessions.append(session)
        self.batch = batch
        if self.keep_awake_action.isChecked():
            self._awake(self.awake.hold)
        # the engine took the batch in this turn; the list (100,000 rows: the view
        # lays them out) in the next, so that neither holds the window for long
        await asyncio.sleep(0)
        self.tasks.model.set_tasks(batch.tasks)
        await asyncio.sleep(0)
        self.details.show_task(None, batch)
        self.show_failures_button.hide()
        self.stats.show_batch(batch)
        self.statusBar().showMessage(
            f"Running {plural(batch.total, 'task')} ({batch.op_name}, {batch.mode} mode)"
            f" → {batch.out_root}"
        )
        self._refresh_buttons()

    def pause(self) -> None:
        if self.batch is None:
            return
        if self._session_of(self.batch).pause():
            self.statusBar().showMessage(
                "Paused: running commands and worker processes are frozen "
                "(thread-mode tasks finish their file)"
            )
        else:
            self.statusBar().showMessage(
                "Paused: this system cannot freeze running work, so running tasks finish first"
            )

    def drain(self) -> None:
        if self.batch is not None:
            self._session_of(self.batch).drain()
            self._stop_point = "Paused: the running tasks have finished"
            self.statusBar().showMessage("Finishing the running tasks; nothing new starts")

    def _session_of(self, batch: Batch) -> BatchSession:
        """The session that started this batch (every batch here has one)."""
        return next(session for session in self.sessions if session.batch is batch)

    def pause_after(self, task) -> None:
        if self.batch is not None and not self.batch.is_done:
            self.processor.pause_after(task)
            self._stop_point = f"Paused after {task.name}"
            self.statusBar().showMessage(f"The batch will pause after {task.name}")

    def resume(self) -> None:
        if self.batch is not None:
            self._session_of(self.batch).resume()
            self.statusBar().showMessage("Resumed")

    def cancel_all(self) -> QMessageBox | None:
        """Cancel every unfinished task; asks first when more than a few would be."""
        batch = self.batch
        if batch is None or batch.is_done:
            return None
        if batch.unfinished <= CONFIRM_CANCEL_ABOVE:
            self.processor.cancel_batch(batch)
            return None
        return confirm_cancel_all(self, batch)

    def retry_failed(self) -> None:
        """Failed tasks only: cancelled ones were stopped on purpose (Retry cancelled)."""
        if self.batch is not None:
            self._retry([t for t in self.batch.tasks if t.status is TaskStatus.FAILED])

    def retry_cancelled(self) -> None:
        if self.batch is not None:
            self._retry([t for t in self.batch.tasks if t.status is TaskStatus.CANCELLED])

    def _retry(self, tasks: list) -> None:
        if tasks:
            self.processor.retry_tasks(tasks)
            self.stats.show_batch(self.batch)
            self._refresh_buttons()

    def show_details(self, task) -> None:
        self.details.show_task(task, self.batch)
        if not self.details_dock.isVisible():
            self.details_dock.show()
            # a strip under the lists, not half the window
            height = max(180, min(260, self.height() // 3))
            self.resizeDocks([self.details_dock], [height], Qt.Orientation.Vertical)
        self.details_dock.raise_()

    def _current_task_changed(self, task) -> None:
        if self.details_dock.isVisible():
            self.details.show_task(task, self.batch)

    def _refresh_details(self, tasks: list) -> None:
        shown = self.details.task
        if shown is not None and self.details_dock.isVisible() and any(t is shown for t in tasks):
            self.details.refresh()

    def _reprioritise(self, tasks: list, priority: Priority) -> None:
        for task in tasks:
            self.processor.set_priority(task, priority)

    def set_workers(self, workers: int) -> None:
        self.processor.max_workers = workers
        self.statusBar().showMessage(f"{workers} workers")

    def _batch_state_changed(self, batch) -> None:
        if batch is not None:  # paused or resumed: running rows change their state and clock
            self.tasks.model.tasks_changed(
                [t for t in batch.tasks if t.status is TaskStatus.RUNNING]
            )
        if batch is not None and batch.halted:
            self.statusBar().showMessage(f"Paused: {batch.halted}, then Resume.")
        elif batch is not None and batch.status is BatchStatus.PAUSED and self._stop_point:
            self.statusBar().showMessage(self._stop_point)  # what was promised, now done
            self._stop_point = ""
        elif batch is not None and batch.status is not BatchStatus.PAUSED:
            self._stop_point = ""
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        batch = self.batch
        running = batch is not None and not batch.is_done
        paused = batch is not None and batch.status is BatchStatus.PAUSED
        failed = batch is not None and bool(batch.counts[TaskStatus.FAILED])
        cancelled = batch is not None and bool(batch.counts[TaskStatus.CANCELLED])
        self.control.set_running(running, paused=paused, has_failed=failed and not running)
        self.start_action.setEnabled(not running)
        self.pause_action.setEnabled(running and not paused)
        self.drain_action.setEnabled(running and not paused)
        self.resume_action.setEnabled(running and paused)
        self.cancel_action.setEnabled(running)
        self.retry_action.setEnabled(failed and not running)
        self.retry_cancelled_action.setEnabled(cancelled and not running)
        self.control.open_output_button.setEnabled(batch is not None)
        self._show_progress_in_title()

    def _show_progress_in_title(self) -> None:
        """The window title says how far the batch is (seen in the taskbar and when
        switching windows): "42% · checksum — batchgui", "Paused 42% · …"."""
        batch = self.batch
        if batch is None or not batch.total:
            title = "batchgui"
        else:
            done = batch.total - batch.unfinished
            percent = f"{100 * done // batch.total}%"
            if batch.is_done and self.watch.active:
                state = "Watching"
            elif batch.is_done:
                state = "Done"
            elif batch.status is BatchStatus.PAUSED:
                state = f"Paused {percent}"
            else:
                state = percent
            title = f"{state} · {batch.op_name} — batchgui"
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    def _batch_finished(self, batch: Batch) -> None:
        if batch is not self.batch:
            return
        for session in self.sessions:
            if session.batch is batch:
                session.release()  # it may be resumed or reported elsewhere now
        self._awake(self.awake.release)  # it may sleep again
        c = batch.counts
        text = (
            f"{batch.op_name}: {c[TaskStatus.COMPLETED]} completed, "
            f"{c[TaskStatus.FAILED]} failed, {c[TaskStatus.SKIPPED]} skipped, "
            f"{c[TaskStatus.CANCELLED]} cancelled"
        )
        self.statusBar().showMessage(text)
        failed = c[TaskStatus.FAILED]
        self.show_failures_button.setText(f"Show {plural(failed, 'failure')}")
        self.show_failures_button.setVisible(bool(failed))
        if self.tray is not None:
            # clicking the notification does the likely next thing (_notification_clicked)
            hint = "Click to see the failures." if failed else "Click to open the output folder."
            self.tray.showMessage("batchgui: batch finished", f"{text}\n{hint}", app_icon(), 8000)
        self.stats.refresh()
        if batch.status is BatchStatus.CANCELLED and self.watch.active:
            self.watch.stop()  # Cancel all ends the watch too
            self.statusBar().showMessage(f"{text}; stopped watching")
        self._refresh_buttons()
        self._maybe_keep_watching(batch)
        self.stats.set_watching(self.watch.active)
        if self.quit_when_done_action.isChecked() and not self.watch.active:
            self.statusBar().showMessage(f"{text}; closing as asked")
            self.close_with(StopMode.SAVE)  # nothing runs: a plain close

    def _maybe_keep_watching(self, batch: Batch) -> None:
        """Watch the batch's folders from now on, if asked (gui/window_watch.py)."""
        wanted = self.control.keep_watching.isChecked() and not self._closing
        if not wanted or self.watch.active or self._last_spec is None:
            return
        if batch.status is BatchStatus.CANCELLED:
            return  # cancelled on purpose: no more (and see _batch_finished)
        self.watch.start(self._last_spec, batch)
        self._refresh_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_run_panel)  # once laid out

    def _fit_run_panel(self) -> None:
        """The Run panel as tall as its fields (another operation has other options);
        the statistics take the rest. Without this the splitter kept the height of the
        first operation shown, and a shorter one left a gap above the buttons."""
        sizes = self.right_split.sizes()
        if sum(sizes) > 0:
            wanted = self.control.sizeHint().height()
            self.right_split.setSizes([wanted, max(0, sum(sizes) - wanted)])

    def _keep_watching_toggled(self, on: bool) -> None:
        if not on and self.watch.active:
            self.watch.stop()
            self.stats.set_watching(False)
            self.statusBar().showMessage("Stopped watching")
            self._refresh_buttons()
        elif on and self.batch is not None and self.batch.is_done:
            self._maybe_keep_watching(self.batch)

    async def run_round(self, settings: RunSettings, spec: OperationSpec, ready: list) -> None:
        """One more batch over files the watch found settled."""
        store = self.store

        def prepare() -> Batch:
            duplicates = find_duplicates(ready) if spec.incremental else Duplicates()
            return prepare_batch(settings, spec, store, scanned=(ready, duplicates))

        try:
            batch = await asyncio.to_thread(prepare)
        except (ValueError, OSError, StoreError) as exc:
            log.info("watch round not started: %s", exc)
            self.statusBar().showMessage(f"Not started: {exc}")
            return
        await self._run(batch, spec, save=True)

    def _notification_clicked(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if self.batch is not None and self.batch.counts[TaskStatus.FAILED]:
            self.show_failures()
        else:
            self.open_output_folder()

    def show_failures(self) -> None:
        """The task list shows only the failed tasks; the first one's details open."""
        self.tasks.filter_combo.setCurrentText("Failed")
        if self.tasks.model.rowCount():
            first = self.tasks.model.task_at(0)
            self.tasks.table.selectRow(0)
            self.show_details(first)

    def set_theme(self, name: str) -> None:
        """Light, dark or the system's look; remembered for the next start."""
        applied = apply_theme(name)
        self.theme_actions[applied].setChecked(True)
        self.remembered.theme = applied
        self.stats.chart.update()

    def open_output_folder(self) -> None:
        folder = self.batch.out_root if self.batch is not None else self._output_folder()
        problem = open_path(folder)
        self.statusBar().showMessage(problem or f"Opened {folder}")

    def _store_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Progress is not being saved: {message}")

    # --- reports, resuming, about ---------------------------------------------------------
    def export_report(self) -> None:
        if self.batch is None:
            self.statusBar().showMessage("No batch to report on yet")
            return
        dialog = QFileDialog(self, "Export report", str(Path.home() / f"{self.batch.id}.json"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("JSON report (*.json)")
        dialog.fileSelected.connect(lambda path: self._spawn(self.write_report(Path(path))))
        dialog.open()

    async def write_report(self, path: Path) -> None:
        assert self.batch is not None
        text = json.dumps(build_report(self.batch, self.processor.max_workers), indent=2)

        def write() -> None:
            with atomic_write(path) as handle:
                handle.write(text.encode())

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            self.statusBar().showMessage(f"Cannot write {path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Report written to {path}")

    # --- stored batches (gui/stored_batches.py) -----------------------------------------
    def start_up(self) -> asyncio.Task:
        return self.stored.start_up()

    def offer_resume(self) -> asyncio.Task:
        return self.stored.offer_resume()

    async def resume_batch(self, batch_id: str, *, failed_again: bool = False) -> None:
        await self.stored.resume_batch(batch_id, failed_again=failed_again)

    async def save_progress(self) -> None:
        """Every running or just-ended batch's state in the store now (not at the
        journal's next flush)."""
        for session in self.sessions:
            await session.flush()

    def show_history(self) -> HistoryWindow | None:
        return self.stored.show_history()

    def about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About batchgui",
            f"batchgui {__version__}\n\nRun one operation over many files.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("aboutBox")
        box.open()

    # --- closing ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            if self._shut_down_done:
                event.accept()
                return
            event.ignore()
            if self._stop_draining is not None:  # closed again while draining: stop now
                self._stop_draining.set()
                self.statusBar().showMessage("Stopping now; the batch is saved")
            return
        event.ignore()  # finish asynchronously, then close for real
        if self.batch is not None and not self.batch.is_done:
            self.ask_how_to_close()
            return
        self.close_with(StopMode.SAVE)

    def ask_how_to_close(self) -> QMessageBox:
        """Running work: finish it, stop and save it for later, or stop and cancel it."""
        return ask_how_to_close(self)

    def close_with(self, choice: StopMode | str | None) -> None:
        """Shut down as chosen: save, drain or kill (None: stay open)."""
        if choice is None or self._closing:
            return
        self._closing = True
        self._save_settings()
        self._spawn(self._shut_down(StopMode(choice)))

    async def _shut_down(self, choice: StopMode = StopMode.SAVE) -> None:
        """Stop or finish the running work as chosen, save, and close. No child
        process outlives the window: whatever still runs at the end is killed."""
        # a watch goes on at the next start (offered then), a stopped one does not
        self.remembered.watching = self.watch.origin if self.watch.active else ""
        self.watch.stop()
        batch = self.batch
        if batch is not None and not batch.is_done:
            if choice is StopMode.DRAIN:
                self._stop_draining = asyncio.Event()  # set by a second close
                self.statusBar().showMessage("Finishing the running tasks, then closing…")
            await self._session_of(batch).stop(choice, give_up=self._stop_draining)
            self._stop_draining = None
        else:
            await self.processor.interrupt()
        for session in self.sessions:  # the last results, each journal's last flush
            await session.close()

        await self.processor.aclose(kill=True)
        await self.clusters.close()
        if self._window_holds_heap:
            self._window_holds_heap = False
            heap.release()
        self.bridge.stop()  # no more engine events from here on
        await self._awake(self.awake.release)
        self._awake_closed = True
        self._awake_thread.shutdown(wait=False)
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
        if self.tray is not None:
            self.tray.hide()
        self._shut_down_done = True
        QTimer.singleShot(0, self.close)

    def _awake(self, call) -> asyncio.Future:
        """Keep-awake calls (D-Bus: blocking) on their own thread, in order."""
        loop = asyncio.get_running_loop()
        if self._awake_closed:  # shut down: nothing is held any more
            done = loop.create_future()
            done.set_result(None)
            return done
        future = loop.run_in_executor(self._awake_thread, call)
        self._background.add(future)
        future.add_done_callback(self._finished_background)
        return future

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._finished_background)
        return task

    def _finished_background(self, task: asyncio.Future) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("background work failed", exc_info=exc)
            self.statusBar().showMessage(f"Error: {exc}")


def create_main_window(data_dir: Path | str) -> MainWindow:
    """The main window on the running QApplication and qasync loop, not yet shown."""
    return MainWindow(Path(data_dir))


__all__ = ["MainWindow", "QWidget", "create_main_window"]
