"""The application layer between the front ends (CLI, window) and the engine:
what a run needs (`RunSettings`), how it may stop (`StopMode`) and how it ended
(`Ending`). Never imports Qt."""

from batchgui.session.settings import (
    ClusterSettings,
    Ending,
    FilterSettings,
    RunSettings,
    StopMode,
)

__all__ = ["ClusterSettings", "Ending", "FilterSettings", "RunSettings", "StopMode"]
