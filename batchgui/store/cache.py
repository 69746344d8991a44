"""The incremental cache in the store: which content a path had, and what an
operation made of a content before (scan/incremental.py's ResultCache).

    first use ─► both tables read once into memory (a read connection)
    known_hash / result ─► answered from memory
    remember_hash / remember_result ─► memory now; rows queued ─► taken by
        Store.save_changes_now (the journal's next flush) ─► `file_hashes`, `results`

Fingerprints are stored as JSON text, outputs as JSON lists of paths. Methods
may be called from any thread (scan workers, the recorder's threads).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from batchgui.store.columns import paths_from, paths_json

Fingerprint = tuple[int, ...]
HashRow = tuple[bytes, str, str]  # path, fingerprint JSON, digest
ResultRow = tuple[str, str, str, str]  # digest, operation key, outputs JSON, data JSON


class StoredResultCache:
    def __init__(self, reading: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._reading = reading
        self._lock = threading.Lock()
        self._hashes: dict[bytes, tuple[str, str]] | None = None
        self._results: dict[tuple[str, str], tuple[str, str]] | None = None
        self._new_hashes: list[HashRow] = []
        self._new_results: list[ResultRow] = []

    def _load(self) -> None:
        if self._hashes is not None:
            return
        with self._reading() as conn:
            hashes = {p: (f, d) for p, f, d in conn.execute("SELECT * FROM file_hashes")}
            results = {(d, k): (o, a) for d, k, o, a in conn.execute("SELECT * FROM results")}
        with self._lock:
            if self._hashes is None:
                self._hashes, self._results = hashes, results

    def known_hash(self, path: Path, fingerprint: Fingerprint) -> str | None:
        self._load()
        assert self._hashes is not None
        known = self._hashes.get(os.fsencode(path))
        return known[1] if known is not None and known[0] == json.dumps(fingerprint) else None

    def remember_hash(self, path: Path, fingerprint: Fingerprint, digest: str) -> None:
        self._load()
        key, value = os.fsencode(path), (json.dumps(fingerprint), digest)
        with self._lock:
            assert self._hashes is not None
            self._hashes[key] = value
            self._new_hashes.append((key, *value))

    def has_results(self, op_key: str) -> bool:
        self._load()
        assert self._results is not None
        return any(key == op_key for _, key in self._results)

    def result(self, digest: str, op_key: str) -> tuple[list[Path], dict[str, Any]] | None:
        self._load()
        assert self._results is not None
        known = self._results.get((digest, op_key))
        return None if known is None else (paths_from(known[0]), json.loads(known[1]))

    def remember_result(
        self, digest: str, op_key: str, outputs: list[Path], data: dict[str, Any]
    ) -> None:
        self._load()
        value = (paths_json(outputs), json.dumps(data, default=str))
        with self._lock:
            assert self._results is not None
            self._results[(digest, op_key)] = value
            self._new_results.append((digest, op_key, *value))

    # --- for the store's flush -------------------------------------------------------
    def pending(self) -> bool:
        """Whether entries wait to be written."""
        with self._lock:
            return bool(self._new_hashes or self._new_results)

    def take_rows(self) -> tuple[list[HashRow], list[ResultRow]]:
        """The rows remembered since the last flush (handed over: give them back
        with `put_back` if writing them fails)."""
        with self._lock:
            hashes, self._new_hashes = self._new_hashes, []
            results, self._new_results = self._new_results, []
        return hashes, results

    def put_back(self, hashes: list[HashRow], results: list[ResultRow]) -> None:
        with self._lock:
            self._new_hashes[:0] = hashes
            self._new_results[:0] = results
