"""The window's menus: File, Batch, View (task details, theme) and Help.

build_menus(window) ─► actions whose slots are the window's methods; the
    ones the window enables and disables (start_action, pause_action, …)
    and the theme actions are kept as the window's attributes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from batchgui.gui.theme import THEMES

if TYPE_CHECKING:
    from batchgui.gui.main_window import MainWindow


def _action(window: MainWindow, menu, text: str, slot, shortcut=None, name: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    if name:
        action.setObjectName(name)
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """File, Batch, View and Help; the actions the window enables are kept on it."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(
        window, file_menu, "Add &files…", window.preview.choose_files, QKeySequence.StandardKey.Open
    )
    _action(window, file_menu, "Add f&older…", window.preview.choose_folder, "Ctrl+Shift+O")
    _action(window, file_menu, "&Export report…", window.export_report, "Ctrl+E")
    _action(window, file_menu, "&History…", window.show_history, "Ctrl+H", name="historyAction")
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    batch_menu = bar.addMenu("&Batch")
    window.start_action = _action(window, batch_menu, "&Start", window.start, "F5")
    window.pause_action = _action(window, batch_menu, "&Pause", window.pause, "F6")
    window.drain_action = _action(
        window, batch_menu, "&Finish running tasks, then pause", window.drain, "Shift+F6"
    )
    window.resume_action = _action(window, batch_menu, "&Resume", window.resume, "F7")
    window.cancel_action = _action(window, batch_menu, "&Cancel all", window.cancel_all, "Ctrl+.")
    window.retry_action = _action(
        window, batch_menu, "Retry &failed", window.retry_failed, "Ctrl+Shift+R"
    )
    window.retry_cancelled_action = _action(
        window, batch_menu, "Retry ca&ncelled", window.retry_cancelled, name="retryCancelledAction"
    )
    batch_menu.addSeparator()
    window.quit_when_done_action = QAction("&Quit when done", window, checkable=True)
    window.quit_when_done_action.setObjectName("quitWhenDoneAction")
    window.quit_when_done_action.setToolTip("Close batchgui once the running batch has ended")
    batch_menu.addAction(window.quit_when_done_action)
    window.keep_awake_action = QAction(
        "&Keep the computer awake while working", window, checkable=True
    )
    window.keep_awake_action.setObjectName("keepAwakeAction")
    window.keep_awake_action.setChecked(True)
    batch_menu.addAction(window.keep_awake_action)
    view_menu = bar.addMenu("&View")
    details = window.details_dock.toggleViewAction()
    details.setText("Task &details")
    details.setShortcut(QKeySequence("Ctrl+I"))
    details.setObjectName("detailsAction")
    view_menu.addAction(details)
    theme_menu = view_menu.addMenu("&Theme")
    themes = QActionGroup(window)
    window.theme_actions = {}
    for name in THEMES:
        action = QAction(name.capitalize(), window, checkable=True)
        action.setObjectName(f"theme_{name}")
        action.triggered.connect(lambda _checked=False, name=name: window.set_theme(name))
        themes.addAction(action)
        theme_menu.addAction(action)
        window.theme_actions[name] = action
    help_menu = bar.addMenu("&Help")
    _action(window, help_menu, "&About batchgui", window.about)
