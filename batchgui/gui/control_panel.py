"""The control panel: which operation, its options, how to run it, and the buttons.

The options form is generated from the operation's declared `Option`s (the
same declaration `--set` parses), so a plugin's options appear without GUI
code. The panel only describes the choice; the window acts on its signals.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from batchgui.core.naming import naming_for
from batchgui.core.operation import MODE_CHOICES, NAME_OPTION, OperationSpec, Option
from batchgui.gui.run_on import RunOnRow
from batchgui.gui.steps_editor import StepsEditor
from batchgui.session import RunSettings, units


class ControlPanel(QGroupBox):
    #: the worker limit changed (takes effect at once)
    workers_changed = Signal(int)
    #: another operation's options are shown (the panel's height changed)
    options_rebuilt = Signal()

    def __init__(
        self, operations: dict[str, OperationSpec], workers: int, parent: QWidget | None = None
    ) -> None:
        super().__init__("Run", parent)
        self.setObjectName("controlPanel")
        self._operations = operations
        self._option_widgets: dict[str, QWidget] = {}
        # each operation's options as last set, kept while another one is shown
        # and across restarts (the window saves remembered_options())
        self._remembered: dict[str, dict[str, Any]] = {}
        self._shown_operation: str | None = None
        self.name_example: QLabel | None = None  # under the output name, when there is one
        self.preset_bar: QWidget | None = None
        self._example_file: tuple[Path, Path | None] | None = None

        self.op_combo = QComboBox(self)
        self.op_combo.setObjectName("opCombo")
        for name, spec in sorted(operations.items()):
            self.op_combo.addItem(spec.title or name, name)
        self.op_combo.currentIndexChanged.connect(self._rebuild_options)
        self.op_combo.setToolTip("What to do with each file")
        self.op_combo.setAccessibleName("Operation")
        self.options_box = QWidget(self)
        self.options_box.setObjectName("optionsForm")
        self.options_form = QFormLayout(self.options_box)
        self.options_form.setContentsMargins(0, 0, 0, 0)

        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("modeCombo")
        self.mode_combo.addItems(MODE_CHOICES)
        self.mode_combo.setAccessibleName("Mode")
        self.mode_combo.setToolTip(
            "How work runs: auto picks per operation; thread and async share this "
            "process; process isolates each worker (a crash or a memory hog stays there)"
        )
        self.run_on = RunOnRow(self)
        self.run_on.changed.connect(self._run_on_changed)
        self.workers_spin = QSpinBox(self)
        self.workers_spin.setObjectName("workersSpin")
        self.workers_spin.setRange(1, 256)
        self.workers_spin.setValue(workers)
        self.workers_spin.valueChanged.connect(self.workers_changed)
        self.workers_spin.setAccessibleName("Workers")
        self.workers_spin.setToolTip("How many files are processed at once (changes apply at once)")
        self.output_edit = QLineEdit(self)
        self.output_edit.setObjectName("outputEdit")
        self.output_edit.setPlaceholderText("beside the first folder added")
        self.output_edit.setAccessibleName("Output folder")
        self.output_edit.setToolTip(
            "Where the outputs go (empty: a folder named after the first one added, beside it)"
        )
        browse = QPushButton("Browse…", self)
        browse.setObjectName("browseButton")
        browse.clicked.connect(self._browse)
        browse.setToolTip("Choose the output folder")
        self.browse_button = browse
        self.on_exists_combo = QComboBox(self)
        self.on_exists_combo.setObjectName("onExistsCombo")
        self.on_exists_combo.setAccessibleName("If an output file exists")
        for value, label in _ON_EXISTS_LABELS.items():
            self.on_exists_combo.addItem(label, value)
        self.on_exists_combo.setToolTip(
            "What happens when a file batchgui did not make is where an output would go"
        )

        self.start_button = self._button("Start", "startButton")
        self.start_button.setToolTip("Process every file the preview includes (F5)")
        self.pause_button = self._button("Pause", "pauseButton")
        self.pause_button.setToolTip(
            "Pause now: running commands and worker processes are frozen where they are"
        )
        self.drain_button = self._button("Finish, then pause", "drainButton")
        self.drain_button.setToolTip("Let running tasks finish, start no new ones")
        self.resume_button = self._button("Resume", "resumeButton")
        self.resume_button.setToolTip("Carry on where the batch paused (F7)")
        self.cancel_button = self._button("Cancel all", "cancelAllButton")
        self.cancel_button.setToolTip("Stop running work and cancel every unfinished task")
        self.retry_button = self._button("Retry failed", "retryFailedButton")
        self.retry_button.setToolTip("Run the failed tasks again (cancelled ones stay cancelled)")
        self.open_output_button = self._button("Open output folder", "openOutputButton")
        self.open_output_button.setToolTip("Open the folder the outputs go to")

        form = self.form = QFormLayout()
        form.addRow("&Operation", self.op_combo)
        form.addRow(self.options_box)
        # where and how in one row: on a cluster, the mode is the cluster's
        where_row = QHBoxLayout()
        where_row.addWidget(self.mode_combo)
        where_row.addWidget(self.run_on, 1)
        mode_label = QLabel("&Mode", self)
        mode_label.setBuddy(self.mode_combo)
        form.addRow(mode_label, where_row)
        form.addRow("", self.run_on.status)
        form.addRow("&Workers", self.workers_spin)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        output_label = QLabel("O&utput", self)
        output_label.setBuddy(self.output_edit)
        form.addRow(output_label, out_row)
        form.addRow("If a file e&xists", self.on_exists_combo)
        self.keep_watching = QCheckBox("&Keep watching the folders", self)
        self.keep_watching.setObjectName("keepWatchingCheck")
        self.keep_watching.setToolTip(
            "After the batch, files that arrive or change in its folders run as further "
            "batches, once they have stopped changing for 2 s; untick to stop"
        )
        form.addRow("", self.keep_watching)
        # two rows of three, so the panel stays narrow (a 1024 px window)
        buttons = QGridLayout()
        for place, button in enumerate(self._buttons()):
            buttons.addWidget(button, *divmod(place, 3))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self._rebuild_options()
        self.set_running(False, paused=False, has_failed=False)

    def set_preset_bar(self, bar: QWidget) -> None:
        """The preset box (gui/presets.py), first in the panel."""
        self.preset_bar = bar
        label = QLabel("Pre&set", self)
        label.setBuddy(bar.findChild(QComboBox, "presetCombo") or bar)
        self.form.insertRow(0, label, bar)
        self._tab_order()

    def _buttons(self) -> tuple[QPushButton, ...]:
        return (
            self.start_button,
            self.pause_button,
            self.drain_button,
            self.resume_button,
            self.cancel_button,
            self.retry_button,
            self.open_output_button,
        )

    def _tab_order(self) -> None:
        """Tab in the order things are seen: the options (made after the rest) come
        right after the operation, not after the last button."""
        presets: list[QWidget] = []
        if self.preset_bar is not None:
            names = ("presetCombo", "presetMenuButton")
            presets = [w for n in names if (w := self.preset_bar.findChild(QWidget, n))]
        chain: list[QWidget] = [*presets, self.op_combo, *self._option_widgets.values(),
                                self.mode_combo, self.run_on.where, self.run_on.address,
                                self.run_on.test_button, self.workers_spin, self.output_edit,
                                self.browse_button, self.on_exists_combo,
                                *self._buttons()]  # fmt: skip
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _button(self, text: str, name: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        return button

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Output folder", self.output_edit.text())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.fileSelected.connect(self.output_edit.setText)
        dialog.open()

    # --- the operation and its options -------------------------------------------------
    def operation(self) -> OperationSpec:
        return self._operations[self.op_combo.currentData()]

    def select_operation(self, name: str) -> None:
        index = self.op_combo.findData(name)
        if index >= 0:
            self.op_combo.setCurrentIndex(index)

    def _rebuild_options(self) -> None:
        if self._shown_operation is not None:
            self._remembered[self._shown_operation] = self.raw_options()
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self._option_widgets.clear()
        spec = self.operation()
        self.name_example = None
        for option in spec.options:
            widget = _editor_for(option, self.options_box)
            widget.setObjectName(f"option_{option.name}")
            widget.setToolTip(option.help)
            label = _LABELS.get(option.name, units.words(option.name))
            widget.setAccessibleName(label)
            self._option_widgets[option.name] = widget
            self.options_form.addRow(label, widget)
            if option.name == NAME_OPTION and isinstance(widget, QLineEdit):
                # the template's result for the first file, as it is typed
                self.name_example = QLabel(self.options_box)
                self.name_example.setObjectName("nameExample")
                self.name_example.setWordWrap(True)
                self.options_form.addRow("", self.name_example)
                widget.textChanged.connect(self._show_name_example)
        for widget in self._option_widgets.values():
            if isinstance(widget, QComboBox):  # e.g. a format changes the extension
                widget.currentIndexChanged.connect(self._show_name_example)
        self._shown_operation = spec.name
        self.set_raw_options(self._remembered.get(spec.name, {}))
        self._tab_order()
        self._show_name_example()
        self.options_rebuilt.emit()

    def set_example_file(self, path: Path | None, root: Path | None) -> None:
        """The first file the preview includes: the output name example is made from it."""
        self._example_file = (path, root) if path is not None else None
        self._show_name_example()

    def _show_name_example(self) -> None:
        label = self.name_example
        if label is None:
            return
        if self._example_file is None:
            label.setText("Add files to see an example")
            return
        path, root = self._example_file
        label.setText(example_name(self.operation(), self.raw_options(), path, root))

    def set_raw_options(self, values: dict[str, Any]) -> None:
        """Show these option values (unknown names and values that do not fit are
        left at the form's default)."""
        for name, value in values.items():
            widget = self._option_widgets.get(name)
            try:
                if isinstance(widget, StepsEditor):
                    widget.set_steps_json(str(value))
                elif isinstance(widget, QCheckBox):
                    widget.setChecked(bool(value))
                elif isinstance(widget, QComboBox):
                    index = widget.findText(str(value))
                    if index >= 0:
                        widget.setCurrentIndex(index)
                elif isinstance(widget, QSpinBox):
                    widget.setValue(int(value))
                elif isinstance(widget, QDoubleSpinBox):
                    widget.setValue(float(value))
                elif isinstance(widget, QLineEdit):
                    widget.setText("" if value is None else str(value))
            except (TypeError, ValueError):
                continue  # a remembered value of another version: the default stays

    def remembered_options(self) -> dict[str, dict[str, Any]]:
        """Every operation's options as last set (the shown one as it is now)."""
        remembered = dict(self._remembered)
        if self._shown_operation is not None:
            remembered[self._shown_operation] = self.raw_options()
        return remembered

    def remember_options(self, remembered: dict[str, dict[str, Any]]) -> None:
        """Options saved by an earlier session; the shown operation takes its own."""
        self._remembered = {k: dict(v) for k, v in remembered.items() if isinstance(v, dict)}
        if self._shown_operation in self._remembered:
            self.set_raw_options(self._remembered[self._shown_operation])

    def show_settings(self, settings: RunSettings) -> None:
        """Fill the panel with a batch's own settings (a resumed batch)."""
        self.select_operation(settings.operation)
        self.set_raw_options(settings.options)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findText(settings.mode)))
        if settings.workers:
            self.workers_spin.setValue(settings.workers)
        self.run_on.show_cluster(settings.cluster)
        self.output_edit.setText(settings.out)
        self.select_on_exists(settings.on_exists)

    def raw_options(self) -> dict[str, Any]:
        """Option values as the form holds them (the spec parses and checks them)."""
        values: dict[str, Any] = {}
        for name, widget in self._option_widgets.items():
            if isinstance(widget, StepsEditor):
                values[name] = widget.steps_json()
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                values[name] = widget.currentText()
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                values[name] = widget.value()
            else:
                text = widget.text()  # type: ignore[attr-defined]
                if text != "":
                    values[name] = text
        return values

    def mode(self) -> str:
        return self.mode_combo.currentText()

    def _run_on_changed(self) -> None:
        # on a cluster every operation runs in the cluster's worker processes
        self.mode_combo.setVisible(not self.run_on.on_cluster())
        self.options_rebuilt.emit()  # the panel's height changed

    def on_exists(self) -> str:
        return str(self.on_exists_combo.currentData())

    def select_on_exists(self, value: str) -> None:
        self.on_exists_combo.setCurrentIndex(max(0, self.on_exists_combo.findData(value)))

    def output_folder(self) -> Path | None:
        text = self.output_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_running(self, running: bool, *, paused: bool, has_failed: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not paused)
        self.drain_button.setEnabled(running and not paused)
        self.resume_button.setEnabled(running and paused)
        self.cancel_button.setEnabled(running)
        self.retry_button.setEnabled(has_failed)
        for widget in (
            self.op_combo,
            self.options_box,
            self.mode_combo,
            self.run_on,
            self.output_edit,
            self.on_exists_combo,
        ):
            widget.setEnabled(not running)
        if self.preset_bar is not None:  # a preset fills controls that cannot change now
            self.preset_bar.setEnabled(not running)


