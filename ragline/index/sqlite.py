"""The embedded index: SQLite for storage, FTS5 for BM25, and a numpy matrix for exact search.

Why this design (measured, see /bench): exact cosine over a float32 matrix held in memory
answers in ~5 ms at 100k chunks with perfect recall, faster than every approximate index
tried here, and SQLite gives durable, transactional storage and BM25 in the standard library.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragline.filters import SearchFilter
from ragline.model import Chunk, EmbeddedChunk
from ragline.text import STOPWORDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    heading_path TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    embedding_text TEXT NOT NULL,
    date TEXT,
    tags TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks(source);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
-- BM25 over what the model embeds: title, headings and text. Porter stemming, like Lucene's English analyzer.
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    embedding_text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

_COLUMNS = (
    "rowid, chunk_id, document_id, source, title, position, text, pages, heading_path, token_count, "
    "embedding_text, date, tags"
)

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class _Matrix:
    """The in-memory copy of every vector, rebuilt when another writer changes the file."""

    rowids: np.ndarray
    vectors: np.ndarray
    data_version: int


class SqliteIndex:
    def __init__(self, path: Path, *, dimension: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._dimension = dimension
        self._lock = threading.RLock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        self._matrix: _Matrix | None = None

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            self._matrix = None

    # --- writes ---------------------------------------------------------------------------

    def replace_document(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        for embedded in chunks:
            if embedded.chunk.source != source or embedded.chunk.document_id != document_id:
                raise ValueError(f"chunk {embedded.chunk.id} does not belong to {source} ({document_id})")
            if len(embedded.vector) != self._dimension:
                raise ValueError(
                    f"chunk {embedded.chunk.id}: vector has {len(embedded.vector)} dimensions, not {self._dimension}"
                )
        with self._transaction() as connection:
            self._delete_where(connection, "source = ?", (source,))
            for embedded in chunks:
                self._insert(connection, embedded)

    def delete_source(self, source: str) -> int:
        with self._transaction() as connection:
            return self._delete_where(connection, "source = ?", (source,))

    def _delete_where(self, connection: sqlite3.Connection, condition: str, parameters: tuple[object, ...]) -> int:
        rowids = [row[0] for row in connection.execute(f"SELECT rowid FROM chunks WHERE {condition}", parameters)]
        connection.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(rowid,) for rowid in rowids])
        connection.executemany("DELETE FROM chunks WHERE rowid = ?", [(rowid,) for rowid in rowids])
        return len(rowids)

    def _insert(self, connection: sqlite3.Connection, embedded: EmbeddedChunk) -> None:
        chunk = embedded.chunk
        vector = np.asarray(embedded.vector, dtype=np.float32)
        cursor = connection.execute(
            "INSERT INTO chunks (chunk_id, document_id, source, title, position, text, pages, page_start, page_end, "
            "heading_path, token_count, embedding_text, date, tags, vector) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chunk.id,
                chunk.document_id,
                chunk.source,
                chunk.title,
                chunk.position,
                chunk.text,
                json.dumps(list(chunk.pages)),
                min(chunk.pages, default=0),
                max(chunk.pages, default=0),
                json.dumps(list(chunk.heading_path)),
                chunk.token_count,
                chunk.embedding_text,
                chunk.date,
                json.dumps(list(chunk.tags)),
                vector.tobytes(),
            ),
        )
        connection.execute(
            "INSERT INTO chunks_fts (rowid, embedding_text) VALUES (?, ?)", (cursor.lastrowid, chunk.embedding_text)
        )

    # --- reads ----------------------------------------------------------------------------

    def count(self, source: str | None = None) -> int:
        with self._lock:
            if source is None:
                return self._connection.execute("SELECT count(*) FROM chunks").fetchone()[0]
            return self._connection.execute("SELECT count(*) FROM chunks WHERE source = ?", (source,)).fetchone()[0]

    def dense_search(self, vector: np.ndarray, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        matrix = self._current_matrix()
        if not len(matrix.rowids):
            return []
        scores = matrix.vectors @ np.asarray(vector, dtype=np.float32)
        if where is not None and not where.is_empty:
            allowed = self._filtered_rowids(where)
            scores = np.where(np.isin(matrix.rowids, allowed), scores, -np.inf)
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        chunks = self._chunks_by_rowid([int(matrix.rowids[position]) for position in top])
        return [(chunks[int(matrix.rowids[position])], float(scores[position])) for position in top]

    def keyword_search(self, query: str, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        match = fts_query(query)
        if not match:
            return []
        condition, parameters = filter_sql(where)
        sql = (
            f"SELECT c.rowid, -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? AND {condition} ORDER BY bm25(chunks_fts) LIMIT ?"
        )
        with self._lock:
            rows = self._connection.execute(sql, (match, *parameters, k)).fetchall()
        chunks = self._chunks_by_rowid([rowid for rowid, _ in rows])
        return [(chunks[rowid], float(score)) for rowid, score in rows]

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        placeholders = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._connection.execute(
                f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({placeholders})", tuple(chunk_ids)
            ).fetchall()
        return {chunk_id: np.frombuffer(blob, dtype=np.float32) for chunk_id, blob in rows}

    def _current_matrix(self) -> _Matrix:
        with self._lock:
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if self._matrix is None or self._matrix.data_version != version:
                rows = self._connection.execute("SELECT rowid, vector FROM chunks ORDER BY rowid").fetchall()
                rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
                self._matrix = _Matrix(rowids, vectors.reshape(len(rows), self._dimension), version)
            return self._matrix

    def _filtered_rowids(self, where: SearchFilter) -> np.ndarray:
        condition, parameters = filter_sql(where, alias="chunks")
        with self._lock:
            rows = self._connection.execute(f"SELECT rowid FROM chunks WHERE {condition}", parameters).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def _chunks_by_rowid(self, rowids: list[int]) -> dict[int, Chunk]:
        if not rowids:
            return {}
        placeholders = ",".join("?" * len(rowids))
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE rowid IN ({placeholders})", tuple(rowids)
            ).fetchall()
        return {row[0]: _chunk_from_row(row) for row in rows}


def _chunk_from_row(row: tuple) -> Chunk:
    (
        _,
        chunk_id,
        document_id,
        source,
        title,
        position,
        text,
        pages,
        heading_path,
        tokens,
        embedding_text,
        date,
        tags,
    ) = row
    return Chunk(
        id=chunk_id,
        document_id=document_id,
        source=source,
        title=title,
        position=position,
        text=text,
        pages=tuple(json.loads(pages)),
        heading_path=tuple(json.loads(heading_path)),
        token_count=tokens,
        embedding_text=embedding_text,
        date=date,
        tags=tuple(json.loads(tags)),
    )


def fts_query(question: str) -> str:
    """An FTS5 query that ORs the question's words, each quoted so no word is read as syntax."""
    words = [word for word in _WORD.findall(question.lower()) if word not in STOPWORDS]
    unique = list(dict.fromkeys(words))
    return " OR ".join(f'"{word}"' for word in unique)


