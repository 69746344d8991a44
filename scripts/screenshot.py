"""Save screenshots of the main window mid-batch (offscreen) into docs/:
screenshot.png (light, 1280x800, a failed task's details open),
screenshot-dark.png (the dark theme) and screenshot-1024x600.png.

    QT_QPA_PLATFORM=offscreen python3 scripts/screenshot.py [FOLDER]

Makes a small tree of files in a temporary folder (some duplicates, a few
that fail), starts a checksum-like batch whose tasks take a moment, waits
until part of it is done, and grabs the window.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

    from batchgui.gui import create_main_window
    from batchgui.gui.event_loop import EventLoop

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    shots = [
        (folder / "screenshot.png", (1280, 800), "light", True),
        (folder / "screenshot-dark.png", (1280, 800), "dark", False),
        (folder / "screenshot-1024x600.png", (1024, 600), "light", False),
    ]
    work = Path(tempfile.mkdtemp(prefix="batchgui-shot-"))
    photos = work / "holiday-photos"
    for i in range(160):
        folder = photos / f"day-{i // 40 + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{4000 + i}.jpg").write_bytes(os.urandom(2000 + (i * 7919) % 200_000))
    for i in range(6):
        (photos / "day-1" / f"copy-of-IMG_{4000 + i}.jpg").write_bytes(
            (photos / "day-1" / f"IMG_{4000 + i}.jpg").read_bytes()
        )
    (photos / ".thumbnails").mkdir()
    (photos / "notes.txt").write_text("packing list")

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # this script ends the loop itself
    loop = EventLoop(app)
    asyncio.set_event_loop(loop)

    async def shoot(target: Path, size: tuple[int, int], theme: str, details: bool) -> None:
        data = work / f"data-{target.stem}"
        window = create_main_window(data)
        window.set_theme(theme)
        window.resize(*size)
        window.show()
        window.control.select_operation("exec")
        form = window.control._option_widgets
        form["command"].setText(
            "sh -c 'sleep 0.15; case $0 in *IMG_4013*|*IMG_4077*) "
            "echo corrupt JPEG >&2; exit 3;; esac' {path}"
        )
        window.control.workers_spin.setValue(4)
        window.preview.ext_edit.setText(".jpg")
        window.add_paths([str(photos)])
        while (
            window.preview.counts_label.text().endswith("…")
            or "scanning" in window.preview.counts_label.text()
        ):
            await asyncio.sleep(0.05)
        window.start()
        while (
            window.batch is None
            or window.batch.counts[window.batch.tasks[0].status.__class__.COMPLETED] < 110
        ):
            await asyncio.sleep(0.05)
        if details:
            failed = next(t for t in window.batch.tasks if t.error)
            window.show_details(failed)
            window.details.tabs.setCurrentIndex(1)  # the error
        await asyncio.sleep(0.3)
        target.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(target))
        print(f"saved {target}")
        window.cancel_all()
        box = window.findChild(QMessageBox, "cancelAllConfirm")
        if box is not None:
            box.findChild(QPushButton, "confirmCancelAll").click()
        while not window.batch.is_done:
            await asyncio.sleep(0.05)
        window.set_theme("system")
        window.close()
        while window.isVisible():
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        for shot in shots:
            await shoot(*shot)

    with loop:
        loop.run_until_complete(scenario())
    return 0


if __name__ == "__main__":
    sys.exit(main())
