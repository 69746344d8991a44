"""The window fits small screens, works from the keyboard, names its fields for
screen readers, stays readable in light and dark, and explains every control."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
)

from batchgui.gui.colours import contrast
from tests.conftest import make_files
from tests.gui.conftest import close, until
from tests.gui.test_window import scanned

ROOT = Path(__file__).resolve().parents[2]
INPUTS = (QLineEdit, QComboBox, QAbstractSpinBox, QCheckBox, QAbstractItemView, QPlainTextEdit)


def _shown(window, kinds) -> list:
    found = {id(w): w for kind in kinds for w in window.findChildren(kind)}
    return [w for w in found.values() if w.isVisibleTo(window)]


def test_the_window_fits_1024x600(make_window, run, tmp_path):
    async def scenario():
        window = make_window()
        window.show()
        for operation in ("checksum", "exec", "image", "text"):
            window.control.select_operation(operation)
            hint = window.minimumSizeHint()
            assert hint.width() <= 1024 and hint.height() <= 600, (operation, hint)
            # and at a scale factor of 2 on a 1600x1000 screen: 800x500 logical pixels
            assert hint.width() <= 800 and hint.height() <= 500, (operation, hint)
        await close(window)
        roomy = make_window(tmp_path / "roomy")
        roomy.resize(1280, 1000)  # room to spare: the statistics should get it
        roomy.show()
        panel = roomy.control
        for operation in ("", "chain", "checksum", "image"):  # as opened; tall, short, middle
            if operation:
                panel.select_operation(operation)
                await until(lambda: all(w.isVisible() for w in panel._option_widgets.values()))

            def fitted() -> bool:
                panel.layout().activate()  # the hint of the fields shown now
                return panel.height() == panel.sizeHint().height()

            # the Run panel as tall as its fields: no gap above the buttons
            await until(fitted)
        await close(roomy)

    run(scenario)


def test_a_saved_size_larger_than_the_screen_is_clamped_at_scale_2(tmp_path):
    """A real start with QT_SCALE_FACTOR=2: the size saved on a big screen comes
    back inside the screen the window opens on."""
    script = f"""
