"""The questions the window asks before it does something that cannot be undone.

    Cancel all, more than CONFIRM_CANCEL_ABOVE tasks unfinished ─►
        confirm_cancel_all ─► "Cancel tasks" cancels; "Keep running" (the
        default) does nothing
    closing with a batch unfinished ─► ask_how_to_close ─► Stop and save /
        Finish running tasks / Stop and cancel / Cancel (stay open); the text
        says whether the batch is running or paused, and how many tasks wait

Every box is opened with open(), never exec(): the event loop keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from batchgui.core import Batch, BatchStatus
from batchgui.session import StopMode
from batchgui.session.units import plural

if TYPE_CHECKING:
    from batchgui.gui.main_window import MainWindow

CONFIRM_CANCEL_ABOVE = 5  # Cancel all asks first when more tasks than this would be cancelled


def confirm(
    parent: QWidget,
    name: str,
    title: str,
    text: str,
    detail: str,
    act: tuple[str, str],
    keep: str,
    on_yes: Callable[[], object],
) -> QMessageBox:
    """Ask before something that cannot be undone: `act` is the (label, objectName)
    of the button that does it; `keep`, the default, does nothing."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(detail)
    yes = box.addButton(act[0], QMessageBox.ButtonRole.DestructiveRole)
    yes.setObjectName(act[1])
    box.setDefaultButton(box.addButton(keep, QMessageBox.ButtonRole.RejectRole))
    box.buttonClicked.connect(lambda button: button is yes and on_yes())
    box.open()
    return box


def confirm_cancel_all(window: MainWindow, batch: Batch) -> QMessageBox:
    def cancel() -> None:
        if not batch.is_done:
            window.processor.cancel_batch(batch)

    return confirm(
        window,
        "cancelAllConfirm",
        "Cancel all",
        f"Cancel {plural(batch.unfinished, 'unfinished task')}?",
        "Running work is stopped. Finished results are kept, and cancelled tasks "
        "can be run again with Retry cancelled.",
        ("Cancel tasks", "confirmCancelAll"),
        "Keep running",
        cancel,
    )


def ask_how_to_close(window: MainWindow) -> QMessageBox:
    box = QMessageBox(window)
    box.setObjectName("closeDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Close batchgui")
    box.setText(close_question(window))
    box.setInformativeText(
        "Stop and save: running work stops now and restarts when you resume the batch.\n"
        "Finish running tasks: nothing new starts; closes when they end.\n"
        "Stop and cancel: running work is killed and the rest is cancelled."
    )
    choices = {
        box.addButton("Stop and save", QMessageBox.ButtonRole.AcceptRole): StopMode.SAVE,
        box.addButton("Finish running tasks", QMessageBox.ButtonRole.ActionRole): StopMode.DRAIN,
        box.addButton("Stop and cancel", QMessageBox.ButtonRole.DestructiveRole): StopMode.KILL,
    }
    for button, choice in choices.items():
        button.setObjectName(f"close_{choice}")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(next(iter(choices)))
    box.buttonClicked.connect(lambda button: window.close_with(choices.get(button)))
    box.open()
    return box


def close_question(window: MainWindow) -> str:
    batch = window.batch
    assert batch is not None
    processor = window.processor
    waiting = batch.unfinished - processor.running_count(batch)
    if batch.status is BatchStatus.PAUSED:
        frozen = processor.frozen_count(batch)
        held = f", {plural(frozen, 'task')} frozen" if frozen else ""
        return (
            f"The batch is paused ({plural(waiting, 'task')} waiting{held}). "
            "What should happen to it?"
        )
    running = processor.running_count(batch)
    return (
        f"A batch is running ({plural(running, 'task')} at work, {waiting} waiting). "
        "What should happen to it?"
    )
