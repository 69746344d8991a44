"""Colours that stay readable: taken from the palette, checked for contrast.

    a wanted colour (a status's red, the palette's highlight) + the background
    it is drawn on ─► readable() ─► the same hue, lightened or darkened until
    its contrast with the background is at least 4.5:1 (WCAG 2 AA for text)

So a light and a dark palette both get legible error text and chart lines
without a second colour table. `contrast` is the WCAG 2 formula.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

TEXT_CONTRAST = 4.5  # WCAG 2 AA, normal text


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    r, g, b = colour.redF(), colour.greenF(), colour.blueF()
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: QColor, background: QColor, minimum: float = TEXT_CONTRAST) -> QColor:
    """`colour`, moved in lightness away from `background` until the contrast is met."""
    if contrast(colour, background) >= minimum:
        return QColor(colour)
    lighter = luminance(background) < 0.18  # a dark background wants a lighter colour
    hue, saturation, lightness, alpha = (
        colour.hslHueF(),
        colour.hslSaturationF(),
        colour.lightnessF(),
        colour.alphaF(),
    )
    step = 0.02 if lighter else -0.02
    candidate = QColor(colour)
    while 0.0 <= lightness <= 1.0:
        lightness = min(1.0, max(0.0, lightness + step))
        candidate = QColor.fromHslF(max(hue, 0.0), saturation, lightness, alpha)
        if contrast(candidate, background) >= minimum or lightness in (0.0, 1.0):
            break
    return candidate
