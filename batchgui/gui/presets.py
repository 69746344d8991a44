"""The preset box: recipes (session/recipes.py) in the window.

    the Run panel's Preset row ─► a list of the recipes saved in the data
        folder (the same ones `batchgui recipe list` shows)
    choose one ─► load_recipe on a thread ─► applied(settings): the window
        fills the Run panel and the filters with it
    Save as… / Rename… / Delete / Import… / Export… ─► recipe files written,
        moved or removed on a thread; a bad file is one line in the status bar

The box never runs anything: a preset only fills the controls.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QToolButton,
    QWidget,
)

from batchgui.core.operation import OperationSpec
from batchgui.gui.history_window import Spawn
from batchgui.session import RunSettings
from batchgui.session.recipes import (
    RecipeError,
    load_recipe,
    recipe_path,
    save_recipe,
    saved_recipes,
)

log = logging.getLogger(__name__)

NONE = "(none)"


class PresetBar(QWidget):
    #: a preset was chosen: fill the controls with it
    applied = Signal(object)
    #: one line for the status bar
    message = Signal(str)

    def __init__(
        self,
        data_dir: Path,
        operations: dict[str, OperationSpec],
        spawn: Spawn,
        current: Callable[[], RunSettings],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("presetBar")
        self.data_dir, self.operations, self.spawn, self.current = (
            data_dir, operations, spawn, current,
        )  # fmt: skip
        self.combo = QComboBox(self)
        self.combo.setObjectName("presetCombo")
        self.combo.setAccessibleName("Preset")
        self.combo.setToolTip("A saved setup (recipe): choosing one fills the Run panel")
        self.combo.activated.connect(self._chosen)
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("presetMenuButton")
        self.menu_button.setText("Presets…")
        self.menu_button.setToolTip("Save, rename, delete, import or export presets")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        self.save_action = menu.addAction("Save as…", self.ask_save)
        self.rename_action = menu.addAction("Rename…", self.ask_rename)
        self.delete_action = menu.addAction("Delete", lambda: self.spawn(self.delete()))
        menu.addSeparator()
        menu.addAction("Import…", self.ask_import)
        self.export_action = menu.addAction("Export…", self.ask_export)
        self.menu_button.setMenu(menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.menu_button)
        self.combo.addItem(NONE)
        self._enable()

    def chosen(self) -> str | None:
        text = self.combo.currentText()
        return None if text == NONE else text

    def _enable(self) -> None:
        has = self.chosen() is not None
        for action in (self.rename_action, self.delete_action, self.export_action):
            action.setEnabled(has)

    async def refresh(self, select: str | None = None) -> None:
        names = await asyncio.to_thread(saved_recipes, self.data_dir)
        keep = select if select is not None else self.chosen()
        self.combo.clear()
        self.combo.addItems([NONE, *names])
        if keep in names:
            self.combo.setCurrentText(keep)
        self._enable()

    def _chosen(self, _index: int) -> None:
        self._enable()
        name = self.chosen()
        if name is not None:
            self.spawn(self.apply(name))

    async def apply(self, name: str) -> None:
        try:
            path = recipe_path(self.data_dir, name)
            settings = await asyncio.to_thread(load_recipe, path, self.operations)
        except RecipeError as exc:
            self.message.emit(f"Preset not used: {exc}")
            return
        self.applied.emit(settings)
        self.message.emit(f"Preset {name} applied")

    # --- saving and the rest ---------------------------------------------------------
    def _ask_name(self, title: str, text: str, then: Callable[[str], object]) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setObjectName("presetNameDialog")
        dialog.setWindowTitle(title)
        dialog.setLabelText("Preset name:")
        dialog.setTextValue(text)

        def chosen(value: str) -> None:
            if value.strip():
                then(value.strip())

        dialog.textValueSelected.connect(chosen)
        dialog.open()
        return dialog

    def ask_save(self) -> QInputDialog:
        return self._ask_name(
            "Save preset", self.chosen() or "", lambda name: self.spawn(self.save(name))
        )

    async def save(self, name: str) -> None:
        try:
            settings = self.current()
            path = recipe_path(self.data_dir, name)
            await asyncio.to_thread(save_recipe, path, settings)
        except (ValueError, OSError) as exc:  # RecipeError is a ValueError
            self.message.emit(f"Preset not saved: {exc}")
            return
        await self.refresh(select=name)
        self.message.emit(f"Preset {name} saved")

    def ask_rename(self) -> QInputDialog | None:
        old = self.chosen()
        if old is None:
            return None
        return self._ask_name("Rename preset", old, lambda new: self.spawn(self.rename(old, new)))

    async def rename(self, old: str, new: str) -> None:
        try:
            source, target = recipe_path(self.data_dir, old), recipe_path(self.data_dir, new)
            if target.exists():
                raise RecipeError(f"a preset named {new!r} exists already")
            await asyncio.to_thread(source.rename, target)
        except (RecipeError, OSError) as exc:
            self.message.emit(f"Preset not renamed: {exc}")
            return
        await self.refresh(select=new)
        self.message.emit(f"Preset {old} renamed to {new}")

    async def delete(self) -> None:
        name = self.chosen()
        if name is None:
            return
        try:
            await asyncio.to_thread(recipe_path(self.data_dir, name).unlink)
        except (RecipeError, OSError) as exc:
            self.message.emit(f"Preset not deleted: {exc}")
            return
        await self.refresh(select=NONE)
        self.message.emit(f"Preset {name} deleted")

    def ask_import(self) -> QFileDialog:
        dialog = QFileDialog(self, "Import preset")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Recipe (*.toml)")
        dialog.fileSelected.connect(lambda path: self.spawn(self.import_file(Path(path))))
        dialog.open()
        return dialog

    async def import_file(self, path: Path) -> None:
        """A recipe file, checked, kept under its file's name and applied."""
        try:
            settings = await asyncio.to_thread(load_recipe, path, self.operations)
            target = recipe_path(self.data_dir, path.stem)
            await asyncio.to_thread(save_recipe, target, settings)
        except (RecipeError, OSError) as exc:
            self.message.emit(f"Preset not imported: {exc}")
            return
        await self.refresh(select=path.stem)
        self.applied.emit(settings)
        self.message.emit(f"Preset {path.stem} imported")

    def ask_export(self) -> QFileDialog | None:
        name = self.chosen()
        if name is None:
            return None
        dialog = QFileDialog(self, "Export preset", str(Path.home() / f"{name}.toml"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Recipe (*.toml)")
        dialog.fileSelected.connect(lambda path: self.spawn(self.export(name, Path(path))))
        dialog.open()
        return dialog

    async def export(self, name: str, path: Path) -> None:
        try:
            source = recipe_path(self.data_dir, name)
            await asyncio.to_thread(shutil.copyfile, source, path)
        except (RecipeError, OSError) as exc:
            self.message.emit(f"Preset not exported: {exc}")
            return
        self.message.emit(f"Preset {name} exported to {path}")