_LABELS = {NAME_OPTION: "Output name"}  # "Name" alone is the preview's filter


def example_name(spec: OperationSpec, raw: dict[str, Any], src: Path, root: Path | None) -> str:
    """ "IMG_1092.jpg → IMG_1092.webp", or why the template cannot work. Reads no
    file: {hash8} is shown as ########, {date} as the file's date is not known."""
    template = str(raw.get(NAME_OPTION) or "")
    shown = dict(raw)
    shown[NAME_OPTION] = template.replace("{hash8}", "########").replace("{date}", "YYYY-MM-DD")
    try:
        options = spec.resolve_options(shown)
        if spec.planned_outputs is None:
            return ""
        with naming_for(root, 1):
            planned = spec.planned_outputs(src, Path(), options)
    except ValueError as exc:  # a bad template, or a name no file can have
        return f"Cannot name outputs: {exc}"
    if not planned:
        return ""
    return f"e.g. {src.name} → {planned[0].name}"


_ON_EXISTS_LABELS = {
    "skip": "Keep it, skip the file",
    "rename": "Keep it, write the output under a new name",
    "overwrite": "Overwrite it",
    "fail": "Keep it, fail the file",
}


def _editor_for(option: Option, parent: QWidget) -> QWidget:
    if option.name == "steps":  # the chain's steps: a list, not a line of JSON
        return StepsEditor(parent)
    if option.choices:
        combo = QComboBox(parent)
        combo.addItems([str(c) for c in option.choices])
        if option.default is not None:
            combo.setCurrentText(str(option.default))
        return combo
    if option.type is bool:
        check = QCheckBox(parent)
        check.setChecked(bool(option.default))
        return check
    if option.type is int:
        spin = QSpinBox(parent)
        spin.setRange(-1_000_000_000, 1_000_000_000)
        spin.setValue(int(option.default or 0))
        return spin
    if option.type is float:
        dspin = QDoubleSpinBox(parent)
        dspin.setRange(-1e9, 1e9)
        dspin.setDecimals(3)
        dspin.setValue(float(option.default or 0))
        return dspin
    edit = QLineEdit(parent)
    edit.setText("" if option.default is None else str(option.default))
    edit.setPlaceholderText(option.help)
    return edit
