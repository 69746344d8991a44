"""Light, dark or the system's look: View > Theme.

    View > Theme > Light | Dark | System ─► apply_theme(name) ─► the
        application's style and palette ─► every widget repaints; colours
        drawn by batchgui itself (error text, the chart, the progress bar)
        are taken from the palette and kept readable (gui/colours.py)
    chosen ─► remembered (gui/remembered.py) and applied at the next start

Light and dark use Qt's Fusion style, which follows the palette on every
system (the native Windows style ignores palettes). System puts back the
style and palette the application started with.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES = ("system", "light", "dark")
_started_with: tuple[str, QPalette] | None = None


def dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(40, 40, 43),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(160, 160, 160),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Link: QColor(110, 170, 255),
        QPalette.ColorRole.Highlight: QColor(60, 120, 200),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Mid: QColor(90, 90, 95),
        QPalette.ColorRole.Dark: QColor(25, 25, 27),
        QPalette.ColorRole.Light: QColor(75, 75, 80),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(140, 140, 140))
    return palette


def apply_theme(name: str) -> str:
    """Apply a theme by name ("system" for anything unknown); returns the one applied."""
    global _started_with
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return "system"
    if _started_with is None:
        _started_with = (app.style().name(), QPalette(app.palette()))
    name = name if name in THEMES else "system"
    if name == "system":
        style, palette = _started_with
        app.setStyle(QStyleFactory.create(style) or app.style())
        app.setPalette(palette)
        return name
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(fusion)
    app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())
    return name
