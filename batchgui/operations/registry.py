"""Which operations exist: the built-ins, then plugins from the entry-point group.

    load_operations() ─► import BUILTINS ─► entry_points("batchgui.operations")
                      ─► {name: OperationSpec}, plus one warning per broken plugin
    find_operation(name) ─► a built-in: its module alone (a plugin can never take
                      a built-in's name, so the others need not be looked at);
                      any other name: load_operations().get(name)

Built-ins are imported by module name (a frozen bundle lists them as hidden
imports) so they never depend on installed package metadata. A plugin that
fails to load is reported and skipped; it never takes the others down.
Nothing is loaded until the first call.
"""

from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass, field

from batchgui.core.operation import OperationSpec, spec_of

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "batchgui.operations"
BUILTINS = {
    "chain": "batchgui.operations.pipeline:chain",
    "checksum": "batchgui.operations.checksum:checksum",
    "exec": "batchgui.operations.command:run_command",
    "image": "batchgui.operations.image:convert_image",
    "text": "batchgui.operations.text:to_markdown",
}


@dataclass
class Registry:
    operations: dict[str, OperationSpec] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> OperationSpec:
        try:
            return self.operations[name]
        except KeyError:
            known = ", ".join(sorted(self.operations))
            raise KeyError(f"unknown operation {name!r} (available: {known})") from None


def _load(target: str) -> OperationSpec:
    module_name, _, attr = target.partition(":")
    return spec_of(getattr(importlib.import_module(module_name), attr))


@functools.cache
def _builtin(name: str) -> OperationSpec:
    return _load(BUILTINS[name])


def find_operation(name: str) -> OperationSpec:
    """The operation called `name` (KeyError naming the known ones if none is).
    `run --exec` needs neither Pillow nor the document readers nor the installed
    packages' metadata, and so starts its first command sooner."""
    if name in BUILTINS:
        return _builtin(name)
    return load_operations().get(name)


@functools.cache
def load_operations() -> Registry:
    registry = Registry()
    for name in BUILTINS:
        registry.operations[name] = _builtin(name)
    from importlib.metadata import entry_points  # here: a built-in needs no metadata

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = spec_of(ep.load())
        except Exception as exc:
            log.exception("plugin %s (%s) failed to load", ep.name, ep.value)
            registry.warnings.append(f"plugin {ep.name} ({ep.value}) failed to load: {exc}")
            continue
        if spec.name in registry.operations:
            registry.warnings.append(
                f"plugin {ep.value} ignored: operation {spec.name!r} already exists"
            )
            continue
        registry.operations[spec.name] = spec
    return registry
