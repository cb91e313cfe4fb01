"""The embedded index's promises at its edges (issue 16): words whose only document went away, which
registry shares its commit, what a crash on either side of the archive delivery leaves to redo, how a
source filter with a folder is matched, and the memory the in-memory copies report.

tests/contracts/test_index_sqlite.py holds the index's contract; tests/integration/test_crashes.py
crashes whole ingests in child processes (which mutation runs leave out). These stay in-process.
"""

from __future__ import annotations

import numpy as np
import pytest

from ragline import faults
from ragline.adapters.local.archive import LocalArchive
from ragline.adapters.local.index import sqlite
from ragline.adapters.local.index.sqlite import SqliteIndex
from ragline.adapters.local.registry import SqliteRegistry
from ragline.filters import SearchFilter
from ragline.model import DocumentState, DocumentStatus
from ragline.records import EMBEDDING_ARCHIVE_PREFIX, EmbeddingRecord, RecordKind
from ragline.writes import Archive, PutChunks, Record
from tests.contracts.index_contract import BIRDS, DIMENSION, PUMPS, embedded, unit

PUMPS_ID = "p" * 64


@pytest.fixture
def index(tmp_path):
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    yield index
    index.close()


@pytest.fixture
def disarmed():
    yield
    faults.disarm()


# --- keyword search after deletes -------------------------------------------------------------


def test_a_word_whose_only_document_was_deleted_finds_nothing_and_the_others_still_score(index):
    """The word keeps its term id (terms are never deleted), the very next id after every term the
    remaining chunks hold; searching for it must not reach past the postings."""
    index.replace_document("/docs/pumps.pdf", PUMPS_ID, PUMPS)
    zeppelin = embedded("/docs/zeppelin.pdf", "z" * 64, 0, "Zeppelins", unit(0, 1))
    index.replace_document("/docs/zeppelin.pdf", "z" * 64, [zeppelin])
    assert index.keyword_search("zeppelins", k=3)[0][0] == zeppelin.chunk
    index.delete_source("/docs/zeppelin.pdf")
    assert index.keyword_search("zeppelins", k=3) == []
    assert [chunk for chunk, _ in index.keyword_search("zeppelins seals", k=3)] == [PUMPS[1].chunk]


# --- which registry commits with the index ----------------------------------------------------


def test_only_a_registry_in_the_index_s_own_file_commits_with_it(tmp_path, index):
    (tmp_path / "sub").mkdir()
    same_file = SqliteRegistry(tmp_path / "sub" / ".." / "index.sqlite3")  # the same file, spelled otherwise
    other_file = SqliteRegistry(tmp_path / "registry.sqlite3")
    assert index.commits_with(same_file)
    assert not index.commits_with(other_file)
    same_file.close()
    other_file.close()


def test_a_registry_creates_the_folders_of_its_file(tmp_path):
    path = tmp_path / "data" / "ragline" / "index.sqlite3"
    registry = SqliteRegistry(path)
    registry.record(DocumentStatus(source="/docs/a.pdf", state=DocumentState.INDEXED, document_id="a" * 64))
    registry.close()
    reopened = SqliteRegistry(path)
    assert reopened.get("/docs/a.pdf").state is DocumentState.INDEXED
    reopened.close()


# --- the archive outbox across a crash --------------------------------------------------------


class CountingSink:
    """An archive sink that keeps what it was given, each delivery apart."""

    def __init__(self) -> None:
        self.deliveries: list[list[EmbeddingRecord]] = []

    def write(self, records):
        self.deliveries.append(list(records))
        return len(self.deliveries[-1])


def _pumps_writes() -> tuple[list, tuple[EmbeddingRecord, ...]]:
    records = tuple(
        EmbeddingRecord.now(id=item.chunk.id, kind=RecordKind.CHUNK, source=item.chunk.source, model="m", vector=[1.0])
        for item in PUMPS
    )
    status = DocumentStatus(source="/docs/pumps.pdf", state=DocumentState.INDEXED, document_id=PUMPS_ID, chunk_count=2)
    writes = [
        PutChunks("/docs/pumps.pdf", PUMPS_ID, tuple(PUMPS)),
        Archive("/docs/pumps.pdf", PUMPS_ID, records),
        Record(status),
    ]
    return writes, records


def test_the_batch_just_committed_is_delivered_as_written_without_reading_it_back(tmp_path):
    """Reading the batch back from the outbox would parse every vector's JSON for the sink to write it again:
    a third of the local index stage's CPU. The sink is handed the very records the writes carried, each
    serialized once (the outbox's line is the one the archive writes)."""
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    writes, records = _pumps_writes()
    sink = CountingSink()
    index.apply(writes, lambda: sink)
    (delivered,) = sink.deliveries
    assert all(given is written for given, written in zip(delivered, records, strict=True))
    assert all(record.to_json() is record.to_json() for record in delivered)
    assert index.pending_archive() == 0
    index.close()


