"""The embedded index: SQLite for storage, and in-memory copies for exact dense search and for BM25.

Why this design (measured, see /bench): exact cosine over the vectors held in memory (a float16
first pass confirmed in float32, ragline/adapters/local/index/dense.py) answers in ~4 ms at 100k chunks with
perfect recall, and SQLite gives durable, transactional storage. Keyword search stores each chunk's
FTS5 terms at write time and scores BM25 over in-memory postings (ragline/adapters/local/index/bm25.py): the
same scores as FTS5's bm25(), without FTS5's pass over every row that matches a common word.
Both in-memory copies are rebuilt when another writer changes the file (PRAGMA data_version).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragline.adapters.local.index.bm25 import Bm25Postings, Fts5Tokenizer, top_k
from ragline.adapters.local.index.dense import DenseMatrix
from ragline.filters import SearchFilter
from ragline.model import Chunk, EmbeddedChunk

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
-- BM25 over what the model embeds (title, headings and text): each chunk's FTS5 terms with their counts.
CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chunk_terms (
    rowid INTEGER PRIMARY KEY,  -- chunks.rowid
    term_ids BLOB NOT NULL,     -- int32 array of terms.id
    counts BLOB NOT NULL        -- int32 array: how often each of those terms occurs in the chunk
);
"""

#: Before keyword search moved to numpy, FTS5 held the keyword index; an index file from then is
#: migrated on open (its terms are recomputed from the stored text) and this table dropped.
_LEGACY_FTS_TABLE = "chunks_fts"

#: SQLite's default limit on the parameters of one statement is 999 (older builds).
_MAX_PARAMETERS = 900

_COLUMNS = (
    "rowid, chunk_id, document_id, source, title, position, text, pages, heading_path, token_count, "
    "embedding_text, date, tags"
)


@dataclass
class _Matrix:
    """The in-memory copy of every vector, rebuilt when another writer changes the file."""

    matrix: DenseMatrix
    data_version: int