def filter_sql(where: SearchFilter | None, alias: str = "c") -> tuple[str, tuple[object, ...]]:
    """Translate a filter into a SQL condition with parameters (never string-formatted values)."""
    if where is None or where.is_empty:
        return "1", ()
    conditions: list[str] = []
    parameters: list[object] = []
    if where.source:
        if "/" in where.source:
            conditions.append(f"{alias}.source GLOB ?")
            parameters.append(where.source)
        else:  # a bare file name (or pattern) matches the last path component
            conditions.append(f"({alias}.source GLOB ? OR {alias}.source GLOB ?)")
            parameters.extend([where.source, f"*/{where.source}"])
    if where.tags:
        placeholders = ",".join("?" * len(where.tags))
        conditions.append(f"EXISTS (SELECT 1 FROM json_each({alias}.tags) WHERE value IN ({placeholders}))")
        parameters.extend(where.tags)
    if where.page_from is not None:
        conditions.append(f"{alias}.page_end >= ?")
        parameters.append(where.page_from)
    if where.page_to is not None:
        conditions.append(f"{alias}.page_start <= ?")
        parameters.append(where.page_to)
    if where.date_from is not None:
        conditions.append(f"{alias}.date >= ?")
        parameters.append(where.date_from.isoformat())
    if where.date_to is not None:
        conditions.append(f"{alias}.date <= ?")
        parameters.append(where.date_to.isoformat())
    return " AND ".join(conditions), tuple(parameters)
