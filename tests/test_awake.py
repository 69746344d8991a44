"""Keeping the computer awake while a batch works: wakepy's mode entered and left,
the work going on where the system offers no way, and --allow-sleep."""

from __future__ import annotations

import subprocess
import sys
import types

from batchgui.session.awake import KeepAwake
from tests.conftest import make_files, modules_after


class _FakeMode:
    def __init__(self, log: list[str], active: bool) -> None:
        self.log, self.active = log, active
        self.active_method = "fake inhibitor" if active else None
        self.result = "no method here"

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit")


def _fake_wakepy(monkeypatch, active: bool) -> list[str]:
    log: list[str] = []
    keep = types.SimpleNamespace(running=lambda on_fail: _FakeMode(log, active))
    monkeypatch.setitem(sys.modules, "wakepy", types.SimpleNamespace(keep=keep))
    return log


def test_held_once_and_released(monkeypatch):
    log = _fake_wakepy(monkeypatch, active=True)
    awake = KeepAwake()
    assert awake.hold() == "kept awake (fake inhibitor)"
    assert awake.hold() == "kept awake (fake inhibitor)"  # held already: not twice
    awake.release()
    awake.release()
    assert log == ["enter", "exit"]


def test_no_way_to_keep_awake_is_said_and_the_work_goes_on(monkeypatch):
    _fake_wakepy(monkeypatch, active=False)
    assert KeepAwake().hold() == "cannot keep the computer awake here"
    monkeypatch.setitem(sys.modules, "wakepy", None)  # not installed at all
    assert KeepAwake().hold().startswith("cannot keep the computer awake:")


def test_runs_with_and_without_allow_sleep(tmp_path):
    make_files(tmp_path / "in", 3)
    for extra in ([], ["--allow-sleep"]):
        done = subprocess.run(
            [sys.executable, "-m", "batchgui", "--data-dir", str(tmp_path / "data"), "run",
             str(tmp_path / "in"), "--op", "checksum", "--out", str(tmp_path / "out"),
             "--quiet", "--force", *extra],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


def test_prepare_imports_wakepy_and_its_dbus_adapter_ahead_of_a_batch():
    """What holding costs the first time (wakepy and its D-Bus adapter imported, the
    GIL held meanwhile) is paid when the window opens, not as a batch starts."""
    loaded = modules_after("from batchgui.session.awake import KeepAwake; KeepAwake().prepare()")
    assert {"wakepy", "wakepy.dbus_adapters.jeepney"} <= loaded


def test_prepare_without_wakepy_leaves_hold_to_say_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "wakepy", None)  # import fails
    awake = KeepAwake()
    awake.prepare()
    assert awake.hold().startswith("cannot keep the computer awake")
