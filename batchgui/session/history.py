"""Past batches: list, forget one, forget the finished ones older than an age.

    CLI `history --prune AGE`, `forget ID`; the window's History dialog and its
    "forget finished batches after N days" setting
        ─► forget_batches(store, data_dir, ids) ─► each batch's lock taken
           (a batch running in another batchgui is refused, one line) ─►
           Store.forget: its row and its tasks deleted
        ─► prunable(entries, age_s, now) ─► finished or cancelled batches that
           ended before now - age; an unfinished batch is never pruned

What batchgui wrote stays recorded as its own (the `made_files` table), so a
later run still knows which existing files it may replace.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from batchgui.core.report import build_report
from batchgui.session.settings import RunSettings
from batchgui.store import BatchLock, Store, StoreError

ENDED = ("finished", "cancelled")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_age(text: str) -> float:
    """'30d', '12h', '2w', '90' (days) -> seconds; ValueError with an example."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"bad age {text!r} (examples: 30d, 12h, 2w; a bare number is days)")
    return float(match.group(1)) * _AGE_UNITS[match.group(2).lower()]


def prunable(
    entries: Iterable[dict[str, Any]], age_s: float, now: float | None = None
) -> list[str]:
    """Ids of the batches that ended (finished or cancelled) more than age_s ago."""
    cutoff = (time.time() if now is None else now) - age_s
    found = []
    for entry in entries:
        ended = entry.get("finished_at") or entry.get("created_at") or 0.0
        if entry.get("status") in ENDED and ended < cutoff:
            found.append(str(entry["batch_id"]))
    return found


def stored_report(store: Store, batch_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored batch's report (schema 1, as `batchgui report` prints it) and the
    settings it was started with. Blocking."""
    batch = store.load_batch(batch_id, recover=False)
    try:
        workers = RunSettings.of_batch(batch).worker_count()
    except ValueError:
        workers = 1  # settings of a newer batchgui: the report still says what happened
    return build_report(batch, workers), dict(batch.settings)


def forget_batches(store: Store, data_dir: Path, batch_ids: list[str]) -> int:
    """Forget these batches; StoreError (one line) if one is running elsewhere or
    unknown. Blocking: off the event loop."""
    known = {entry["batch_id"] for entry in store.history()}
    missing = [b for b in batch_ids if b not in known]
    if missing:
        raise StoreError(f"no batch {missing[0]!r} (see 'batchgui history')")
    for batch_id in batch_ids:
        with BatchLock(data_dir, batch_id):  # refused while another batchgui runs it
            store.forget([batch_id])
    return len(batch_ids)


def prune(store: Store, data_dir: Path, age_s: float) -> list[str]:
    """Forget every finished batch older than age_s; their ids."""
    ids = prunable(store.history(), age_s)
    forget_batches(store, data_dir, ids)
    return ids
