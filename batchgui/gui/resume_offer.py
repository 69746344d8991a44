"""The question at start-up: resume the batch that did not finish?

Store.history entry of the latest unfinished batch ─► resume_question
    ─► a message box that names it: the operation, where its files are,
       how far it got, when it started ─► Yes / No (the window remembers a
       No for that batch and does not ask again)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from batchgui.session.units import plural


def _sources(sources: list[str]) -> str:
    if not sources:
        return "its files"
    more = f" and {plural(len(sources) - 1, 'other')}" if len(sources) > 1 else ""
    return sources[0] + more


def describe(entry: dict[str, Any]) -> str:
    counts = entry["counts"]
    done = counts["completed"] + counts["skipped"] + counts["failed"] + counts["cancelled"]
    started = entry.get("started_at") or entry.get("created_at")
    when = datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M") if started else "–"
    failed = f", {counts['failed']} failed" if counts["failed"] else ""
    return (
        f"The {entry['op']} batch on {_sources(entry['sources'])} did not finish: "
        f"{done} of {plural(counts['total'], 'file')} done{failed}. "
        f"It was started {when}."
    )


def resume_question(entry: dict[str, Any], parent: QWidget) -> QMessageBox:
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Resume batch?",
        describe(entry) + "\n\nResume it now?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setObjectName("resumeOffer")
    box.setInformativeText(
        "If you choose No, it is not offered again at start; File > History still has it."
    )
    return box
