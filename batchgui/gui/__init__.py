"""Everything Qt: the window, its panels, and the bridge from the engine.

This is the only package that imports PySide6 or qasync.
"""

import os

os.environ.setdefault("QT_API", "pyside6")  # before qasync is imported anywhere

from batchgui.gui.main_window import MainWindow, create_main_window

__all__ = ["MainWindow", "create_main_window"]
