"""The local document registry: one row per source, in SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from ragline.model import DocumentState, DocumentStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    document_id TEXT,
    chunk_count INTEGER NOT NULL,
    page_count INTEGER NOT NULL,
    scanned_pages TEXT NOT NULL,
    reason TEXT,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS documents_by_id ON documents(document_id);
"""


class SqliteRegistry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def get(self, source: str) -> DocumentStatus | None:
        with self._lock:
            row = self._connection.execute("SELECT * FROM documents WHERE source = ?", (source,)).fetchone()
        return _status_from_row(row) if row else None

    def find_by_document_id(self, document_id: str) -> DocumentStatus | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM documents WHERE document_id = ? AND state IN (?, ?) ORDER BY source LIMIT 1",
                (document_id, DocumentState.INDEXED.value, DocumentState.UNCHANGED.value),
            ).fetchone()
        return _status_from_row(row) if row else None

    def sources_of(self, document_id: str) -> list[DocumentStatus]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM documents WHERE document_id = ? ORDER BY source", (document_id,)
            ).fetchall()
        return [_status_from_row(row) for row in rows]

    def record(self, status: DocumentStatus) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    status.source,
                    status.state.value,
                    status.document_id,
                    status.chunk_count,
                    status.page_count,
                    json.dumps(list(status.scanned_pages)),
                    status.reason,
                    status.updated_at,
                ),
            )

    def remove(self, source: str) -> None:
        with self._lock:
            self._connection.execute("DELETE FROM documents WHERE source = ?", (source,))

    def all(self) -> list[DocumentStatus]:
        with self._lock:
            rows = self._connection.execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [_status_from_row(row) for row in rows]


def _status_from_row(row: tuple) -> DocumentStatus:
    source, state, document_id, chunk_count, page_count, scanned, reason, updated_at = row
    return DocumentStatus(
        source=source,
        state=DocumentState(state),
        document_id=document_id,
        chunk_count=chunk_count,
        page_count=page_count,
        scanned_pages=tuple(json.loads(scanned)),
        reason=reason,
        updated_at=updated_at,
    )
