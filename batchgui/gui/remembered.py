"""What the window remembers between sessions, in one INI file.

    window opens ─► restore(window): size and place (clamped to the screen it
        opens on), splitters and docks, operation, every operation's options,
        mode, output folder, on-exists choice, filters, theme
    window closes ─► save(window): the same, written back
    resume offer answered "No" ─► decline(batch id): not offered again
    History's "forget after N days" ─► forget_after_days

The file is `batchgui.ini` in the config folder (batchgui/paths.py); values
that do not parse (an older or hand-edited file) fall back to defaults.
Options and filters are stored as JSON text, so their types survive.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication

from batchgui.core.outputs import DEFAULT_ON_EXISTS
from batchgui.paths import config_dir

if TYPE_CHECKING:
    from batchgui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

SMALLEST = (640, 420)  # a restored window is never smaller than this


class Remembered:
    def __init__(self, data_dir: Path) -> None:
        self.qsettings = QSettings(
            str(config_dir(data_dir) / "batchgui.ini"), QSettings.Format.IniFormat
        )

    def value(self, key: str, default: Any = None) -> Any:
        return self.qsettings.value(key, default)

    def json(self, key: str) -> dict[str, Any]:
        text = self.qsettings.value(key, "")
        if not text:
            return {}
        try:
            value = json.loads(str(text))
        except ValueError:
            log.warning("ignoring the remembered %s: not JSON", key)
            return {}
        return value if isinstance(value, dict) else {}

    def integer(self, key: str, default: int) -> int:
        try:
            return int(str(self.qsettings.value(key, default)))
        except ValueError:
            return default

    # --- resume offers -------------------------------------------------------------------
    def declined(self) -> set[str]:
        return set(self.json("resume").get("declined", []))

    def decline(self, batch_id: str) -> None:
        declined = sorted(self.declined() | {batch_id})[-200:]
        self.qsettings.setValue("resume", json.dumps({"declined": declined}))
        self.qsettings.sync()

    @property
    def forget_after_days(self) -> int:
        return max(0, self.integer("forget_after_days", 0))

    @forget_after_days.setter
    def forget_after_days(self, days: int) -> None:
        self.qsettings.setValue("forget_after_days", int(days))

    @property
    def watching(self) -> str:
        """The batch whose folders the window was watching when it closed ("": none)."""
        return str(self.value("watching", "") or "")

    @watching.setter
    def watching(self, batch_id: str) -> None:
        self.qsettings.setValue("watching", batch_id)

    @property
    def theme(self) -> str:
        return str(self.value("theme", "system"))

    @theme.setter
    def theme(self, name: str) -> None:
        self.qsettings.setValue("theme", name)

    # --- the window ----------------------------------------------------------------------
    def restore(self, window: MainWindow) -> None:
        geometry = self.value("geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        clamp_to_screen(window)
        docks = self.value("docks")
        if isinstance(docks, QByteArray):
            window.restoreState(docks)
        state = self.value("splitter")
        if isinstance(state, QByteArray):
            window.splitter.restoreState(state)
        control = window.control
        control.remember_options(self.json("options"))
        control.select_operation(str(self.value("operation", "checksum")))
        index = control.mode_combo.findText(str(self.value("mode", "auto")))
        control.mode_combo.setCurrentIndex(max(0, index))
        control.output_edit.setText(str(self.value("output", "")))
        control.select_on_exists(str(self.value("on_exists", DEFAULT_ON_EXISTS)))
        control.run_on.address.setText(str(self.value("cluster_address", "")))
        control.run_on.where.setCurrentIndex(1 if self.value("run_on") == "cluster" else 0)
        window.preview.set_filter_texts(self.json("filters"))
        window.keep_awake_action.setChecked(str(self.value("keep_awake", "true")) == "true")
        if self.theme != "system":
            window.set_theme(self.theme)
        else:
            window.theme_actions["system"].setChecked(True)

    def save(self, window: MainWindow) -> None:
        s = self.qsettings
        s.setValue("geometry", window.saveGeometry())
        s.setValue("splitter", window.splitter.saveState())
        s.setValue("docks", window.saveState())
        control = window.control
        s.setValue("operation", control.op_combo.currentData())
        s.setValue("options", json.dumps(control.remembered_options(), default=str))
        s.setValue("mode", control.mode())
        s.setValue("workers", control.workers_spin.value())
        s.setValue("output", control.output_edit.text())
        s.setValue("on_exists", control.on_exists())
        s.setValue("run_on", "cluster" if control.run_on.on_cluster() else "here")
        s.setValue("cluster_address", control.run_on.address.text())
        s.setValue("filters", json.dumps(window.preview.filter_texts()))
        s.setValue("keep_awake", "true" if window.keep_awake_action.isChecked() else "false")
        s.sync()


def clamp_to_screen(window: Any) -> None:
    """Keep the window on the screen it opens on and no larger than it (a size
    saved on a bigger screen, or at another scale, would run off this one)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    room: QRect = screen.availableGeometry()
    width = max(min(window.width(), room.width()), min(SMALLEST[0], room.width()))
    height = max(min(window.height(), room.height()), min(SMALLEST[1], room.height()))
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(window.x(), room.left()), room.right() - width + 1)
    y = min(max(window.y(), room.top()), room.bottom() - height + 1)
    if (x, y) != (window.x(), window.y()):
        window.move(x, y)
