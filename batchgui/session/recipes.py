"""Recipes: a run's whole setup as a TOML file people can keep, edit and share.

    RunSettings ─► recipe_text ─► TOML: `batchgui_recipe = 1`, the operation,
        its [options], mode, workers, retries, time limits, [filters], the
        output folder, on-exists (not the files: a recipe is applied to any)
    TOML file (or a saved NAME in the data folder's recipes/) ─► load_recipe
        ─► RunSettings, every value checked: an unknown operation or option,
           a bad name template, a value of the wrong type ─► RecipeError, one
           line naming the file and the line ("photos.toml:7: ...")

The format is versioned: `batchgui_recipe = 1` is this one; a file without it
(hand-written) is read as version 1; a newer version is refused with a line
saying to upgrade. Recipes saved by name live in `<data>/recipes/NAME.toml`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from batchgui.core.operation import OperationSpec
from batchgui.core.outputs import atomic_write
from batchgui.session.settings import RunSettings

RECIPE_VERSION = 1
CHAIN = "chain"  # operations/pipeline.py
# where a batch runs is not part of what it does (the cluster is given per run)
_NOT_IN_A_RECIPE = ("sources", "stop_after", "on_interrupt", "version", "cluster")
_NAME = re.compile(r"^[\w][\w .-]{0,63}$")


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the line."""


def recipe_data(settings: RunSettings) -> dict[str, Any]:
    data = {k: v for k, v in settings.to_json().items() if k not in _NOT_IN_A_RECIPE}
    data["filters"] = {k: v for k, v in data["filters"].items() if v not in (None, [], ())}
    if settings.operation == CHAIN and isinstance(data["options"].get("steps"), str):
        # a chain's steps as tables people can read: [[steps]] or [[branches.NAME]]
        options = dict(data["options"])
        steps = json.loads(options.pop("steps") or "[]")
        data["options"] = options
        data["branches" if isinstance(steps, dict) else "steps"] = steps
    return {"batchgui_recipe": RECIPE_VERSION, **_without_none(data)}


def recipe_text(settings: RunSettings) -> str:
    return tomli_w.dumps(recipe_data(settings))


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: a setting left unset is simply absent."""
    return {
        key: _without_none(value) if isinstance(value, dict) else value
        for key, value in data.items()
        if value is not None
    }


def recipes_dir(data_dir: Path) -> Path:
    return data_dir / "recipes"


def recipe_path(data_dir: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise RecipeError(
            f"bad recipe name {name!r}: letters, digits, spaces, '.', '-' and '_' (64 at most)"
        )
    return recipes_dir(data_dir) / f"{name}.toml"


def saved_recipes(data_dir: Path) -> list[str]:
    folder = recipes_dir(data_dir)
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def find_recipe(data_dir: Path, name_or_path: str) -> Path:
    """A recipe file by path, or by the name it was saved under."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists():
        return path
    return recipe_path(data_dir, name_or_path)


def load_recipe(path: Path, operations: dict[str, OperationSpec]) -> RunSettings:
    """The RunSettings a recipe file describes; RecipeError ("file:line: what")."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is fine
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read it: {exc}") from None
    return parse_recipe(text, str(path), operations)


def parse_recipe(text: str, path: str, operations: dict[str, OperationSpec]) -> RunSettings:
    """A recipe's text as RunSettings; `path` names it in errors ("file:line: what")."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: not valid TOML: {exc}") from None
    if "steps" in data or "branches" in data:  # a chain, its steps as tables
        chained = data.pop("steps", None) or data.pop("branches", None)
        data.setdefault("operation", CHAIN)
        data.setdefault("options", {})
        if isinstance(data["options"], dict):
            data["options"]["steps"] = json.dumps(chained)
    version = data.get("batchgui_recipe", RECIPE_VERSION)
    if not isinstance(version, int) or version > RECIPE_VERSION:
        raise RecipeError(
            f"{path}:{_line_of(text, 'batchgui_recipe')}: made by a newer batchgui "
            f"(recipe version {version}); upgrade batchgui to use it"
        )
    operation = data.get("operation")
    if not isinstance(operation, str) or operation not in operations:
        known = ", ".join(sorted(operations))
        raise RecipeError(
            f"{path}:{_line_of(text, 'operation')}: unknown operation {operation!r} "
            f"(operations: {known})"
        )
    spec = operations[operation]
    raw_options = data.get("options", {})
    if not isinstance(raw_options, dict):
        raise RecipeError(f"{path}:{_line_of(text, 'options')}: options must be a table")
    try:
        options = spec.resolve_options(raw_options)
    except ValueError as exc:
        key = _culprit(str(exc), raw_options)
        raise RecipeError(f"{path}:{_line_of(text, key, section='options')}: {exc}") from None
    allowed = set(RunSettings(operation=operation).to_json()) - set(_NOT_IN_A_RECIPE)
    unknown = sorted(set(data) - allowed - {"batchgui_recipe"})
    if unknown:
        raise RecipeError(f"{path}:{_line_of(text, unknown[0])}: unknown setting {unknown[0]!r}")
    try:
        settings = RunSettings.from_json({**data, "version": 1, "options": options})
        settings.filters.build()
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{path}: {exc}") from None
    return settings


def save_recipe(path: Path, settings: RunSettings) -> None:
    """Write a recipe file (atomically: a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write(recipe_text(settings).encode("utf-8"))


def _culprit(message: str, options: dict[str, Any]) -> str:
    """The option a resolve_options message is about (the first one it names)."""
    for key in options:
        if re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", message):
            return key
    return next(iter(options), "options")


def _line_of(text: str, key: str, section: str | None = None) -> int:
    """The 1-based line where `key = ...` is set (inside [section] if given); 1 if unknown."""
    current = None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[]").strip()
            if section is None and current == key:
                return number
            continue
        if pattern.match(line) and (section is None or current == section):
            return number
    return 1
