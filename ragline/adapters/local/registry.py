"""The local document registry: one row per source, in SQLite.

The rows live in the index's database file (`bootstrap` opens both on `index.sqlite3`), so
that a document's chunks and its row are written by one transaction (`SqliteIndex.apply`):
a crash can leave neither chunks without a row nor a row without its chunks. A registry
kept in a file of its own by earlier versions (`registry.sqlite3`) is copied in on first
open and renamed `registry.sqlite3.migrated`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path

from ragline.adapters.local.store import connect
from ragline.model import DocumentCard, DocumentState, DocumentStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    document_id TEXT,
    chunk_count INTEGER NOT NULL,
    page_count INTEGER NOT NULL,
    scanned_pages TEXT NOT NULL,
    reason TEXT,
    updated_at TEXT,
    card TEXT  -- the document card as JSON (ragline.cards), NULL for rows written before cards
);
CREATE INDEX IF NOT EXISTS documents_by_id ON documents(document_id);
"""
#: The columns of a registry written before cards: what a legacy file holds, in its order.
_LEGACY_COLUMNS = "source, state, document_id, chunk_count, page_count, scanned_pages, reason, updated_at"

log = logging.getLogger(__name__)


class SqliteRegistry:
    def __init__(self, path: Path, *, legacy: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = connect(path)
        self._connection.executescript(SCHEMA)
        add_missing_columns(self._connection)
        if legacy is not None and legacy.exists() and legacy.resolve() != path.resolve():
            self._migrate(legacy)

    def _migrate(self, legacy: Path) -> None:
        """Copy the rows of a registry file of its own (earlier versions) into this database, once."""
        self._connection.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
        try:
            # The columns both files have: a file from before cards has no card column, a newer one keeps its cards.
            theirs = {row[1] for row in self._connection.execute("PRAGMA legacy.table_info(documents)")}
            columns = ", ".join(column for column in _COLUMNS.split(", ") if column in theirs)
            self._connection.execute(
                f"INSERT OR IGNORE INTO documents ({columns}) SELECT {columns} FROM legacy.documents"
            )
        finally:
            self._connection.execute("DETACH DATABASE legacy")
        try:
            os.replace(legacy, legacy.with_name(legacy.name + ".migrated"))
        except FileNotFoundError:  # another process migrated it at the same time
            return
        log.warning("moved the registry rows of %s into %s", legacy, self.path)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def get(self, source: str) -> DocumentStatus | None:
        with self._lock:
            row = self._connection.execute(f"SELECT {_COLUMNS} FROM documents WHERE source = ?", (source,)).fetchone()
        return _status_from_row(row) if row else None

    def find_by_document_id(self, document_id: str) -> DocumentStatus | None:
        with self._lock:
            # `DocumentStatus.holds_chunks` in SQL: a failed update that kept its previous chunks still holds them.
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE document_id = ? "
                "AND (state IN (?, ?) OR (state = ? AND chunk_count > 0)) ORDER BY source LIMIT 1",
                (document_id, DocumentState.INDEXED.value, DocumentState.UNCHANGED.value, DocumentState.FAILED.value),
            ).fetchone()
        return _status_from_row(row) if row else None

    def sources_of(self, document_id: str) -> list[DocumentStatus]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE document_id = ? ORDER BY source", (document_id,)
            ).fetchall()
        return [_status_from_row(row) for row in rows]

    def record(self, status: DocumentStatus) -> None:
        with self._lock:
            self._connection.execute(RECORD_SQL, row_of(status))

    def remove(self, source: str) -> None:
        with self._lock:
            self._connection.execute("DELETE FROM documents WHERE source = ?", (source,))

    def all(self) -> list[DocumentStatus]:
        with self._lock:
            rows = self._connection.execute(f"SELECT {_COLUMNS} FROM documents ORDER BY source").fetchall()
        return [_status_from_row(row) for row in rows]


_COLUMNS = f"{_LEGACY_COLUMNS}, card"
RECORD_SQL = f"INSERT OR REPLACE INTO documents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

#: Columns added since the first schema, with their type: a database from before gains them on open.
ADDED_COLUMNS = {"documents": {"card": "TEXT"}, "chunks": {"card": "TEXT"}}


def add_missing_columns(connection: sqlite3.Connection) -> None:
    """Add the columns a database written by an earlier version lacks (its rows read them as NULL)."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if not present:
            continue  # this connection's schema does not have that table
        for name, kind in columns.items():
            if name in present:
                continue
            try:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as error:  # another process added it first
                if "duplicate column" not in str(error):
                    raise


def row_of(status: DocumentStatus) -> tuple:
    """The `documents` row of a status, for `RECORD_SQL`."""
    return (
        status.source,
        status.state.value,
        status.document_id,
        status.chunk_count,
        status.page_count,
        json.dumps(list(status.scanned_pages)),
        status.reason,
        status.updated_at,
        card_json(status.card),
    )


def card_json(card: DocumentCard | None) -> str | None:
    return json.dumps(card.to_json()) if card else None


@functools.lru_cache(maxsize=4096)
def card_from_json(text: str | None) -> DocumentCard | None:
    """Cached by its text: every chunk of a document holds the same card (frozen, so sharing it is safe), and a
    search reads hundreds of chunks of a few documents."""
    return DocumentCard.from_json(json.loads(text)) if text else None


def _status_from_row(row: tuple) -> DocumentStatus:
    source, state, document_id, chunk_count, page_count, scanned, reason, updated_at, card = row
    return DocumentStatus(
        source=source,
        state=DocumentState(state),
        document_id=document_id,
        chunk_count=chunk_count,
        page_count=page_count,
        scanned_pages=tuple(json.loads(scanned)),
        reason=reason,
        updated_at=updated_at,
        card=card_from_json(card),
    )
