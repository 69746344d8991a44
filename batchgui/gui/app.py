"""Starting the desktop application: QApplication, the qasync loop, the window.

run_gui(paths) ─► QApplication ─► EventLoop (qasync: asyncio on Qt's loop; gui/event_loop.py)
    ─► MainWindow shown, paths added, unfinished batch offered
    ─► runs until the last window closes ─► exit code 0

On macOS, files dropped on the Dock icon (or opened with batchgui from the
Finder) arrive as QFileOpenEvents to the application: OpenFilesFilter adds
them to the window.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")  # before qasync is imported: it prefers PyQt6

from PySide6.QtCore import QEvent, QObject


def run_gui(paths: list[str], data_dir: Path, *, smoke_test: bool = False) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from batchgui.gui.event_loop import EventLoop
    from batchgui.gui.icons import app_icon
    from batchgui.gui.main_window import create_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("batchgui")
    app.setOrganizationName("batchgui")
    app.setWindowIcon(app_icon())
    loop = EventLoop(app)
    asyncio.set_event_loop(loop)
    quit_now = asyncio.Event()
    app.lastWindowClosed.connect(quit_now.set)
    window = create_main_window(data_dir)
    opener = OpenFilesFilter(window)
    app.installEventFilter(opener)
    window.show()
    if paths:
        window.add_paths(paths)
    window.start_up()
    if smoke_test:  # packaging checks: say when the window is up, then close it
        QTimer.singleShot(0, lambda: print("batchgui: window shown", flush=True))
        QTimer.singleShot(500, window.close)
    with loop:
        loop.run_until_complete(quit_now.wait())
    return 0


class OpenFilesFilter(QObject):
    """Files the system asks batchgui to open (the macOS Dock, the Finder's Open
    With) join the window's list, as a drop does."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file()
            if path:
                self._window.add_paths([path])
            return True
        return False
