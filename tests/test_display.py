"""Without a usable display, `batchgui` says what is missing in one line and exits
2 instead of letting Qt abort the process (exit 134)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from batchgui.gui import display

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /opt/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_no_display_is_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "batchgui", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISPLAY is not set" in lines[0] and "batchgui run" in lines[0]


def test_a_local_display_nobody_serves_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(display, "Path", lambda text: tmp_path / Path(text).name)
    problem = display.display_problem({"DISPLAY": ":93"})
    assert problem == "no X server answers on display :93"


def test_missing_libraries_are_named_with_the_packages_that_bring_them(monkeypatch, tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")

    def fake_ldd(args, **kwargs):
        assert args == ["ldd", str(plugin)]
        return subprocess.CompletedProcess(args, 0, LDD_OUTPUT, "")

    monkeypatch.setattr(display.subprocess, "run", fake_ldd)
    monkeypatch.setattr(display, "_plugin", lambda name: plugin)
    problem = display.display_problem({"QT_QPA_PLATFORM": "xcb"})
    assert problem == (
        "the xcb window plugin needs libxcb-icccm.so.4, libxcb-cursor.so.0, "
        "libxkbcommon-x11.so.0, which this system lacks (Debian/Ubuntu: apt-get install "
        "libxcb-icccm4 libxcb-cursor0 libxkbcommon-x11-0)"
    )
    assert display.display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
