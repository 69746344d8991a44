"""SQLite persistence: batches survive a crash and resume (no Qt here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchgui.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from batchgui.store.db import StoreError
    from batchgui.store.journal import BatchJournal
    from batchgui.store.locks import BatchLock
    from batchgui.store.store import Store

# imported when first used (core/lazy.py)
_HOME = {
    "StoreError": "batchgui.store.db",
    "BatchJournal": "batchgui.store.journal",
    "BatchLock": "batchgui.store.locks",
    "Store": "batchgui.store.store",
}

__all__ = [
    "BatchJournal",
    "BatchLock",
    "Store",
    "StoreError",
]


__getattr__ = lazy_attributes(__name__, _HOME)
