"""The window's "Keep watching": after a batch, new and changed files in its
folders run as further batches.

    Start with "Keep watching" ticked ─► the batch runs ─► it ends ─►
    WindowWatch.start(settings, spec, handed=the batch's files)
        every second (sooner on a change event): scan the folders on a thread
        ─► session/watch.Settler: files new or changed and settled
        ─► window.run_round(files): one more batch, in the task list like any
           other (duplicates and unchanged content skipped, as a run does)
    untick, Start another batch, Cancel all or close ─► stop()

The window shows "Watching …" in the status bar and the title while idle.
No file work on the GUI thread: every scan is awaited on a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from batchgui.core.models import Batch
from batchgui.core.operation import OperationSpec
from batchgui.scan.walk import InputError, absolute, scan
from batchgui.session import RunSettings
from batchgui.session.units import plural
from batchgui.session.watch import ChangeAlarm, Settler

if TYPE_CHECKING:
    from batchgui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

LOOK_EVERY_S = 1.0
SETTLE_S = 2.0


class WindowWatch:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.task: asyncio.Task | None = None
        self.alarm: ChangeAlarm | None = None
        self.settle_s = SETTLE_S
        self.origin = ""  # the batch whose folders are watched (kept across restarts)

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, spec: OperationSpec, batch: Batch) -> None:
        """Watch the folders of `batch` (whose files are done) for more."""
        self.stop()
        self.origin = batch.id
        settings = RunSettings.of_batch(batch)
        folders = [absolute(s) for s in settings.sources]
        settler = Settler(self.settle_s)
        settler.mark_done(batch.tasks)  # what the batch did is not new
        self.alarm = ChangeAlarm(folders)
        self.task = self.window._spawn(self._watch(settings, spec, settler))
        self.window.statusBar().showMessage(
            f"Watching {plural(len(folders), 'folder')} for new files…"
        )

    def stop(self) -> None:
        self.origin = ""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None
        if self.alarm is not None:
            self.alarm.close()
            self.alarm = None

    async def _watch(self, settings: RunSettings, spec: OperationSpec, settler: Settler) -> None:
        out = absolute(settings.out)
        filters = settings.filters.build()
        while True:
            window = self.window
            busy = window.batch is not None and not window.batch.is_done
            if not busy:
                try:
                    entries = await asyncio.to_thread(
                        lambda: list(scan(settings.sources, filters, skip=[out]))
                    )
                except InputError as exc:  # a watched folder went away
                    window.statusBar().showMessage(f"Stopped watching: {exc}")
                    return
                ready = settler.settled(entries, time.monotonic())
                if ready:
                    await window.run_round(settings, spec, ready)
                    continue
            alarm = self.alarm
            if alarm is not None and alarm.changed.is_set():
                alarm.changed.clear()
                await asyncio.sleep(0.2)
            else:
                await asyncio.sleep(self.settle_s / 2 if settler.waiting else LOOK_EVERY_S)