def test_a_crash_after_the_commit_leaves_the_archive_records_for_the_next_apply(tmp_path, disarmed):
    path = tmp_path / "index.sqlite3"
    index, registry = SqliteIndex(path, dimension=DIMENSION), SqliteRegistry(path)
    writes, records = _pumps_writes()
    sink = CountingSink()
    faults.arm("store.committed")
    with pytest.raises(faults.InjectedCrash):
        index.apply(writes, lambda: sink)
    # Committed: chunks, row and outbox together; nothing delivered yet.
    assert index.count("/docs/pumps.pdf") == 2 and registry.get("/docs/pumps.pdf").chunk_count == 2
    assert index.pending_archive() == 2 and sink.deliveries == []
    index.apply([PutChunks("/docs/birds.pdf", "b" * 64, tuple(BIRDS))], lambda: sink)  # the next document
    assert sink.deliveries == [list(records)]
    assert index.pending_archive() == 0
    index.close()
    registry.close()


def test_a_crash_between_delivering_and_clearing_delivers_the_batch_again_and_the_archive_keeps_it_once(
    tmp_path, disarmed
):
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    writes, records = _pumps_writes()
    archive = LocalArchive(tmp_path / "archive")
    faults.arm("store.archived")
    with pytest.raises(faults.InjectedCrash):
        index.apply(writes, lambda: archive)
    assert index.pending_archive() == 2  # delivered, but not yet cleared
    index.deliver_archive(lambda: archive)
    assert index.pending_archive() == 0
    assert list(archive.read(EMBEDDING_ARCHIVE_PREFIX)) == list(records)
    assert index.dense_search(np.asarray(unit(1, 0)), k=1)[0][0] == PUMPS[0].chunk
    index.close()


def test_a_crash_between_two_writes_of_a_document_commits_none_of_them(tmp_path, disarmed):
    """apply's writes are one transaction: a crash after the chunks and the archive records, before the
    registry row, leaves no chunk, no row and nothing to archive; the document is then indexed whole."""
    path = tmp_path / "index.sqlite3"
    index, registry = SqliteIndex(path, dimension=DIMENSION), SqliteRegistry(path)
    writes, records = _pumps_writes()
    sink = CountingSink()
    faults.arm("store.archive")
    with pytest.raises(faults.InjectedCrash, match=r"store\.archive"):
        index.apply(writes, lambda: sink)
    assert index.count() == 0 and registry.get("/docs/pumps.pdf") is None
    assert index.pending_archive() == 0 and sink.deliveries == []
    index.apply(writes, lambda: sink)
    assert index.count("/docs/pumps.pdf") == 2 and registry.get("/docs/pumps.pdf").chunk_count == 2
    assert sink.deliveries == [list(records)]
    index.close()
    registry.close()


# --- a source filter holding a folder --------------------------------------------------------


def test_a_source_filter_with_a_folder_is_matched_against_the_whole_path(index):
    """Only a bare file name matches the last path component in any folder; a pattern that names a folder
    is the whole source (an exact path or a glob over it), so a relative path matches nothing by itself."""
    index.replace_document("/docs/pumps.pdf", PUMPS_ID, PUMPS)
    index.replace_document("/docs/2023/birds.pdf", "b" * 64, [_moved(item, "/docs/2023/birds.pdf") for item in BIRDS])

    assert _sources(index, "birds.pdf") == {"/docs/2023/birds.pdf"}
    assert _sources(index, "2023/birds.pdf") == set()
    assert _sources(index, "2023/*.pdf") == set()  # a glob naming a folder too
    assert _sources(index, "*/2023/birds.pdf") == {"/docs/2023/birds.pdf"}
    assert _sources(index, "/docs/*") == {"/docs/pumps.pdf", "/docs/2023/birds.pdf"}


