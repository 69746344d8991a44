"""Package attributes imported when first used (PEP 562).

    package __init__: __getattr__ = lazy_attributes(__name__, {"Name": "its.module"})
    `from package import Name` ─► its module imported then, and the value kept

So importing one small module of a package (`batchgui.core.errors`) does not
load the whole package (the engine, asyncio, the store's journal): a command
that never runs a batch, such as `preview`, starts that much sooner.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that finds each name in `homes` (name -> module)."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
