"""The batch's progress bar, in the colours of its outcomes.

    Stats (completed, skipped, failed, cancelled, total) ─► set_outcomes
        ─► the bar's value is the share of tasks done, as any QProgressBar
           (screen readers and tests read value() and text())
        ─► painted as segments: completed green, skipped purple, failed red,
           cancelled grey, the rest empty; the text says what the colours mean

A batch cancelled by hand therefore ends as a grey bar that says
"100% · 12 cancelled", never a blue "100%" that reads like success.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QProgressBar, QWidget

from batchgui.core.models import TaskStatus
from batchgui.core.stats import Stats
from batchgui.gui.colours import contrast
from batchgui.gui.icons import STATUS_COLOURS

SEGMENTS = (
    TaskStatus.COMPLETED,
    TaskStatus.SKIPPED,
    TaskStatus.FAILED,
    TaskStatus.CANCELLED,
)


class OutcomeBar(QProgressBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressBar")
        self.setRange(0, 1000)
        self.setAccessibleName("Progress")
        self.parts: dict[TaskStatus, int] = dict.fromkeys(SEGMENTS, 0)
        self.total = 0

    def set_outcomes(self, stats: Stats, size_text: str) -> None:
        self.parts = {
            TaskStatus.COMPLETED: stats.completed,
            TaskStatus.SKIPPED: stats.skipped,
            TaskStatus.FAILED: stats.failed,
            TaskStatus.CANCELLED: stats.cancelled,
        }
        self.total = stats.total
        # QProgressBar.setValue repaints at once (a synchronous paint of the bar, 4-5 ms
        # offscreen, 20 times a second while a batch runs); with updates off it only
        # records the value, and turning them on again asks for one ordinary update
        self.setUpdatesEnabled(False)
        try:
            self.setValue(round(stats.progress * 1000))
        finally:
            self.setUpdatesEnabled(True)
        words = [f"{stats.done} of {stats.total}", size_text]
        for status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            if self.parts[status]:
                words.append(f"{self.parts[status]} {status.value}")
        self.setFormat("%p%  (" + ", ".join(words) + ")")
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        area = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.fillRect(area, palette.base())
        left = area.left()
        if self.total:
            for status in SEGMENTS:
                width = area.width() * self.parts[status] / self.total
                if width > 0:
                    painter.fillRect(
                        QRectF(left, area.top(), width, area.height()),
                        QColor(STATUS_COLOURS[status]),
                    )
                    left += width
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(area)
        painter.setPen(self._text_colour())
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.text())
        painter.end()

    def _text_colour(self) -> QColor:
        """The palette's text colour, or its opposite where the bar is mostly filled
        and that reads better on the fill."""
        text = self.palette().text().color()
        if not self.total:
            return text
        biggest = max(SEGMENTS, key=lambda s: self.parts[s])
        if self.parts[biggest] * 2 < self.total:
            return text
        fill = QColor(STATUS_COLOURS[biggest])
        white, black = QColor("white"), QColor("black")
        return white if contrast(white, fill) >= contrast(black, fill) else black
