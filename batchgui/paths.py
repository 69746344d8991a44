"""Every folder batchgui writes to, worked out when asked, never at import.

Data: `--data-dir`, else `$BATCHGUI_DATA_DIR`, else platformdirs' user data
folder. Logs and settings follow the data folder when it was chosen
explicitly (so a test or a portable run touches nothing else), else they go
to platformdirs' log and config folders. Nothing here creates a folder;
callers do, when they first write. Shipped files (icons, the .desktop file)
come from `resource()`.
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from pathlib import Path

import platformdirs

APP = "batchgui"
ENV_DATA_DIR = "BATCHGUI_DATA_DIR"


def _chosen_data_dir(override: str | os.PathLike[str] | None) -> Path | None:
    if override:
        return Path(override).expanduser().absolute()
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser().absolute() if env else None


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    return _chosen_data_dir(override) or Path(platformdirs.user_data_dir(APP))


def log_dir(override: str | os.PathLike[str] | None = None) -> Path:
    chosen = _chosen_data_dir(override)
    return chosen / "logs" if chosen else Path(platformdirs.user_log_dir(APP))


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    chosen = _chosen_data_dir(override)
    return chosen / "config" if chosen else Path(platformdirs.user_config_dir(APP))


def resource(name: str) -> Path:
    """A file of resources/ (the repository's top folder), installed as the package
    batchgui.resources; in the bundle under sys._MEIPASS/batchgui/resources."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "batchgui" / "resources" / name
    try:
        found = importlib.resources.files("batchgui.resources")
    except ModuleNotFoundError:  # a checkout on sys.path, not installed
        return Path(__file__).resolve().parent.parent / "resources" / name
    return Path(str(found.joinpath(name)))
