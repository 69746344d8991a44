"""Icons drawn at run time (status dots) or loaded from resources/ (the app icon)."""

from __future__ import annotations

import functools

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

from batchgui.core.models import TaskStatus
from batchgui.paths import resource

STATUS_COLOURS = {
    TaskStatus.PENDING: "#a0aec0",
    TaskStatus.RUNNING: "#3182ce",
    TaskStatus.RETRY_WAIT: "#dd6b20",
    TaskStatus.COMPLETED: "#38a169",
    TaskStatus.FAILED: "#e53e3e",
    TaskStatus.SKIPPED: "#805ad5",
    TaskStatus.CANCELLED: "#718096",
}


PAUSED_COLOUR = "#b7791f"


@functools.cache
def status_icon(status: TaskStatus, paused: bool = False) -> QIcon:
    """A dot in the status's colour with its sign; a running task frozen by Pause
    gets the pause sign (two bars) in amber instead of the running arrow."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(PAUSED_COLOUR if paused else STATUS_COLOURS[status]))
    painter.drawEllipse(QPointF(8, 8), 6.5, 6.5)
    painter.setPen(QPen(QColor("white"), 1.8))
    if paused:
        painter.drawLine(QPointF(6.2, 5), QPointF(6.2, 11))
        painter.drawLine(QPointF(9.8, 5), QPointF(9.8, 11))
    elif status is TaskStatus.COMPLETED:
        painter.drawPolyline([QPointF(5, 8.5), QPointF(7.2, 10.8), QPointF(11, 5.8)])
    elif status is TaskStatus.FAILED:
        painter.drawLine(QPointF(5.5, 5.5), QPointF(10.5, 10.5))
        painter.drawLine(QPointF(10.5, 5.5), QPointF(5.5, 10.5))
    elif status is TaskStatus.RUNNING:
        painter.drawLine(QPointF(6.5, 5), QPointF(10.5, 8))
        painter.drawLine(QPointF(10.5, 8), QPointF(6.5, 11))
    painter.end()
    return QIcon(pixmap)


@functools.cache
def app_icon() -> QIcon:
    """The application icon from its PNG sizes (no SVG plugin needed, also when frozen)."""
    icon = QIcon()
    for png in sorted(resource("icons").glob("batchgui-*.png")):
        icon.addFile(str(png))
    return icon
