"""Render resources/batchgui.svg to the PNG sizes desktops and the bundle use.

    QT_QPA_PLATFORM=offscreen python3 scripts/make_icons.py

batchgui.svg ─► QSvgRenderer ─► resources/icons/batchgui-<N>.png, N = 16 ... 512.
Run it after changing the SVG and commit the PNGs (the window loads them, so
a bundle needs no SVG plugin).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(RESOURCES / "batchgui.svg"))
    if not renderer.isValid():
        print("error: batchgui.svg does not parse", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = RESOURCES / "icons" / f"batchgui-{size}.png"
        if not image.save(str(target)):
            print(f"error: cannot write {target}", file=sys.stderr)
            return 1
        print(target.relative_to(RESOURCES.parent.parent))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
