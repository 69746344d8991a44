"""ZIP archives of documents: each member this operation can read, converted in
turn into one Markdown file, a heading per member.

    check_zip (declared sizes, ratio, count: as for Office files) ─► members in
    name order ─► each extracted to a temporary file named by a counter (a
    member's name never becomes a path) ─► sniffed and converted like a file
    ─► "## member/name" + its Markdown; members nothing reads are listed as
    skipped; archives inside archives are not opened.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from batchgui.core.errors import ErrorKind, PermanentError
from batchgui.core.operation import TaskContext
from batchgui.operations import limits
from batchgui.operations.text.markdown import Assets

MAX_MEMBERS_CONVERTED = 500


def archive(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    from batchgui.operations.text import convert_file, kind_of

    limits.check_zip(src)
    parts = [f"# {src.name}"]
    skipped = []
    with zipfile.ZipFile(src) as zipped, tempfile.TemporaryDirectory(prefix="batchgui-zip-") as tmp:
        members = sorted((m for m in zipped.infolist() if not m.is_dir()), key=lambda m: m.filename)
        for number, member in enumerate(members[:MAX_MEMBERS_CONVERTED], 1):
            label = member.filename
            suffix = PurePosixPath(label).suffix.lower()[:16]
            if suffix == ".zip" or member.flag_bits & 0x1:  # nested, or encrypted
                skipped.append(label)
                continue
            target = Path(tmp) / f"member-{number}{suffix}"
            with zipped.open(member) as source, open(target, "wb") as handle:
                shutil.copyfileobj(source, handle, 1 << 20)
            try:
                kind = kind_of(target)
                markdown = convert_file(target, kind, ctx, assets, options)
            except PermanentError as exc:
                if exc.kind is ErrorKind.UNSUPPORTED:
                    skipped.append(label)
                    continue
                markdown = f"*(not converted: {str(exc).replace(target.name, label)})*\n"
            finally:
                os.unlink(target)
            parts.append(f"## {label}\n\n{markdown.strip()}")
            ctx.progress(number / len(members))
            if ctx.cancelled:
                raise InterruptedError("cancelled")
        skipped.extend(m.filename for m in members[MAX_MEMBERS_CONVERTED:])
    if skipped:
        listed = "\n".join(f"- {name}" for name in skipped[:50])
        parts.append(f"## Not converted\n\n{listed}")
    return "\n\n".join(parts) + "\n"
