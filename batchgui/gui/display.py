"""Can a window open here? Asked before Qt is started, because Qt aborts the whole
process (exit 134) when its platform plugin cannot load, naming the plugin
rather than what is missing.

    display_problem(environ) ─► None: go ahead
        Linux only: which plugin Qt will use (QT_QPA_PLATFORM, else wayland or xcb
        from WAYLAND_DISPLAY / DISPLAY) ─► none set: "no display"
        ─► a local X display (":0") whose socket is not there: nobody answers
        ─► the plugin's shared libraries that the system lacks (ldd), with the
           Debian/Ubuntu packages that bring them
    ─► the CLI says it in one line, with `batchgui run` for headless use; exit 2
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

_HEADLESS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl", "vkkhrdisplay"}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)
_SONAME = re.compile(r"^(?P<base>.+)\.so\.(?P<version>\d+)")


def display_problem(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if not chosen:
        if environ.get("WAYLAND_DISPLAY"):
            chosen = "wayland"
        elif environ.get("DISPLAY"):
            chosen = "xcb"
        else:
            return "there is no display to show a window on (DISPLAY is not set)"
    if chosen in _HEADLESS:
        return None
    if chosen == "xcb":
        local = re.fullmatch(r":(\d+)(\.\d+)?", environ.get("DISPLAY", ""))
        if local and not Path(f"/tmp/.X11-unix/X{local.group(1)}").exists():
            return f"no X server answers on display {environ['DISPLAY']}"
    missing = missing_libraries(_plugin(chosen))
    if missing:
        packages = " ".join(debian_package(name) for name in missing)
        return (
            f"the {chosen} window plugin needs {', '.join(missing)}, which this system "
            f"lacks (Debian/Ubuntu: apt-get install {packages})"
        )
    return None


def _plugin(name: str) -> Path:
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    return plugins / "platforms" / f"libq{name}.so"


def missing_libraries(library: Path) -> list[str]:
    """Shared libraries `library` needs (directly or not) that cannot be found."""
    if not library.exists():
        return []
    try:
        result = subprocess.run(
            ["ldd", str(library)], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []  # no ldd: let Qt try
    return list(dict.fromkeys(_NOT_FOUND.findall(result.stdout)))


def debian_package(soname: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4; libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    match = _SONAME.match(soname)
    if match is None:
        return soname
    base, version = match["base"].lower(), match["version"]
    return f"{base}-{version}" if base[-1].isdigit() else f"{base}{version}"
