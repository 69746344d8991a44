"""SQLite persistence: batches survive a crash and resume (no Qt here)."""

from batchgui.store.db import StoreError
from batchgui.store.journal import BatchJournal
from batchgui.store.locks import BatchLock
from batchgui.store.store import Store

__all__ = ["BatchJournal", "BatchLock", "Store", "StoreError"]
