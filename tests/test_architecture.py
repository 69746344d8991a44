"""The house rules: the layering (import-linter), lint and format (ruff), types
(mypy, strict on the engine, the store and the session layer), and no work at
import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import modules_after

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    # through this interpreter, so the test does not depend on what PATH holds
    runner = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    result = subprocess.run(
        [sys.executable, "-c", runner, "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_engine_imports_without_qt_and_creates_no_folders(tmp_path):
    code = (
        "import sys, batchgui, batchgui.cli, batchgui.core, batchgui.operations.registry; "
        "assert not any(m.startswith(('PySide6', 'qasync')) for m in sys.modules), "
        "[m for m in sys.modules if m.startswith('PySide6')]"
    )
    env = {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "d"),
        "XDG_STATE_HOME": str(tmp_path / "s"),
        "XDG_CONFIG_HOME": str(tmp_path / "c"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_preview_starts_without_the_engine_or_the_store():
    """`preview` (and any command that only scans) does not pay for asyncio, the
    engine or SQLite at start-up: the packages import their parts when first used."""
    loaded = modules_after("import batchgui, batchgui.cli.preview")
    heavy = {"asyncio", "sqlite3", "batchgui.core.processor", "batchgui.store.store"}
    assert not heavy & loaded


def test_the_lazy_package_names_all_resolve():
    import batchgui.core
    import batchgui.store

    for package in (batchgui.core, batchgui.store):
        assert sorted(package.__all__) == sorted(package._HOME)
        for name in package.__all__:
            assert getattr(package, name).__name__ == name
    try:
        batchgui.core.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'NoSuchThing'" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_the_types_check():
    """mypy with pyproject.toml's settings: strict on core, store and session."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_the_code_is_linted_and_formatted():
    """ruff check and ruff format --check, as the README's Developing section runs them."""
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_folder_is_installed_and_resources_are_found():
    """pyproject lists the packages (resources/ is mapped in as batchgui.resources):
    a new package folder left out of the list would be missing from the wheel."""
    import tomllib

    from batchgui.paths import resource

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "batchgui").rglob("__init__.py")
    }
    assert set(settings["packages"]) == folders | {"batchgui.resources"}
    assert settings["package-dir"] == {"batchgui.resources": "resources"}
    for name in ("batchgui.svg", "batchgui.desktop", "icons/batchgui-256.png"):
        assert resource(name).is_file(), name
        assert resource(name).resolve().is_relative_to(ROOT / "resources")


# POSIX-only calls: each lives in batchgui/core/platform/ (one place that knows
# the systems), never in the code the three systems share
_POSIX_ONLY = (
    r"\bimport fcntl\b|\bfrom fcntl\b",
    r"^\s*import resource\b|^\s*from resource import",
    r"\bos\.killpg\b",
    r"\bos\.getpgid\b",
    r"\bos\.fchmod\b",
    r"\bsignal\.SIG(STOP|CONT|KILL)\b",
    r"\bprctl\b",
    r"\.add_reader\(",
    r"\.add_signal_handler\(",
    r"\bpidfd_open\b",
    r"\bstart_new_session\s*=",
    r"[\"']/bin/sh[\"']",
    r"\bshlex\.split\(",
)


def test_posix_only_calls_live_in_the_platform_layer():
    import re

    pattern = re.compile("|".join(_POSIX_ONLY))
    platform = ROOT / "batchgui" / "core" / "platform"
    found = []
    for path in sorted((ROOT / "batchgui").rglob("*.py")):
        if platform in path.parents:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


def test_the_types_check_for_windows_and_macos():
    """The platform layer's system branches type-check as each system sees them."""
    for system in ("win32", "darwin"):
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--platform", system],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{system}:\n{result.stdout}{result.stderr}"