def test_a_whole_path_without_a_star_names_that_source_alone_even_with_glob_characters(index):
    """Only "*" is a wildcard in a source filter: "?" and "[1]" in a file name are that name's own characters
    (SQLite's GLOB would read "[1]" as a class matching "1"); and a registry row naming the same content is
    a copy's name only while it is a duplicate."""
    from ragline.adapters.local.registry import SqliteRegistry

    bracketed, plain = "/docs/report[1].pdf", "/docs/report1.pdf"
    index.replace_document(bracketed, PUMPS_ID, [_moved(item, bracketed) for item in PUMPS])
    index.replace_document(plain, "b" * 64, [_moved(item, plain) for item in BIRDS])

    assert _sources(index, bracketed) == {bracketed}
    assert _sources(index, plain) == {plain}
    assert _sources(index, "/docs/report?.pdf") == set()
    registry = SqliteRegistry(index._path)  # the same file: the copies' rows are read from it
    try:
        registry.record(DocumentStatus(source="/old/pumps.pdf", state=DocumentState.FAILED, document_id=PUMPS_ID))
        assert _sources(index, "/old/pumps.pdf") == set()  # a failed row is no copy
        registry.record(DocumentStatus(source="/old/pumps.pdf", state=DocumentState.DUPLICATE, document_id=PUMPS_ID))
        assert _sources(index, "/old/pumps.pdf") == {bracketed}
    finally:
        registry.close()


def _sources(index, source: str) -> set[str]:
    """The sources a filter on `source` lets dense and keyword search find (the two must agree)."""
    where = SearchFilter(source=source)
    dense = {chunk.source for chunk, _ in index.dense_search(np.asarray(unit(1, 1)), k=10, where=where)}
    keyword = {chunk.source for chunk, _ in index.keyword_search("pumps birds", k=10, where=where)}
    assert dense == keyword
    return dense


def _moved(item, source: str):
    return embedded(source, item.chunk.document_id, item.chunk.position, item.chunk.text, list(item.vector))


# --- the memory the in-memory copies hold ------------------------------------------------------


def test_memory_reports_each_in_memory_copy_once_a_search_has_loaded_it(index):
    """bench/latency.py reads both numbers: a copy not loaded yet holds nothing; the keyword postings grow
    with the chunks they hold."""
    index.replace_document("/docs/pumps.pdf", PUMPS_ID, PUMPS)
    assert index.memory() == {"dense": 0, "keyword": 0}
    index.keyword_search("pumps", k=1)
    first = index.memory()
    assert first["dense"] == 0 and first["keyword"] > 0
    index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
    index.keyword_search("birds", k=1)
    index.dense_search(np.asarray(unit(1, 0)), k=1)
    second = index.memory()
    assert second["keyword"] > first["keyword"] and second["dense"] > 0


def test_a_lookup_of_more_values_than_one_statement_takes_reads_each_once_in_few_statements():
    """Term ids and the sign pass's finalists are read with IN lists cut to SQLite's parameter limit: 2,000
    values must come back each once, from three statements, not one statement a value."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")
    connection.executemany("INSERT INTO numbers VALUES (?)", [(n,) for n in range(3000)])
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    rows = list(sqlite._select_in(connection, "SELECT n FROM numbers WHERE n IN ({})", list(range(2000))))
    assert sorted(n for (n,) in rows) == list(range(2000))
    assert len(statements) == -(-2000 // sqlite._MAX_PARAMETERS)
    connection.close()


# --- the dense copy read in batches ----------------------------------------------------------


def test_the_exact_dense_copy_read_in_several_batches_holds_every_chunk_in_its_place(index, monkeypatch):
    """The vectors are read from SQLite in batches (so 1M rows' bytes never exist at once): with batches of
    two, seven one-hot chunks must each still be their own best match."""
    monkeypatch.setattr(sqlite, "_READ_BATCH", 2)
    chunks = [embedded("/docs/parts.pdf", "q" * 64, i, f"Part {i}", unit(*[0] * i, 1)) for i in range(7)]
    index.replace_document("/docs/parts.pdf", "q" * 64, chunks)
    for i in range(7):
        assert index.dense_search(np.asarray(unit(*[0] * i, 1)), k=1)[0][0] == chunks[i].chunk


def test_vectors_for_more_ids_than_this_sqlite_build_takes_in_one_statement(index):
    """The retriever asks for the vectors of every ranked chunk. SQLite's parameter limit depends on the build
    (999 before 3.32, 32,766 after, 250,000 in Debian's): one id past this build's limit must still be answered,
    so the lookup is cut into statements."""
    import sqlite3

    limit = sqlite3.connect(":memory:").getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    index.replace_document("/docs/pumps.pdf", PUMPS_ID, PUMPS)
    wanted = [f"missing-{number}" for number in range(limit)] + [chunk.chunk.id for chunk in PUMPS]
    vectors = index.vectors_for(wanted)
    assert set(vectors) == {chunk.chunk.id for chunk in PUMPS}
    for chunk in PUMPS:
        np.testing.assert_array_equal(vectors[chunk.chunk.id], np.asarray(chunk.vector, dtype=np.float32))