import asyncio, sys
from PySide6.QtWidgets import QApplication
from batchgui.gui.event_loop import EventLoop
app = QApplication([])
asyncio.set_event_loop(EventLoop(app))
from batchgui.gui import create_main_window
first = create_main_window({str(tmp_path / "data")!r})
first.resize(3000, 2000)
first.remembered.save(first)
second = create_main_window({str(tmp_path / "data")!r})
second.show()
room = second.screen().availableGeometry()
print(room.width(), room.height(), second.width(), second.height(), second.x(), second.y())
"""
    screens = tmp_path / "screens.json"  # the offscreen platform's screen: 1600x1000
    screens.write_text(
        '{"screens": [{"name": "S", "x": 0, "y": 0, "width": 1600, "height": 1000,'
        ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}'
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={screens}",
        "QT_SCALE_FACTOR": "2",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    room_w, room_h, width, height, x, y = map(int, done.stdout.split())
    assert (room_w, room_h) == (800, 500)  # 1600x1000 at scale 2
    assert width <= room_w and height <= room_h
    assert x >= 0 and y >= 0 and x + width <= room_w and y + height <= room_h


def test_tab_visits_everything_in_order_and_never_sticks_in_a_table(make_window, run, qtbot):
    async def scenario():
        window = make_window()
        window.show()
        window.activateWindow()
        start = window.preview.findChild(QAbstractButton, "addFilesButton")
        start.setFocus()
        await until(lambda: QApplication.focusWidget() is start)
        visited = [start]
        for _ in range(80):
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            current = QApplication.focusWidget()
            if current is start:
                break
            visited.append(current)
        else:
            raise AssertionError(f"Tab never came back: {[w.objectName() for w in visited]}")
        names = [w.objectName() for w in visited]
        assert len(set(names)) == len(names), f"visited twice: {names}"
        for table in ("previewTable", "taskList"):
            assert table in names  # reached, and left on the next Tab
        # the visual order: files, then their table, then the Run panel's fields
        # (an operation's options right after the operation), then the task list
        order = ["addFilesButton", "extEdit", "previewTable", "opCombo", "option_command",
                 "modeCombo", "workersSpin", "outputEdit", "startButton"]  # fmt: skip
        window.control.select_operation("exec")
        await until(lambda: window.control._option_widgets["command"].isVisible())
        start.setFocus()
        await until(lambda: QApplication.focusWidget() is start)
        seen = []
        for _ in range(80):
            seen.append(QApplication.focusWidget().objectName())
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            if QApplication.focusWidget() is start:
                break
        assert set(order) <= set(seen), "\n".join(seen)
        positions = [seen.index(name) for name in order]
        assert positions == sorted(positions), seen
        await close(window)

    run(scenario)


def test_every_field_has_its_own_accessible_name_and_every_control_a_tooltip(make_window, run):
    async def scenario():
        window = make_window()
        window.show()
        for operation in ("exec", "image"):
            window.control.select_operation(operation)
            await until(lambda: all(w.isVisible() for w in window.control._option_widgets.values()))
            # (Qt's own parts, like a spin box's line edit, speak through their owner)
            fields = [
                w
                for w in _shown(window, INPUTS)
                if not w.objectName().startswith("qt_") and not isinstance(w, QHeaderView)
            ]
            names = {}
            for widget in fields:
                face = QAccessible.queryAccessibleInterface(widget)
                name = face.text(QAccessible.Text.Name) if face is not None else ""
                assert name, f"{widget.objectName() or widget} has no accessible name"
                names.setdefault(name, []).append(widget.objectName())
            shared = {name: who for name, who in names.items() if len(who) > 1}
            assert not shared, shared
            for control in _shown(window, (QAbstractButton, *INPUTS)):
                if control.objectName().startswith("qt_") or isinstance(
                    control, QAbstractItemView | QPlainTextEdit
                ):
                    continue
                assert control.toolTip(), f"{control.objectName()} has no tooltip"
        await close(window)

    run(scenario)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_errors_and_the_chart_line_are_readable(make_window, run, theme):
    async def scenario():
        window = make_window()
        window.show()
        window.findChild(type(window.start_action), f"theme_{theme}").trigger()
        try:
            palette = QGuiApplication.palette()
            base = palette.base().color()
            if theme == "dark":
                assert base.lightness() < 80
            assert contrast(palette.text().color(), base) >= 4.5
            assert contrast(palette.windowText().color(), palette.window().color()) >= 4.5
            error = window.tasks.model._error_brush().color()
            assert contrast(error, base) >= 4.5, error.name()
            line = window.stats.chart.line_colour()
            assert contrast(line, window.stats.chart.palette().base().color()) >= 4.5
            assert window.remembered.theme == theme
        finally:
            window.set_theme("system")
        await close(window)

    run(scenario)


def test_the_preview_sorts_and_a_duplicate_names_its_original_folder(make_window, run, tmp_path):
    make_files(tmp_path / "in" / "a", 3)
    (tmp_path / "in" / "b").mkdir()
    (tmp_path / "in" / "b" / "big.txt").write_bytes(b"x" * 50_000)
    (tmp_path / "in" / "b" / "copy.txt").write_bytes(
        (tmp_path / "in" / "a" / "f0000.txt").read_bytes()
    )

    async def scenario():
        window = make_window()
        window.show()
        window.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(window))
        model, table = window.preview.model, window.preview.table
        table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # by size, a header click
        assert model.entries[0].path.name == "big.txt"
        table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        names = [e.path.name for e in model.entries if not e.is_dir]
        assert names == sorted(names, key=str.lower)
        texts = {e.path.name: model.data(model.index(r, 3)) for r, e in enumerate(model.entries)}
        duplicate = next(text for text in texts.values() if text.startswith("duplicate of"))
        assert duplicate in (
            f"duplicate of f0000.txt in {tmp_path / 'in' / 'a'}",
            f"duplicate of copy.txt in {tmp_path / 'in' / 'b'}",
        )
        await close(window)

    run(scenario)


def test_the_output_name_field_shows_its_result_for_the_first_file(make_window, run, tmp_path):
    from PIL import Image

    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 8), "red").save(tmp_path / "in" / "IMG_1092.jpg")

    async def scenario():
        window = make_window()
        window.show()
        control = window.control
        control.select_operation("image")
        assert control.name_example.text() == "Add files to see an example"
        window.add_paths([str(tmp_path / "in")])
        await until(lambda: scanned(window))
        assert control.name_example.text() == "e.g. IMG_1092.jpg → IMG_1092.jpg"
        control._option_widgets["format"].setCurrentText("webp")
        assert control.name_example.text() == "e.g. IMG_1092.jpg → IMG_1092.webp"
        control._option_widgets["name"].setText("{parent}-{n:03d}.{newext}")
        assert control.name_example.text() == "e.g. IMG_1092.jpg → in-001.webp"
        control._option_widgets["name"].setText("{size}")
        assert control.name_example.text().startswith("Cannot name outputs: unknown placeholder")
        await close(window)

    run(scenario)
