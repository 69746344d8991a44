"""The statistics panel: progress, counts, rates, elapsed, ETA and a throughput chart.

It reads `BatchProcessor.stats(batch)` (cheap: counters and a few floats)
when the bridge says something changed and on its own 4 Hz timer, so elapsed
time and ETA keep moving while a long task runs. The chart keeps the last two
minutes of files/s samples and draws them with QPainter.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from batchgui.core.models import Batch, BatchStatus
from batchgui.core.processor import BatchProcessor
from batchgui.core.stats import Stats
from batchgui.gui.colours import readable
from batchgui.gui.outcome_bar import OutcomeBar
from batchgui.session import units

_FIELDS = (
    "Completed",
    "Failed",
    "Skipped",
    "Cancelled",
    "Pending",
    "Running",
    "Success rate",
    "Files/s",
    "MiB/s",
    "Elapsed",
    "ETA",
)


class ThroughputChart(QWidget):
    SAMPLES = 240  # two minutes at two samples a second

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("throughputChart")
        self.setMinimumHeight(70)
        self.samples: deque[float | None] = deque(maxlen=self.SAMPLES)

    def add(self, value: float | None) -> None:
        """A files/s sample, or None while paused: drawn as a gap, not a flat line."""
        self.samples.append(None if value is None else max(0.0, value))
        self.update()

    def clear(self) -> None:
        self.samples.clear()
        self.update()

    def line_colour(self) -> QColor:
        """The palette's highlight, made readable on the chart's background."""
        palette = self.palette()
        return readable(palette.highlight().color(), palette.base().color())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.fillRect(area, palette.base())
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(area)
        known = [v for v in self.samples if v is not None]
        if len(self.samples) < 2 or not known:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "files/s")
            painter.end()
            return
        top = max(known) or 1.0
        # the line fills the width as samples come, then scrolls; a pause is a gap
        step = area.width() / max(len(self.samples) - 1, 20)
        start = area.left()
        accent = self.line_colour()
        shade = QColor(accent)
        shade.setAlpha(60)
        for run in _runs_of_samples(list(self.samples)):
            points = [
                QPointF(start + i * step, area.bottom() - (v / top) * (area.height() - 14))
                for i, v in run
            ]
            fill = QPainterPath(QPointF(points[0].x(), area.bottom()))
            for point in points:
                fill.lineTo(point)
            fill.lineTo(QPointF(points[-1].x(), area.bottom()))
            painter.fillPath(fill, shade)
            painter.setPen(QPen(accent, 1.6))
            painter.drawPolyline(points)
        painter.setPen(palette.text().color())
        painter.drawText(
            area.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignRight, f"peak {top:.1f} files/s"
        )
        painter.end()


def _runs_of_samples(samples: list[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive known samples with their places: [1, 2, None, 3] -> [[(0, 1), (1, 2)],
    [(3, 3)]]."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(samples):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


class StatisticsPanel(QGroupBox):
    def __init__(self, processor: BatchProcessor, parent: QWidget | None = None) -> None:
        super().__init__("Statistics", parent)
        self.setObjectName("statisticsPanel")
        self._processor = processor
        self._batch: Batch | None = None
        self._watching = False
        self._bytes = 0
        self.progress = OutcomeBar(self)
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        for i, name in enumerate(_FIELDS):
            value = QLabel("–", self)
            value.setObjectName("stat_" + name.lower().replace(" ", "_").replace("/", "_per_"))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.values[name] = value
            row, col = divmod(i, 2)
            grid.addWidget(QLabel(name, self), row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
        self.chart = ThroughputChart(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addLayout(grid)
        layout.addWidget(self.chart, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self._sample = QTimer(self)
        self._sample.setInterval(500)
        self._sample.timeout.connect(self._chart_sample)

    def show_batch(self, batch: Batch | None) -> None:
        self._batch = batch
        self._watching = False
        self._bytes = sum(t.size for t in batch.tasks) if batch is not None else 0
        self.chart.clear()
        if batch is None:
            self._timer.stop()
            self._sample.stop()
        else:
            self._timer.start()
            self._sample.start()
        self.refresh()

    def set_watching(self, watching: bool) -> None:
        """Idle between rounds of a watch: the rate and ETA say so instead of a last value."""
        self._watching = watching
        if watching:
            for name in ("Files/s", "MiB/s", "ETA"):
                self.values[name].setText("watching")
        else:
            self.refresh()

    def _paused(self) -> bool:
        batch = self._batch
        return batch is not None and batch.status is BatchStatus.PAUSED and not batch.is_done

    def stats(self) -> Stats | None:
        if self._batch is None:
            return None
        return self._processor.stats(self._batch)

    def refresh(self) -> None:
        stats = self.stats()
        if stats is None:
            return
        v = self.values
        v["Completed"].setText(str(stats.completed))
        v["Failed"].setText(str(stats.failed))
        v["Skipped"].setText(str(stats.skipped))
        v["Cancelled"].setText(str(stats.cancelled))
        v["Pending"].setText(str(stats.pending + stats.retry_wait))
        batch = self._batch
        frozen = self._processor.frozen_count(batch) if batch and self._paused() else 0
        if frozen:  # paused: frozen tasks are not running
            finishing = stats.running - frozen
            v["Running"].setText(f"{finishing} ({frozen} paused)")
        else:
            v["Running"].setText(str(stats.running))
        v["Success rate"].setText(
            "–" if stats.success_rate is None else f"{stats.success_rate:.0%}"
        )
        if self._paused() or self._watching:  # nothing is moving: no stale rate or ETA
            for name in ("Files/s", "MiB/s", "ETA"):
                v[name].setText("paused" if self._paused() else "watching")
        else:
            v["Files/s"].setText(f"{stats.files_per_s:.1f}")
            # MiB: as sizes are written everywhere (session/units.py)
            v["MiB/s"].setText(f"{stats.bytes_per_s / 2**20:.2f}")
            v["ETA"].setText(units.duration(stats.eta_s))
        v["Elapsed"].setText(units.duration(stats.elapsed_s))
        self.progress.set_outcomes(stats, units.size(self._bytes))
        if self._batch is not None and self._batch.is_done:
            self._timer.stop()

    def _chart_sample(self) -> None:
        stats = self.stats()
        if stats is not None:
            self.chart.add(None if self._paused() else stats.files_per_s)
            if self._batch is not None and self._batch.is_done:
                self._sample.stop()
