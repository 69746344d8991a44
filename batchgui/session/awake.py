"""Keeping the computer from sleeping while a batch works (wakepy).

    the window opens ─► KeepAwake.prepare(): wakepy imported on the awake thread
    a batch starts ─► KeepAwake.hold(): wakepy's keep.running mode entered
        (the system's own way: systemd/GNOME/KDE inhibitors over D-Bus,
        SetThreadExecutionState on Windows, caffeinate on macOS)
    the batch ends, is paused or stopped ─► release()

Where the system offers no way (no session bus, a container) the batch runs
all the same and the reason is logged once; `--allow-sleep` (CLI) and the
window's Batch menu turn it off.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


class KeepAwake:
    def __init__(self) -> None:
        self._mode: Any = None
        self.state = "not asked"

    def prepare(self) -> None:
        """Import wakepy (and its D-Bus adapter, where there is D-Bus) ahead of the
        first hold. Blocking and off the GUI thread all the same: ~35 ms of imports
        hold the GIL, and at a batch's start that froze the window (measured: its
        largest stall 56-67 ms with the imports there, 27-29 ms without)."""
        try:
            import wakepy

            if sys.platform.startswith("linux"):
                wakepy.JeepneyDBusAdapter  # noqa: B018  (imported when first named)
        except Exception as exc:  # wakepy missing or broken: hold() says so in its turn
            log.info("cannot prepare keeping the computer awake: %s", exc)

    def hold(self) -> str:
        """Ask the system to stay awake; what it said, in words. Blocking (D-Bus): off
        the GUI thread."""
        if self._mode is not None:
            return self.state
        try:
            from wakepy import keep

            mode = keep.running(on_fail="pass")
            mode.__enter__()
        except Exception as exc:  # wakepy missing or broken: the work goes on
            log.info("cannot keep the computer awake: %s", exc)
            self.state = f"cannot keep the computer awake: {exc}"
            return self.state
        self._mode = mode
        if mode.active:
            self.state = f"kept awake ({mode.active_method})"
        else:
            self.state = "cannot keep the computer awake here"
            log.info("no way to keep the computer awake here: %s", mode.result)
        return self.state

    def release(self) -> None:
        mode, self._mode = self._mode, None
        if mode is not None:
            try:
                mode.__exit__(None, None, None)
            except Exception:
                log.exception("letting the computer sleep again failed")
        self.state = "not asked"
