"""The preview panel: what was dropped, what will be processed, and why not the rest.

    paths added (drop, buttons, command line) ─► MainWindow scans them with
    stream_scan (a worker thread) ─► add_entries(chunk) as chunks arrive
    ─► PreviewModel rows + counts; duplicates marked when detection ends

Filter controls emit `filters_changed`; the window rescans. Nothing here
touches the file system.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from batchgui.gui.names import shown, shown_line
from batchgui.scan.filters import Filters, compile_name, parse_size
from batchgui.scan.walk import Entry
from batchgui.session import FilterSettings, units

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("File", "Folder", "Size", "Included")
_TYPING_PAUSE_MS = 300  # filters apply once typing pauses this long
_INVALID_STYLE = "QLineEdit { border: 2px solid #c62828; }"  # a field that does not parse
_FILTER_HELP = (  # (accessible name, tooltip) of each filter field
    ("Extensions", "Only files with these extensions, e.g. .pdf, .docx (empty: all)"),
    ("Exclude patterns", "Leave out paths matching these patterns, as in .gitignore"),
    ("Exclude regular expression", "Leave out paths matching this regular expression"),
    ("Name pattern", "Only files whose name matches this regular expression"),
    ("Maximum size", "Leave out files larger than this, e.g. 20M or 2G"),
)


class PreviewModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []
        self.duplicate_of: dict[Path, Path] = {}
        self.output_reasons: dict[Path, tuple[str, str]] = {}  # exists / name clash
        self._sort: tuple[int, Qt.SortOrder] | None = None  # None: scan order
        self._reset_counts()

    def _reset_counts(self) -> None:
        # kept as entries arrive: recounting 100,000 rows per chunk would freeze
        self._included = 0
        self._included_bytes = 0
        self._left_out: Counter = Counter()

    def _count(self, entries: Iterable[Entry]) -> None:
        included, size, left_out = count_entries(entries, self.duplicate_of)
        self._included += included
        self._included_bytes += size
        self._left_out += left_out

    def clear(self) -> None:
        self.beginResetModel()
        self.entries, self.duplicate_of, self.output_reasons = [], {}, {}
        self._reset_counts()
        self.endResetModel()

    def add(self, entries: list[Entry]) -> None:
        if not entries:
            return
        first = len(self.entries)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self.entries.extend(entries)
        self.endInsertRows()
        self._count(entries)

    def mark_duplicates(
        self, duplicate_of: dict[Path, Path], counts: tuple[int, int, Counter]
    ) -> None:
        """Duplicates found, with the counts they give (worked out off this thread)."""
        self.duplicate_of = duplicate_of
        self._included, self._included_bytes, self._left_out = counts
        if self.entries:
            self.dataChanged.emit(self.index(0, 3), self.index(len(self.entries) - 1, 3))

    def replace_entries(self, entries: list[Entry]) -> None:
        """The same files, some with a new reason (`unsupported`): rows keep their places."""
        if len(entries) != len(self.entries):
            self.beginResetModel()
            self.entries = self._sorted(list(entries))
            self.endResetModel()
            return
        self.entries = self._sorted(list(entries))
        if self.entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.entries) - 1, 3))

    def mark_outputs(
        self, left_out: dict[Path, tuple[str, str]], counts: tuple[int, int, Counter]
    ) -> None:
        """Files the operation's outputs leave out (`exists`, `name clash`)."""
        self.output_reasons = left_out
        self._included, self._included_bytes, self._left_out = counts
        if self.entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.entries) - 1, 3))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (-1: back to scan order, which the next scan restores)."""
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order) if column >= 0 else None
        self.entries = self._sorted(self.entries)
        self.layoutChanged.emit()

    def _sorted(self, entries: list[Entry]) -> list[Entry]:
        if self._sort is None:
            return entries
        column, order = self._sort
        keys = {
            0: lambda e: os.fsdecode(e.path.name).lower(),
            1: lambda e: os.fsdecode(e.path.parent).lower(),
            2: lambda e: e.size,
            3: lambda e: self.reason(e) or "",
        }
        return sorted(entries, key=keys[column], reverse=order == Qt.SortOrder.DescendingOrder)

    def reason(self, entry: Entry) -> str | None:
        if entry.reason is None and entry.path in self.duplicate_of:
            return "duplicate"
        if entry.reason is None and entry.path in self.output_reasons:
            return self.output_reasons[entry.path][0]
        return entry.reason

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = index.column()
        reason = self.reason(entry)
        if role == Qt.ItemDataRole.DisplayRole:
            return shown_line(self._display(entry, column, reason))
        if role == Qt.ItemDataRole.ForegroundRole and reason is not None:
            return QBrush(QColor(128, 128, 128))
        if role == Qt.ItemDataRole.ToolTipRole:
            why = self.output_reasons.get(entry.path)
            tip = os.fsdecode(entry.path) + (f"\n{why[1]}" if why and why[1] else "")
            if entry.reason is not None and entry.detail:
                tip += f"\n{entry.reason}: {entry.detail}"
            if reason == "duplicate":
                tip += f"\nsame content as {os.fsdecode(self.duplicate_of[entry.path])}"
            return shown(tip)
        return None

    def _display(self, entry: Entry, column: int, reason: str | None) -> str:
        if column == 0:
            return os.fsdecode(entry.path.name) + ("/" if entry.is_dir else "")
        if column == 1:
            return os.fsdecode(entry.path.parent)
        if column == 2:
            return "" if entry.is_dir else units.size(entry.size)
        if reason is None:
            return "yes"
        if reason == "duplicate":
            original = self.duplicate_of[entry.path]
            name = os.fsdecode(original.name)
            if original.parent == entry.path.parent:
                return f"duplicate of {name}"
            return f"duplicate of {name} in {os.fsdecode(original.parent)}"
        # a long why (the extensions an operation takes) is cut here, whole in the tooltip
        return f"no: {reason}" + (f" ({_cut(entry.detail)})" if entry.detail else "")

    def counts(self) -> tuple[int, int, Counter]:
        return self._included, self._included_bytes, self._left_out


def count_entries(
    entries: Iterable[Entry],
    duplicate_of: dict[Path, Path],
    output_reasons: dict[Path, tuple[str, str]] | None = None,
) -> tuple[int, int, Counter]:
    """(files to process, their bytes, left out by reason)."""
    included = size = 0
    left_out: Counter = Counter()
    output_reasons = output_reasons or {}
    for entry in entries:
        reason = entry.reason
        if reason is None and entry.path in duplicate_of:
            reason = "duplicate"
        if reason is None and entry.path in output_reasons:
            reason = output_reasons[entry.path][0]
        if reason is None:
            if not entry.is_dir:
                included += 1
                size += entry.size
        else:
            left_out[reason] += 1
    return included, size, left_out


class PreviewPanel(QGroupBox):
    #: the user added files or folders (list of str paths)
    paths_added = Signal(list)
    #: a filter control changed
    filters_changed = Signal()
    #: the user asked to forget the added paths
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Files", parent)
        self._help: dict[QLineEdit, str] = {}  # each filter field's tooltip when it parses
        self.setObjectName("previewPanel")
        self.model = PreviewModel(self)

        self.drop_zone = QLabel("Drop files or folders here", self)
        self.drop_zone.setObjectName("dropZone")
        self.drop_zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_zone.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_zone.setMinimumHeight(44)
        self.drop_zone.setStyleSheet(
            "QLabel#dropZone { border: 2px dashed palette(mid); border-radius: 6px; padding: 6px; }"
        )
        add_files = QPushButton("Add files…", self)
        add_files.setObjectName("addFilesButton")
        add_files.clicked.connect(self.choose_files)
        add_files.setToolTip("Choose files to process (or drop them on the window)")
        add_folder = QPushButton("Add folder…", self)
        add_folder.setObjectName("addFolderButton")
        add_folder.clicked.connect(self.choose_folder)
        add_folder.setToolTip("Choose a folder: every file in it and its subfolders")
        clear = QPushButton("Clear", self)
        clear.setObjectName("clearButton")
        clear.clicked.connect(self.cleared)
        clear.setToolTip("Forget the files and folders added so far")

        self.ext_edit = QLineEdit(self)
        self.ext_edit.setObjectName("extEdit")
        self.ext_edit.setPlaceholderText(".pdf, .docx (all)")
        self.exclude_edit = QLineEdit(self)
        self.exclude_edit.setObjectName("excludeEdit")
        self.exclude_edit.setPlaceholderText("node_modules/, *.tmp")
        self.exclude_regex_edit = QLineEdit(self)
        self.exclude_regex_edit.setObjectName("excludeRegexEdit")
        self.exclude_regex_edit.setPlaceholderText("regex, e.g. (^|/)build/")
        self.exclude_regex_edit.setAccessibleName("Exclude paths matching a regular expression")
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setPlaceholderText("name regex")
        self.max_size_edit = QLineEdit(self)
        self.max_size_edit.setObjectName("maxSizeEdit")
        self.max_size_edit.setPlaceholderText("max size, e.g. 2G")
        self.hidden_check = QCheckBox("Hidden files", self)
        self.hidden_check.setObjectName("hiddenCheck")
        self.hidden_check.setToolTip("Include hidden files and folders (names starting with a dot)")
        for edit, (name, tip) in zip(self._filter_edits(), _FILTER_HELP, strict=True):
            edit.setAccessibleName(name)
            edit.setToolTip(tip)
            self._help[edit] = tip
        # filters apply as you type, once typing pauses; a field that does not
        # parse is marked with its error and the table keeps its last good state
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(_TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._apply_filters)
        self._applied: FilterSettings | None = None
        for edit in self._filter_edits():
            edit.textEdited.connect(self._typing.start)
            edit.editingFinished.connect(self._apply_filters)
        self.hidden_check.toggled.connect(self._apply_filters)

        self.table = QTableView(self)
        self.table.setObjectName("previewTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAccessibleName("Files found")
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a path's end matters
        self.table.setWordWrap(False)  # else Qt wraps at "/" and cuts the end off
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # scan order until a header is clicked
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 200)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.counts_label = QLabel("No files yet", self)
        self.counts_label.setObjectName("previewCounts")
        self.counts_label.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(add_files)
        buttons.addWidget(add_folder)
        buttons.addWidget(clear)
        buttons.addStretch(1)
        # two rows, so the panel fits a narrow window (1024 px and less)
        filters = QGridLayout()
        for place, (label, widget) in enumerate(
            (
                ("&Extensions", self.ext_edit),
                ("E&xclude", self.exclude_edit),
                ("or rege&x", self.exclude_regex_edit),
                ("&Name", self.name_edit),
                ("Max si&ze", self.max_size_edit),
            )
        ):
            row, column = divmod(place, 3)
            text = QLabel(label, self)
            text.setBuddy(widget)
            filters.addWidget(text, row, column * 2)
            filters.addWidget(widget, row, column * 2 + 1)
            filters.setColumnStretch(column * 2 + 1, 1)
        filters.addWidget(self.hidden_check, 1, 4, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_zone)
        layout.addLayout(buttons)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.counts_label)

    # --- the user's input ---------------------------------------------------------
    def choose_files(self) -> None:
        dialog = QFileDialog(self, "Add files")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.paths_added.emit(list(files)))
        dialog.open()  # never exec(): the event loop keeps running

    def choose_folder(self) -> None:
        dialog = QFileDialog(self, "Add folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda folder: self.paths_added.emit([folder]))
        dialog.open()

    def _filter_edits(self) -> tuple[QLineEdit, ...]:
        return (
            self.ext_edit,
            self.exclude_edit,
            self.exclude_regex_edit,
            self.name_edit,
            self.max_size_edit,
        )

    def filter_texts(self) -> dict[str, Any]:
        """The filter fields as typed (remembered across restarts)."""
        texts: dict[str, Any] = {edit.objectName(): edit.text() for edit in self._filter_edits()}
        texts["hidden"] = self.hidden_check.isChecked()
        return texts

    def set_filter_texts(self, texts: dict[str, Any]) -> None:
        for edit in self._filter_edits():
            value = texts.get(edit.objectName())
            if isinstance(value, str):
                edit.setText(value)
        with QSignalBlocker(self.hidden_check):
            self.hidden_check.setChecked(bool(texts.get("hidden", False)))
        self._apply_filters()

    def show_filters(self, settings: FilterSettings) -> None:
        """Fill the fields with a batch's own filters (a resumed batch)."""
        self.set_filter_texts(
            {
                "extEdit": ", ".join(settings.extensions),
                "excludeEdit": ", ".join(settings.exclude),
                "excludeRegexEdit": settings.exclude_regex[0] if settings.exclude_regex else "",
                "nameEdit": settings.name or "",
                "maxSizeEdit": "" if settings.max_size is None else str(settings.max_size),
                "hidden": settings.hidden,
            }
        )

    def _field_errors(self) -> dict[QLineEdit, str]:
        """Each filter field that does not parse, with why (one line)."""
        errors: dict[QLineEdit, str] = {}
        checks = (
            (self.name_edit, lambda text: compile_name(text)),
            (self.exclude_regex_edit, lambda text: compile_name(text, "exclude regex")),
            (self.max_size_edit, parse_size),
        )
        for edit, check in checks:
            text = edit.text().strip()
            if text:
                try:
                    check(text)
                except ValueError as exc:
                    errors[edit] = str(exc)
        if not errors:
            try:
                self.filters()
            except ValueError as exc:  # what only the whole set says (exclude patterns)
                errors[self.exclude_edit] = str(exc)
        return errors

    def _apply_filters(self) -> None:
        self._typing.stop()
        errors = self._field_errors()
        for edit in self._filter_edits():
            problem = errors.get(edit)
            edit.setStyleSheet(_INVALID_STYLE if problem else "")
            edit.setToolTip(problem or self._help.get(edit, ""))
        if errors:
            self.counts_label.setText(next(iter(errors.values())))
            return  # the table keeps what the last good filters found
        settings = self.filter_settings()
        if settings != self._applied:
            self._applied = settings
            self.filters_changed.emit()

    def filter_settings(self) -> FilterSettings:
        """The filters the controls describe, as plain values (saved with a batch)."""
        exts = tuple(e for e in self.ext_edit.text().replace(" ", ",").split(",") if e)
        exclude = tuple(p.strip() for p in self.exclude_edit.text().split(",") if p.strip())
        name = self.name_edit.text().strip()
        size = self.max_size_edit.text().strip()
        regex = self.exclude_regex_edit.text().strip()
        return FilterSettings(
            extensions=exts,
            exclude=exclude,
            exclude_regex=(regex,) if regex else (),
            name=name or None,
            max_size=parse_size(size) if size else None,
            hidden=self.hidden_check.isChecked(),
        )

    def filters(self) -> Filters:
        """The scan's filters; ValueError with a one-line message."""
        return self.filter_settings().build()

    # --- what the scan found --------------------------------------------------------
    def start_scan(self) -> None:
        self.model.clear()
        self.counts_label.setText("Scanning…")

    def add_entries(self, entries: Iterable[Entry]) -> None:
        self.model.add(list(entries))
        self.update_counts(scanning=True)

    def update_counts(self, scanning: bool = False, note: str = "") -> None:
        included, size, left_out = self.model.counts()
        files = "file" if included == 1 else "files"
        parts = [f"{included} {files} to process ({units.size(size)})"]
        left_out = Counter(left_out)
        duplicates = left_out.pop("duplicate", 0)
        if left_out:
            reasons = ", ".join(f"{n} {reason}" for reason, n in left_out.most_common())
            parts.append(f"left out: {reasons}")
        if duplicates:  # not left out: done once, and given copies of the results
            parts.append(f"{units.plural(duplicates, 'duplicate')}, done once and copied")
        if scanning:
            parts.append("scanning…")
        if note:
            parts.append(note)
        self.counts_label.setText(" · ".join(parts))


def _cut(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip(" ,") + "…"
