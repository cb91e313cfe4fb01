"""The embedded index: SQLite for storage, and in-memory copies for dense search and for BM25.

Why this design (measured, see /bench): exact cosine over the vectors held in memory (a float16
first pass confirmed in float32, ragline/adapters/local/index/dense.py) answers in ~4 ms at 100k chunks with
perfect recall, and SQLite gives durable, transactional storage. From `APPROXIMATE_FROM` chunks on, the
exact scan would read too much per question and the float32 copy would not fit a laptop's memory: a
sign-bit first pass picks the rows to rescore, and only float16 stays in memory, the finalists' float32
vectors being read from SQLite (ragline/adapters/local/index/signs.py). Keyword search stores each chunk's
FTS5 terms at write time and scores BM25 over in-memory postings (ragline/adapters/local/index/bm25.py): the
same scores as FTS5's bm25(), without FTS5's pass over every row that matches a common word.
Both in-memory copies are rebuilt when the chunks change (a generation number every chunk write
bumps, so registry writes in the same file do not throw them away).

One commit point: the registry's rows (`ragline.adapters.local.registry`) and an outbox of
archive records live in this database too, and `apply` writes a document's chunks, rows and
archive records in one transaction. The outbox is then delivered to the archive sink and
cleared; a crash in between delivers it again on the next `apply`, and the local archive keeps
a batch delivered twice once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragline.adapters.local.index.bm25 import Bm25Postings, Fts5Tokenizer
from ragline.adapters.local.index.dense import DenseMatrix
from ragline.adapters.local.index.signs import SignMatrix
from ragline.adapters.local.registry import (
    RECORD_SQL,
    SqliteRegistry,
    add_missing_columns,
    card_from_json,
    card_json,
    row_of,
)
from ragline.adapters.local.registry import SCHEMA as REGISTRY_SCHEMA
from ragline.adapters.local.store import connect
from ragline.errors import ConfigurationError
from ragline.faults import checkpoint
from ragline.filters import SearchFilter
from ragline.model import Chunk, DocumentState, EmbeddedChunk
from ragline.ports import ArchiveSink, Registry
from ragline.records import EmbeddingRecord
from ragline.writes import Archive, DropChunks, Forget, MoveChunks, PutChunks, Record, Write, write_name

log = logging.getLogger(__name__)

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
    vector BLOB NOT NULL,
    card TEXT  -- the document card as JSON (ragline.cards), NULL for chunks written before cards
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
-- Archive records committed with their chunks, waiting to be delivered (one batch per document).
CREATE TABLE IF NOT EXISTS archive_outbox (id INTEGER PRIMARY KEY, batch TEXT NOT NULL, line TEXT NOT NULL);
-- `chunks`: bumped by every write to the chunks, the key of the in-memory copies.
CREATE TABLE IF NOT EXISTS generation (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- `embedding_model`: the model (and precision) whose vectors the index holds.
CREATE TABLE IF NOT EXISTS index_facts (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: Before keyword search moved to numpy, FTS5 held the keyword index; an index file from then is
#: migrated on open (its terms are recomputed from the stored text) and this table dropped.
_LEGACY_FTS_TABLE = "chunks_fts"
#: Indexes written before 2026-12-01 did not record their model. The only local model then was MiniLM, and
#: fp32 its default: such an index that holds chunks is taken to hold that model's fp32 vectors.
UNRECORDED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: SQLite's default limit on the parameters of one statement is 999 (older builds).
_MAX_PARAMETERS = 900
#: From this many chunks on, dense search is approximate (signs.py): below it, the exact scan costs
#: ~6 ms at most here and the float32 and float16 copies together ~600 MB.
APPROXIMATE_FROM = 250_000
#: Rows read from SQLite per batch when the in-memory copies are built, so the rows' Python objects never
#: all exist at once (1M chunks' vectors as bytes objects alone would take ~1.6 GB).
_READ_BATCH = 16384

_COLUMNS = (
    "rowid, chunk_id, document_id, source, title, position, text, pages, heading_path, token_count, "
    "embedding_text, date, tags, card"
)


@dataclass
class _Matrix:
    """The in-memory copy of every vector, rebuilt when the chunks change."""

    matrix: DenseMatrix | SignMatrix
    generation: int


@dataclass
class _Postings:
    """The in-memory keyword postings, rebuilt like the matrix."""

    postings: Bm25Postings
    generation: int


class SqliteIndex:
    def __init__(
        self, path: Path, *, dimension: int, model: str | None = None, approximate_from: int | None = APPROXIMATE_FROM
    ) -> None:
        """`model`: the embedding model (and precision) of the vectors written and searched; an index that holds
        another model's is refused (None: not checked). `approximate_from`: the chunk count from which dense search
        takes the sign-bit first pass (None: always exact)."""
        self._path = path
        self._dimension = dimension
        self._approximate_from = approximate_from
        self._lock = threading.RLock()
        self._connection = connect(path)
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA + REGISTRY_SCHEMA)
        add_missing_columns(self._connection)
        self._tokenizer = Fts5Tokenizer()
        self._matrix: _Matrix | None = None
        self._postings: _Postings | None = None
        self._writing = False
        self._migrate_legacy_keyword_index()
        self._model = model
        self._model_checked = False

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._tokenizer.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; a write made inside one (by `apply`) joins it instead of committing alone."""
        with self._lock:
            if self._writing:
                yield self._connection
                return
            self._connection.execute("BEGIN IMMEDIATE")
            self._writing = True
            try:
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                # A first write records the model inside its transaction: the record may be gone with it, and
                # the next write must check, and record, again.
                self._model_checked = False
                raise
            finally:
                self._writing = False

    def _chunks_changed(self, connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO generation VALUES ('chunks', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )

    def _generation(self) -> int:
        row = self._connection.execute("SELECT value FROM generation WHERE name = 'chunks'").fetchone()
        return row[0] if row else 0

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
            self._chunks_changed(connection)

    @staticmethod
    def held_model(path: Path) -> str | None:
        """The model whose vectors the index at `path` holds, read without creating or changing anything;
        None where there is no index yet, or an empty one (the first write will decide)."""
        if not path.is_file():
            return None
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "index_facts" in tables:
                row = connection.execute("SELECT value FROM index_facts WHERE name = 'embedding_model'").fetchone()
                if row:
                    return row[0]
            # No model recorded: chunks written before models were recorded are fp32 MiniLM's, as _check_model says.
            holds_chunks = "chunks" in tables and connection.execute("SELECT 1 FROM chunks LIMIT 1").fetchone()
        return UNRECORDED_MODEL if holds_chunks else None

    def _check_model(self, connection: sqlite3.Connection, *, record: bool) -> None:
        """Refuse to write or search with another model than the one whose vectors the index holds: cosine between
        a question embedded by one model and chunks embedded by another (even fp32 against int8 of the same) ranks
        on noise, silently. Checked where vectors are written or compared, so that listing or deleting still works
        after the settings changed. `record`: a write records the model of an index that has none yet."""
        if self._model is None or self._model_checked:
            return
        row = connection.execute("SELECT value FROM index_facts WHERE name = 'embedding_model'").fetchone()
        held = row[0] if row else None
        if held is None and connection.execute("SELECT 1 FROM chunks LIMIT 1").fetchone():
            held = UNRECORDED_MODEL
        if held is not None and held != self._model:
            raise ConfigurationError(
                f"the index {self._path} holds vectors of {held}, but this configuration embeds with {self._model}: "
                "set the embedding settings back (embedding.precision or embedding.model_dir, as RAGLINE_EMBEDDING__"
                "PRECISION or RAGLINE_EMBEDDING__MODEL_DIR), or use "
                "another data_dir and ingest again"
            )
        if held is None and not record:
            return  # an empty index: the first write decides
        if row is None:
            connection.execute("INSERT INTO index_facts VALUES ('embedding_model', ?)", (self._model,))
        self._model_checked = True

    # --- writes ---------------------------------------------------------------------------

    def replace_document(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        for embedded in chunks:
            if embedded.chunk.source != source or embedded.chunk.document_id != document_id:
                raise ValueError(f"chunk {embedded.chunk.id} does not belong to {source} ({document_id})")
            if len(embedded.vector) != self._dimension:
                raise ValueError(
                    f"chunk {embedded.chunk.id}: vector has {len(embedded.vector)} dimensions, not {self._dimension}"
                )
        # Tokenizing needs no lock on the index: do it before the write transaction starts (unless this
        # write joins the one `apply` holds).
        term_counts = self._tokenizer.term_counts([embedded.chunk.embedding_text for embedded in chunks])
        with self._transaction() as connection:
            self._check_model(connection, record=True)
            self._delete_where(connection, "source = ?", (source,))
            rowids = [self._insert(connection, embedded) for embedded in chunks]
            self._insert_terms(connection, rowids, term_counts)
            self._chunks_changed(connection)

    def delete_source(self, source: str) -> int:
        with self._transaction() as connection:
            return self._drop(connection, source)

    def move_source(self, source: str, to: str) -> int:
        with self._transaction() as connection:
            # The in-memory copies hold no source: moving leaves them valid.
            return connection.execute("UPDATE chunks SET source = ? WHERE source = ?", (to, source)).rowcount

    # --- one commit point -------------------------------------------------------------------

    def commits_with(self, registry: Registry) -> bool:
        """Whether `registry`'s rows live in this database, so `apply` can write them with the chunks."""
        return isinstance(registry, SqliteRegistry) and registry.path.resolve() == self._path.resolve()

    def apply(self, writes: Sequence[Write], archive: Callable[[], ArchiveSink]) -> None:
        """Write a document's chunks, registry rows and archive records in one transaction, then
        deliver the archive records (`archive` is called only when there are some)."""
        batch = uuid.uuid4().hex
        with self._transaction() as connection:
            for write in writes:
                self._write(connection, write, batch)
                checkpoint(f"store.{write_name(write)}")
        checkpoint("store.committed")
        # This batch is delivered from the records in hand: reading it back would parse the JSON just written, for
        # the sink to write it again (7 of the index stage's 22 CPU-seconds on 50 filings). The outbox rows stay
        # the record of what is owed until the sink has taken them.
        committed = [record for write in writes if isinstance(write, Archive) for record in write.records]
        self._deliver(archive, in_hand={batch: committed})

    def _write(self, connection: sqlite3.Connection, write: Write, batch: str) -> None:
        match write:  # the Index port's own writes, joining this transaction
            case PutChunks(source, document_id, chunks):
                self.replace_document(source, document_id, chunks)
            case MoveChunks(source, to):
                self.move_source(source, to)
            case DropChunks(source):
                self.delete_source(source)
            case Record(status):
                connection.execute(RECORD_SQL, row_of(status))
            case Forget(source):
                connection.execute("DELETE FROM documents WHERE source = ?", (source,))
            case Archive(_, _, records):
                connection.executemany(
                    "INSERT INTO archive_outbox (batch, line) VALUES (?, ?)",
                    [(batch, record.to_json()) for record in records],
                )

    def _drop(self, connection: sqlite3.Connection, source: str) -> int:
        removed = self._delete_where(connection, "source = ?", (source,))
        if removed:
            self._chunks_changed(connection)
        return removed

    def deliver_archive(self, archive: Callable[[], ArchiveSink]) -> None:
        """Write every committed batch of archive records to the sink, then clear it, batch by batch.

        A failing sink leaves the batch for the next call and says so: the document stays indexed.
        """
        self._deliver(archive, in_hand={})

    def _deliver(self, archive: Callable[[], ArchiveSink], in_hand: dict[str, list[EmbeddingRecord]]) -> None:
        """`deliver_archive`, taking the records of the batches in `in_hand` from memory rather than the outbox."""
        with self._lock:
            batches = [row[0] for row in self._connection.execute("SELECT DISTINCT batch FROM archive_outbox")]
        for batch in batches:
            records = in_hand[batch] if batch in in_hand else self._outbox_batch(batch)
            try:
                archive().write(records)
            except Exception:
                log.exception("archiving %d embeddings failed; they wait in the index to be retried", len(records))
                return
            checkpoint("store.archived")
            with self._lock:
                self._connection.execute("DELETE FROM archive_outbox WHERE batch = ?", (batch,))

    def _outbox_batch(self, batch: str) -> list[EmbeddingRecord]:
        with self._lock:
            rows = self._connection.execute("SELECT line FROM archive_outbox WHERE batch = ? ORDER BY id", (batch,))
            lines = rows.fetchall()
        return [EmbeddingRecord.from_json(line) for (line,) in lines]

    def pending_archive(self) -> int:
        """Archive records committed but not yet delivered (a sink that failed, or a crash)."""
        with self._lock:
            return self._connection.execute("SELECT count(*) FROM archive_outbox").fetchone()[0]

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
            "heading_path, token_count, embedding_text, date, tags, vector, card) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                card_json(chunk.card),
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
        with self._lock:
            self._check_model(self._connection, record=False)
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
        allowed = self._allowed(postings.rowids, where)
        top, scores = postings.top([known[term] for term in terms if term in known], k, allowed)
        chunks = self._chunks_by_rowid([int(postings.rowids[position]) for position in top])
        return [
            (chunks[int(postings.rowids[position])], float(score)) for position, score in zip(top, scores, strict=True)
        ]

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            rows = list(
                _select_in(self._connection, "SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({})", chunk_ids)
            )
        return {chunk_id: np.frombuffer(blob, dtype=np.float32) for chunk_id, blob in rows}

    def _current_matrix(self) -> DenseMatrix | SignMatrix:
        with self._lock:
            version = self._generation()
            if self._matrix is None or self._matrix.generation != version:
                self._matrix = None  # the old copy's memory is free before the new one is read
                self._matrix = _Matrix(self._read_matrix(), version)
            return self._matrix.matrix

    def _read_matrix(self) -> DenseMatrix | SignMatrix:
        """Every vector, in rowid order, read in batches into the copy the index's size calls for."""
        with self._read_snapshot():
            rowids = np.array(
                [row[0] for row in self._connection.execute("SELECT rowid FROM chunks ORDER BY rowid")], dtype=np.int64
            )
            cursor = self._connection.execute("SELECT vector FROM chunks ORDER BY rowid")
            batches = (
                np.frombuffer(b"".join(row[0] for row in rows), dtype=np.float32)
                for rows in iter(lambda: cursor.fetchmany(_READ_BATCH), [])
            )
            if self._approximate_from is not None and len(rowids) >= self._approximate_from:
                return SignMatrix.build(rowids, batches, self._dimension, self._full_vectors)
            vectors = np.empty((len(rowids), self._dimension), dtype=np.float32)
            filled = 0
            for batch in batches:
                rows = batch.reshape(-1, self._dimension)
                vectors[filled : filled + len(rows)] = rows
                filled += len(rows)
            return DenseMatrix.build(rowids, vectors)

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        """One read transaction, so statements read in turn see the same rows (a writer in another
        process may commit between them); inside a write transaction, that one is the snapshot."""
        with self._lock:
            if self._connection.in_transaction:
                yield
                return
            self._connection.execute("BEGIN")
            try:
                yield
            finally:
                self._connection.execute("COMMIT")

    def _full_vectors(self, rowids: np.ndarray) -> np.ndarray:
        """The stored float32 vectors of these rowids, in order; a row no longer stored is NaN."""
        wanted = [int(rowid) for rowid in rowids]
        with self._lock:
            found = dict(_select_in(self._connection, "SELECT rowid, vector FROM chunks WHERE rowid IN ({})", wanted))
        vectors = np.full((len(wanted), self._dimension), np.nan, dtype=np.float32)
        for row, rowid in enumerate(wanted):
            if rowid in found:
                vectors[row] = np.frombuffer(found[rowid], dtype=np.float32)
        return vectors

    def memory(self) -> dict[str, int]:
        """Bytes held by the in-memory copies (numpy arrays only): dense search's and BM25's."""
        with self._lock:
            dense = self._matrix.matrix.nbytes if self._matrix is not None else 0
            keyword = self._postings.postings.nbytes if self._postings is not None else 0
        return {"dense": dense, "keyword": keyword}

    def _current_postings(self) -> Bm25Postings:
        with self._lock:
            version = self._generation()
            if self._postings is None or self._postings.generation != version:
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
        card,
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
        card=card_from_json(card),
    )


def _term_ids(connection: sqlite3.Connection, terms: Sequence[str]) -> dict[str, int]:
    """The ids of those terms the index has seen (unknown terms are left out)."""
    unique = list(dict.fromkeys(terms))
    return dict(_select_in(connection, "SELECT term, id FROM terms WHERE term IN ({})", unique))


def _select_in(connection: sqlite3.Connection, query: str, values: Sequence) -> Iterator[tuple]:
    """The rows of `query`, whose `{}` is an IN list, for all `values`: in statements of at most
    _MAX_PARAMETERS parameters each."""
    for start in range(0, len(values), _MAX_PARAMETERS):
        batch = values[start : start + _MAX_PARAMETERS]
        yield from connection.execute(query.format(",".join("?" * len(batch))), batch)


def filter_sql(where: SearchFilter) -> tuple[str, tuple[object, ...]]:
    """Translate a filter with at least one condition into a SQL condition with parameters (never
    string-formatted values). No filter is no SQL at all: `_allowed` then lets every row through."""
    conditions: list[str] = []
    parameters: list[object] = []
    if where.source and "/" in where.source and "*" not in where.source:
        # A whole path without a wildcard names one source: compared for equality, which the source indexes of
        # both tables answer (a GLOB reads every row: 64 ms at 31,000 chunks, where hybrid search looks again
        # inside the documents a question names), and which reads "?" and "[" in a file name as themselves.
        conditions.append(
            "(chunks.source = ? OR chunks.document_id IN "
            "(SELECT copy.document_id FROM documents AS copy WHERE copy.source = ? AND copy.state = ?))"
        )
        parameters.extend([where.source, where.source, DocumentState.DUPLICATE.value])
    elif where.source:
        # A bare file name (or pattern) matches the last path component.
        pattern = _glob(where.source)
        patterns = [pattern] if "/" in where.source else [pattern, f"*/{pattern}"]
        # The name the chunks are indexed under, or a copy's: content is indexed once, and every
        # name holding it finds it (the copies' registry rows are in this database).
        conditions.append(
            f"({_any_glob('chunks.source', patterns)} OR EXISTS (SELECT 1 FROM documents AS copy "
            "WHERE copy.document_id = chunks.document_id AND copy.state = ? "
            f"AND {_any_glob('copy.source', patterns)}))"
        )
        parameters.extend([*patterns, DocumentState.DUPLICATE.value, *patterns])
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
    _card_conditions(where, conditions, parameters)
    return " AND ".join(conditions), tuple(parameters)


def _card_conditions(where: SearchFilter, conditions: list[str], parameters: list[object]) -> None:
    """Card filters (`ragline.filters`): issuer contains the words, period starts with the value, type is equal."""
    if where.issuer is not None:
        conditions.append("instr(lower(json_extract(chunks.card, '$.issuer')), lower(?)) > 0")
        parameters.append(where.issuer)
    if where.period is not None:
        conditions.append("substr(json_extract(chunks.card, '$.period'), 1, length(?)) = ?")
        parameters.extend([where.period, where.period])
    if where.doc_type is not None:
        conditions.append("json_extract(chunks.card, '$.doc_type') = ?")
        parameters.append(where.doc_type)


def _glob(source_filter: str) -> str:
    """A source filter as a GLOB pattern: its `*` stay wildcards, its `?` and `[` match themselves (file names
    hold them; GLOB would read them as one character and a character class)."""
    return "".join(_GLOB_LITERALS.get(character, character) for character in source_filter)


_GLOB_LITERALS = {"?": "[?]", "[": "[[]"}


def _any_glob(column: str, patterns: Sequence[str]) -> str:
    return "(" + " OR ".join(f"{column} GLOB ?" for _ in patterns) + ")"