@dataclass
class _Postings:
    """The in-memory keyword postings, rebuilt like the matrix."""

    postings: Bm25Postings
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
        self._tokenizer = Fts5Tokenizer()
        self._matrix: _Matrix | None = None
        self._postings: _Postings | None = None
        self._migrate_legacy_keyword_index()

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._tokenizer.close()

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
            self._postings = None

    def _migrate_legacy_keyword_index(self) -> None:
        legacy = self._connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_LEGACY_FTS_TABLE,)).fetchone()
        if legacy is None:
            return
        with self._transaction() as connection:
            missing = connection.execute(
                "SELECT rowid, embedding_text FROM chunks WHERE rowid NOT IN (SELECT rowid FROM chunk_terms)"
            ).fetchall()
            counts = self._tokenizer.term_counts([text for _, text in missing])
            self._insert_terms(connection, [rowid for rowid, _ in missing], counts)
            connection.execute(f"DROP TABLE {_LEGACY_FTS_TABLE}")

    # --- writes ---------------------------------------------------------------------------

    def replace_document(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        for embedded in chunks:
            if embedded.chunk.source != source or embedded.chunk.document_id != document_id:
                raise ValueError(f"chunk {embedded.chunk.id} does not belong to {source} ({document_id})")
            if len(embedded.vector) != self._dimension:
                raise ValueError(
                    f"chunk {embedded.chunk.id}: vector has {len(embedded.vector)} dimensions, not {self._dimension}"
                )
        # Tokenizing needs no lock on the index: do it before the write transaction starts.
        term_counts = self._tokenizer.term_counts([embedded.chunk.embedding_text for embedded in chunks])
        with self._transaction() as connection:
            self._delete_where(connection, "source = ?", (source,))
            rowids = [self._insert(connection, embedded) for embedded in chunks]
            self._insert_terms(connection, rowids, term_counts)

    def delete_source(self, source: str) -> int:
        with self._transaction() as connection:
            return self._delete_where(connection, "source = ?", (source,))

    def move_source(self, source: str, to: str) -> int:
        with self._transaction() as connection:
            return connection.execute("UPDATE chunks SET source = ? WHERE source = ?", (to, source)).rowcount

    def _delete_where(self, connection: sqlite3.Connection, condition: str, parameters: tuple[object, ...]) -> int:
        rowids = [row[0] for row in connection.execute(f"SELECT rowid FROM chunks WHERE {condition}", parameters)]
        connection.executemany("DELETE FROM chunk_terms WHERE rowid = ?", [(rowid,) for rowid in rowids])
        connection.executemany("DELETE FROM chunks WHERE rowid = ?", [(rowid,) for rowid in rowids])
        return len(rowids)

    def _insert(self, connection: sqlite3.Connection, embedded: EmbeddedChunk) -> int:
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
        return cursor.lastrowid

    def _insert_terms(
        self, connection: sqlite3.Connection, rowids: Sequence[int], term_counts: Sequence[Counter[str]]
    ) -> None:
        vocabulary = sorted({term for counts in term_counts for term in counts})
        connection.executemany("INSERT OR IGNORE INTO terms (term) VALUES (?)", [(term,) for term in vocabulary])
        term_ids = _term_ids(connection, vocabulary)
        connection.executemany(
            "INSERT INTO chunk_terms (rowid, term_ids, counts) VALUES (?, ?, ?)",
            [
                (
                    rowid,
                    np.fromiter((term_ids[term] for term in counts), dtype=np.int32, count=len(counts)).tobytes(),
                    np.fromiter(counts.values(), dtype=np.int32, count=len(counts)).tobytes(),
                )
                for rowid, counts in zip(rowids, term_counts, strict=True)
            ],
        )

    # --- reads ----------------------------------------------------------------------------

    def count(self, source: str | None = None) -> int:
        with self._lock:
            if source is None:
                return self._connection.execute("SELECT count(*) FROM chunks").fetchone()[0]
            return self._connection.execute("SELECT count(*) FROM chunks WHERE source = ?", (source,)).fetchone()[0]

    def dense_search(self, vector: np.ndarray, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        matrix = self._current_matrix()
        if not len(matrix):
            return []
        allowed = self._allowed(matrix.rowids, where)
        top, scores = matrix.top_k(np.asarray(vector, dtype=np.float32), k, allowed)
        chunks = self._chunks_by_rowid([int(matrix.rowids[position]) for position in top])
        return [
            (chunks[int(matrix.rowids[position])], float(score)) for position, score in zip(top, scores, strict=True)
        ]

    def keyword_search(self, query: str, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        terms = self._tokenizer.query_terms(query)
        if not terms:
            return []
        with self._lock:
            known = _term_ids(self._connection, terms)
        postings = self._current_postings()
        scores, matched = postings.score([known[term] for term in terms if term in known])
        allowed = self._allowed(postings.rowids, where)
        if allowed is not None:
            matched &= allowed
        top = top_k(scores, np.flatnonzero(matched), postings.rowids, k)
        chunks = self._chunks_by_rowid([int(postings.rowids[position]) for position in top])
        return [(chunks[int(postings.rowids[position])], float(scores[position])) for position in top]

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        placeholders = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._connection.execute(
                f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({placeholders})", tuple(chunk_ids)
            ).fetchall()
        return {chunk_id: np.frombuffer(blob, dtype=np.float32) for chunk_id, blob in rows}

    def _current_matrix(self) -> DenseMatrix:
        with self._lock:
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if self._matrix is None or self._matrix.data_version != version:
                rows = self._connection.execute("SELECT rowid, vector FROM chunks ORDER BY rowid").fetchall()
                rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
                self._matrix = _Matrix(DenseMatrix.build(rowids, vectors.reshape(len(rows), self._dimension)), version)
            return self._matrix.matrix

    def _current_postings(self) -> Bm25Postings:
        with self._lock:
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if self._postings is None or self._postings.data_version != version:
                rows = self._connection.execute(
                    "SELECT rowid, term_ids, counts FROM chunk_terms ORDER BY rowid"
                ).fetchall()
                postings = Bm25Postings.build(
                    np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
                    [np.frombuffer(row[1], dtype=np.int32) for row in rows],
                    [np.frombuffer(row[2], dtype=np.int32) for row in rows],
                )
                self._postings = _Postings(postings, version)
            return self._postings.postings

    def _allowed(self, rowids: np.ndarray, where: SearchFilter | None) -> np.ndarray | None:
        """Which of `rowids` the filter lets through (a boolean mask), or None when there is no filter."""
        if where is None or where.is_empty:
            return None
        condition, parameters = filter_sql(where)
        with self._lock:
            rows = self._connection.execute(f"SELECT rowid FROM chunks WHERE {condition}", parameters).fetchall()
        return np.isin(rowids, np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)))

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


def _term_ids(connection: sqlite3.Connection, terms: Sequence[str]) -> dict[str, int]:
    """The ids of those terms the index has seen (unknown terms are left out)."""
    unique = list(dict.fromkeys(terms))
    found: dict[str, int] = {}
    for start in range(0, len(unique), _MAX_PARAMETERS):
        batch = unique[start : start + _MAX_PARAMETERS]
        placeholders = ",".join("?" * len(batch))
        found.update(connection.execute(f"SELECT term, id FROM terms WHERE term IN ({placeholders})", batch))
    return found


def filter_sql(where: SearchFilter | None) -> tuple[str, tuple[object, ...]]:
    """Translate a filter into a SQL condition with parameters (never string-formatted values)."""
    if where is None or where.is_empty:
        return "1", ()
    conditions: list[str] = []
    parameters: list[object] = []
    if where.source:
        if "/" in where.source:
            conditions.append("chunks.source GLOB ?")
            parameters.append(where.source)
        else:  # a bare file name (or pattern) matches the last path component
            conditions.append("(chunks.source GLOB ? OR chunks.source GLOB ?)")
            parameters.extend([where.source, f"*/{where.source}"])
    if where.tags:
        placeholders = ",".join("?" * len(where.tags))
        conditions.append(f"EXISTS (SELECT 1 FROM json_each(chunks.tags) WHERE value IN ({placeholders}))")
        parameters.extend(where.tags)
    if where.page_from is not None:
        conditions.append("chunks.page_end >= ?")
        parameters.append(where.page_from)
    if where.page_to is not None:
        conditions.append("chunks.page_start <= ?")
        parameters.append(where.page_to)
    if where.date_from is not None:
        conditions.append("chunks.date >= ?")
        parameters.append(where.date_from.isoformat())
    if where.date_to is not None:
        conditions.append("chunks.date <= ?")
        parameters.append(where.date_to.isoformat())
    return " AND ".join(conditions), tuple(parameters)
