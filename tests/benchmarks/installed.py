"""Whole `batchgui` commands timed as an installed copy runs them: compiled.

pip byte-compiles a package as it installs it and a frozen bundle holds compiled
modules, so a user's batchgui never compiles its source at start-up. A checkout
run with PYTHONDONTWRITEBYTECODE=1 (as on the CI machine) does, on every start:
40-60 ms that belong to no user's run. The benchmarks that start batchgui as a
command use `compiled_environment()`: the variable left out, and one short run
first (`warm_up`) that writes the cache every timed run then reads, as Python
does by default (`__pycache__`, ignored by git).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def compiled_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up(env: dict[str, str], *args: str) -> None:
    """`batchgui ARGS` once, "{folder}" among them standing for a folder of one
    file, so the modules such a command imports are compiled before it is timed."""
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as work:
        folder = Path(work) / "in"
        folder.mkdir()
        (folder / "one.txt").write_text("one")
        filled = [arg.replace("{folder}", str(folder)) for arg in args]
        subprocess.run(
            [sys.executable, "-m", "batchgui", "--data-dir", str(Path(work) / "data"), *filled],
            env=env, check=True, stdout=subprocess.DEVNULL, cwd=work,
        )  # fmt: skip
