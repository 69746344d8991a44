"""Watching folders: the files that arrived or changed, once they have settled.

    every look at the folders (a rescan each interval, sooner when the system
    reports a change: watchdog) ─► the included files with their size and
    modification time ─► Settler.settled(entries, now)
        a file is new or changed when (size, mtime) differs from what was last
        handed on; it is handed on once that pair has stayed the same for
        `settle_s` (a file still being copied keeps changing, so it waits)
    ─► the front end runs a round (a batch) over the settled files; the
       incremental cache skips one whose content is unchanged (touched, not
       edited), so only real changes are redone

Nothing here runs anything: it only decides which files are ready.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from batchgui.core.models import Task
from batchgui.scan.walk import Entry

log = logging.getLogger(__name__)

State = tuple[int, int]  # (size, mtime_ns)


class Settler:
    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._changing: dict[str, tuple[State, float]] = {}  # path -> (state, since)
        self._handed: dict[str, State] = {}

    def settled(self, entries: Iterable[Entry], now: float) -> list[Entry]:
        """The files ready to process now (each at most once per state)."""
        ready = []
        present = set()
        for entry in entries:
            if entry.is_dir or not entry.included:
                continue
            key, state = str(entry.path), (entry.size, entry.mtime_ns)
            present.add(key)
            if self._handed.get(key) == state:
                continue
            seen = self._changing.get(key)
            if seen is None or seen[0] != state:
                self._changing[key] = (state, now)  # new, or still changing
                continue
            if now - seen[1] >= self.settle_s:
                ready.append(entry)
                self._handed[key] = state
                del self._changing[key]
        for gone in set(self._changing) - present:
            del self._changing[gone]
        return ready

    def mark_done(self, tasks: Iterable[Task]) -> None:
        """A batch's files, in the state it scanned them: already dealt with."""
        for task in tasks:
            if task.fingerprint is not None:  # (size, mtime_ns, dev, inode)
                self._handed[str(task.path)] = (task.fingerprint[0], task.fingerprint[1])

    @property
    def waiting(self) -> int:
        """Files seen but not settled yet."""
        return len(self._changing)


class ChangeAlarm:
    """Sets `changed` when the system reports a change under the folders
    (watchdog's observer: inotify, FSEvents, ReadDirectoryChangesW). Where that
    cannot work (too many watches, a network share) nothing is set and the
    periodic rescan still finds everything."""

    def __init__(self, folders: list[Path]) -> None:
        self.changed = threading.Event()
        self._observer: Any = None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            alarm = self.changed

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event: Any) -> None:
                    alarm.set()

            observer = Observer()
            for folder in folders:
                observer.schedule(_Handler(), os.fspath(folder), recursive=True)
            observer.daemon = True
            observer.start()
            self._observer = observer
        except Exception:  # the rescan carries on without events
            log.warning("no change events for %s; looking every interval", folders, exc_info=True)

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
