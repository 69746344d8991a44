"""Messages in the window's words: the engine and the store speak the command
line's language (`--out`, `--on-exists`, 'batchgui history'); the window says
what its own controls are called.

    any one-line message ─► WindowStatusBar.showMessage ─► for_window(text)
        ─► shown() (file names that are not UTF-8) ─► the status bar

Only whole known phrases are replaced; anything else passes unchanged.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QStatusBar

from batchgui.gui.names import shown

_PHRASES = (
    ("(see 'batchgui history')", "(see File > History)"),
    ("--on-exists overwrite or rename", '"If a file exists": overwrite or rename'),
    ("--on-exists", '"If a file exists"'),
    ("another --out", "another output folder"),
    ("--out", "the output folder"),
    ("without --shell", "without Shell"),
    ("--shell", "Shell"),
    ("run 'batchgui doctor --repair'", "run the repair (in a terminal: batchgui doctor --repair)"),
)
_PATTERN = re.compile("|".join(re.escape(cli) for cli, _ in _PHRASES))
_WINDOW = dict(_PHRASES)


def for_window(message: str) -> str:
    return _PATTERN.sub(lambda match: _WINDOW[match.group(0)], message)


class WindowStatusBar(QStatusBar):
    def showMessage(self, text: str, /, timeout: int | None = 0) -> None:
        # a file name in the message is shown whole, its odd bytes as U+FFFD (names.py)
        super().showMessage(shown(for_window(text)), timeout or 0)
