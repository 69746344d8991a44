"""Stored batches in the window: start-up clean-up, the resume offer, resuming,
re-running failed tasks, and the History window.

    window shown ─► start_up: finished batches past the kept age forgotten
        (a thread), then offer_resume: the latest unfinished batch not declined
        ─► gui/resume_offer.py's question ─► Yes: resume_batch; No: remembered
    History ─► gui/history_window.py ─► Re-run failed ─► resume_batch(failed_again)
    resume_batch ─► lock + Store.reopen (+ Batch.requeue) on a thread ─► the
        Run panel shows the batch's own settings ─► the window's _run

Store reads and writes run on worker threads; the window runs the batch.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QMessageBox

from batchgui.core import Batch
from batchgui.gui.history_window import UNFINISHED, HistoryWindow, describe_sources, prune_old
from batchgui.gui.resume_offer import resume_question
from batchgui.operations.registry import load_operations
from batchgui.session import RunSettings
from batchgui.session.batch_session import ready_to_run_again
from batchgui.store import BatchLock, StoreError

if TYPE_CHECKING:
    from batchgui.gui.main_window import MainWindow

log = logging.getLogger(__name__)


class StoredBatches:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.history_window: HistoryWindow | None = None

    def start_up(self) -> asyncio.Task:
        """After the window shows: forget batches past the kept age, then offer to
        resume the latest unfinished one."""

        async def go() -> None:
            await self.window.presets.refresh()
            days = self.window.remembered.forget_after_days
            if days and self.window.store is not None:
                await prune_old(self.window.store, self.window.data_dir, days)
            if await self._offer_resume() is None:
                await self.offer_watch()

        return self.window._spawn(go())

    async def offer_watch(self) -> QMessageBox | None:
        """The window was watching folders when it closed: offer to go on (files
        that came meanwhile are caught up on)."""
        window = self.window
        batch_id = window.remembered.watching
        if not batch_id or window.store is None:
            return None
        store = window.store
        try:
            batch = await asyncio.to_thread(store.load_batch, batch_id, recover=False)
            spec = load_operations().get(batch.op_name).for_options(batch.options)
        except (StoreError, KeyError, ValueError) as exc:
            log.info("the watch of batch %s cannot go on: %s", batch_id, exc)
            window.remembered.watching = ""
            return None
        settings = RunSettings.of_batch(batch)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Keep watching?",
            f"batchgui was watching {describe_sources(list(settings.sources))} for new files "
            f"({batch.op_name}). Go on watching, and process what arrived meanwhile?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            window,
        )
        box.setObjectName("watchOffer")

        def answered(result: int) -> None:
            if result != QMessageBox.StandardButton.Yes:
                window.remembered.watching = ""
                return
            window.sources = list(settings.sources)
            window.control.show_settings(settings)
            with QSignalBlocker(window.control.keep_watching):
                window.control.keep_watching.setChecked(True)
            window._last_spec = spec
            window.watch.start(spec, batch)

        box.finished.connect(answered)
        box.open()
        return box

    def offer_resume(self) -> asyncio.Task:
        """Ask (without blocking) whether to resume the latest unfinished batch that
        the user has not declined; the task's result is the question, or None."""
        return self.window._spawn(self._offer_resume())

    async def _offer_resume(self) -> QMessageBox | None:
        if self.window.store is None:
            return None
        try:
            entries = await asyncio.to_thread(self.window.store.history)
        except StoreError as exc:
            self.window.statusBar().showMessage(str(exc))
            return None
        declined = self.window.remembered.declined()
        waiting = [
            e for e in entries if e["status"] in UNFINISHED and e["batch_id"] not in declined
        ]
        if not waiting or self.window._closing:
            return None
        entry = waiting[0]
        box = resume_question(entry, self.window)
        batch_id = entry["batch_id"]

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self.window._spawn(self.resume_batch(batch_id))
            else:
                self.window.remembered.decline(batch_id)
                self.window.statusBar().showMessage(
                    "Not resumed; the batch stays in File > History"
                )

        box.finished.connect(answered)
        box.open()
        return box

    async def _reopen(self, batch_id: str, *, failed_again: bool = False) -> tuple | None:
        """A stored batch ready to run in this window (lock held while loading), and
        its operation; None (said in the status bar) if it cannot run."""
        assert self.window.store is not None
        store, data = self.window.store, self.window.data_dir
        for session in self.window.sessions:  # this window's own, ended: let it go now
            if session.batch.id == batch_id and session.batch.is_done:
                session.release()

        def reopen() -> Batch:
            with BatchLock(data, batch_id):  # not while another batchgui runs it
                batch = store.reopen(batch_id)
            if failed_again:
                batch.requeue()
            return batch

        try:
            batch = await asyncio.to_thread(reopen)
            spec = load_operations().get(batch.op_name).for_options(batch.options)
            await asyncio.to_thread(ready_to_run_again, batch, spec, self.window.store)
        except (StoreError, KeyError, ValueError) as exc:  # InputError is a ValueError
            log.info("cannot run batch %s again: %s", batch_id, exc)
            self.window.statusBar().showMessage(f"Cannot resume: {exc}")
            return None
        return batch, spec

    async def resume_batch(self, batch_id: str, *, failed_again: bool = False) -> None:
        """Run a stored batch in this window: its unfinished tasks, and with
        `failed_again` its failed ones too. The Run panel shows its own settings."""
        if self.window.batch is not None and not self.window.batch.is_done:
            self.window.statusBar().showMessage(
                "A batch is running; resume the other one when it ends"
            )
            return
        reopened = await self._reopen(batch_id, failed_again=failed_again)
        if reopened is None:
            return
        batch, spec = reopened
        if batch.is_done:
            self.window.statusBar().showMessage(f"Batch {batch_id} has nothing left to run")
            return
        settings = RunSettings.of_batch(batch)
        self.window.sources = []  # the panel changes below rescan nothing
        self.window.control.show_settings(settings)
        self.window.preview.show_filters(settings.filters)
        self.window.sources = list(settings.sources)
        self.window.preview.update_counts(note=f"resumed: {describe_sources(self.window.sources)}")
        await self.window._run(batch, spec, save=False)

    def show_history(self) -> HistoryWindow | None:
        if self.window.store is None:
            self.window.statusBar().showMessage(
                self.window._store_problem or "No history without the store"
            )
            return None
        if self.history_window is None:
            self.history_window = HistoryWindow(
                self.window.store,
                self.window.data_dir,
                self.window.remembered,
                self.window._spawn,
                self.window,
                saved=self.window.save_progress,
            )
            self.history_window.message.connect(self.window.statusBar().showMessage)
            self.history_window.rerun_requested.connect(
                lambda batch_id: self.window._spawn(self.resume_batch(batch_id, failed_again=True))
            )
        self.history_window.show()
        self.history_window.raise_()
        self.window._spawn(self.history_window.refresh())
        return self.history_window
