import numpy as np
import pytest

from ragline.adapters.local.index.sqlite import SqliteIndex
from ragline.filters import SearchFilter
from tests.contracts.index_contract import BIRDS, DIMENSION, PUMPS, IndexContract, MovingIndexContract, unit


class TestSqliteIndex(IndexContract, MovingIndexContract):
    @pytest.fixture
    def index(self, tmp_path):
        index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
        yield index
        index.close()


def test_data_survives_reopening_and_writes_from_another_connection_are_seen(tmp_path):
    path = tmp_path / "index.sqlite3"
    reader = SqliteIndex(path, dimension=DIMENSION)
    assert reader.dense_search(np.asarray(unit(1, 0)), k=1) == []
    writer = SqliteIndex(path, dimension=DIMENSION)
    writer.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    writer.close()
    assert reader.dense_search(np.asarray(unit(1, 0)), k=1)[0][0] == PUMPS[0].chunk
    reader.close()
    reopened = SqliteIndex(path, dimension=DIMENSION)
    assert reopened.count() == 2
    reopened.close()


def test_a_failure_inside_the_transaction_rolls_back_to_the_previous_chunks(tmp_path):
    import sqlite3

    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    with pytest.raises(sqlite3.IntegrityError):
        index.replace_document("/docs/pumps.pdf", "p" * 64, [PUMPS[0], PUMPS[0]])  # duplicate chunk id
    assert index.count("/docs/pumps.pdf") == 2
    assert index.keyword_search("seals", k=1)[0][0] == PUMPS[1].chunk
    index.close()


def test_a_search_after_the_in_memory_copy_failed_to_build_builds_it_again(tmp_path, monkeypatch):
    """At a million chunks the copy of the vectors takes gigabytes: a MemoryError while it is built fails that
    search, and the next search must try again rather than find a half-replaced copy."""
    from ragline.adapters.local.index.dense import DenseMatrix

    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)

    def out_of_memory(*_):
        raise MemoryError

    monkeypatch.setattr(DenseMatrix, "build", out_of_memory)
    with pytest.raises(MemoryError):
        index.dense_search(np.asarray(unit(1, 0)), k=1)
    monkeypatch.undo()
    assert index.dense_search(np.asarray(unit(1, 0)), k=1)[0][0] == PUMPS[0].chunk
    index.close()


# --- keyword search: numpy BM25 over FTS5's own terms ----------------------------------------------


def _random_corpus(count: int, seed: int = 3) -> list[str]:
    """Texts of varied length over a small vocabulary with a Zipf law, so terms range from rare to
    present in most texts (the case where FTS5's IDF floor matters)."""
    rng = np.random.default_rng(seed)
    words = np.array(
        [
            "pump",
            "pumps",
            "pumping",
            "seal",
            "seals",
            "water",
            "valve",
            "valves",
            "pressure",
            "flow",
            "turbine",
            "turbines",
            "motor",
            "bearing",
            "bearings",
            "leak",
            "leaking",
            "inspection",
            "yearly",
            "monthly",
            "operator",
            "manual",
            "running",
            "runs",
            "ran",
            "café",
            "naïve",
        ]
    )
    p = 1 / np.arange(1, len(words) + 1)
    p /= p.sum()
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 60)), p=p)) for _ in range(count)]


def _fts5_reference(texts: list[str], query_words: list[str], k: int) -> list[tuple[int, float]]:
    import sqlite3

    from ragline.adapters.local.index.bm25 import FTS5_TOKENIZE

    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{FTS5_TOKENIZE}')")
    db.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", list(enumerate(texts)))
    match = " OR ".join(f'"{word}"' for word in query_words)
    rows = db.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?", (match, k)).fetchall()
    db.close()
    return rows


@pytest.mark.parametrize(
    "question", ["pump seals", "leaking valves under pressure", "running", "cafe naive turbine", "pumps pumping"]
)
def test_keyword_scores_equal_fts5_bm25(tmp_path, question):
    from ragline.adapters.local.index.bm25 import question_words
    from tests.contracts.index_contract import embedded

    texts = _random_corpus(300)
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    for document in range(0, len(texts), 50):  # several documents, so rowids and postings interleave
        batch = [
            embedded(f"/docs/{document}.pdf", f"{document:064d}", i, texts[document + i], unit(1, 0)) for i in range(50)
        ]
        index.replace_document(f"/docs/{document}.pdf", f"{document:064d}", batch)
    ours = index.keyword_search(question, k=20)
    reference = _fts5_reference(texts, question_words(question), k=20)
    index.close()
    assert len(ours) == len(reference) > 0
    assert [score for _, score in ours] == pytest.approx([score for _, score in reference], rel=1e-5)
    text_of_reference = {texts[rowid] for rowid, _ in reference[:5]}
    if reference[4][1] - reference[5][1] > 1e-6:  # the top 5 are well separated from what follows
        assert {chunk.text for chunk, _ in ours[:5]} == text_of_reference


def test_keyword_search_sees_writes_from_another_connection(tmp_path):
    path = tmp_path / "index.sqlite3"
    reader = SqliteIndex(path, dimension=DIMENSION)
    assert reader.keyword_search("seals", k=1) == []
    writer = SqliteIndex(path, dimension=DIMENSION)
    writer.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    assert reader.keyword_search("seals", k=1)[0][0] == PUMPS[1].chunk
    writer.delete_source("/docs/pumps.pdf")
    writer.close()
    assert reader.keyword_search("seals", k=1) == []
    reader.close()


def test_an_index_file_from_the_fts5_days_is_migrated_on_open(tmp_path):
    import sqlite3

    from ragline.adapters.local.index.bm25 import FTS5_TOKENIZE

    path = tmp_path / "index.sqlite3"
    index = SqliteIndex(path, dimension=DIMENSION)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.close()
    legacy = sqlite3.connect(path)  # what an index written before numpy BM25 holds: FTS5, no stored terms
    legacy.execute("DELETE FROM chunk_terms")
    legacy.execute("DELETE FROM terms")
    legacy.execute(f"CREATE VIRTUAL TABLE chunks_fts USING fts5(embedding_text, tokenize = '{FTS5_TOKENIZE}')")
    legacy.execute("INSERT INTO chunks_fts (rowid, embedding_text) SELECT rowid, embedding_text FROM chunks")
    legacy.commit()
    legacy.close()

    reopened = SqliteIndex(path, dimension=DIMENSION)
    assert reopened.keyword_search("seals", k=1)[0][0] == PUMPS[1].chunk
    reopened.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()[0] == 0
    check.close()


# --- one database for the chunks, the registry rows and the archive outbox ------------------------


def _store(tmp_path):
    from ragline.adapters.local.registry import SqliteRegistry

    path = tmp_path / "index.sqlite3"
    return SqliteIndex(path, dimension=DIMENSION), SqliteRegistry(path)


def test_registry_writes_keep_both_in_memory_search_copies_and_chunk_writes_replace_them(tmp_path):
    from ragline.model import DocumentState, DocumentStatus

    index, registry = _store(tmp_path)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.dense_search(np.asarray(unit(1, 0)), k=1)
    index.keyword_search("pumps", k=1)
    built, postings = index._current_matrix(), index._current_postings()
    registry.record(DocumentStatus(source="/docs/pumps.pdf", state=DocumentState.UNCHANGED, document_id="p" * 64))
    assert index._current_matrix() is built
    assert index._current_postings() is postings  # rebuilt on every question, BM25 would cost seconds at 1M chunks
    index.delete_source("/docs/pumps.pdf")
    assert index._current_matrix() is not built
    assert index._current_postings() is not postings
    index.close()
    registry.close()


def test_a_copy_s_name_finds_the_content_it_shares(tmp_path):
    from ragline.model import DocumentState, DocumentStatus

    index, registry = _store(tmp_path)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
    copy = DocumentStatus(source="/other/pumps-copy.pdf", state=DocumentState.DUPLICATE, document_id="p" * 64)
    registry.record(copy)
    for pattern in ("pumps-copy.pdf", "/other/*.pdf", "*copy*", "/other/pumps-copy.pdf"):
        hits = index.keyword_search("pumps", k=5, where=SearchFilter(source=pattern))
        assert {chunk.source for chunk, _ in hits} == {"/docs/pumps.pdf"}, pattern
    assert index.keyword_search("pumps", k=5, where=SearchFilter(source="birds-copy.pdf")) == []
    index.close()
    registry.close()


def test_archive_records_wait_in_the_outbox_until_the_sink_takes_them(tmp_path, caplog):
    from ragline.adapters.local.archive import LocalArchive
    from ragline.model import DocumentState, DocumentStatus
    from ragline.records import EMBEDDING_ARCHIVE_PREFIX, EmbeddingRecord, RecordKind
    from ragline.writes import Archive, PutChunks, Record

    class Unreachable:
        def write(self, records):
            raise OSError("disk full")

    index, registry = _store(tmp_path)
    records = tuple(
        EmbeddingRecord.now(id=item.chunk.id, kind=RecordKind.CHUNK, source=item.chunk.source, model="m", vector=[1.0])
        for item in PUMPS
    )
    status = DocumentStatus(source="/docs/pumps.pdf", state=DocumentState.INDEXED, document_id="p" * 64, chunk_count=2)
    writes = [PutChunks("/docs/pumps.pdf", "p" * 64, tuple(PUMPS)), Archive("/docs/pumps.pdf", "p" * 64, records)]
    index.apply([*writes, Record(status)], lambda: Unreachable())
    assert registry.get("/docs/pumps.pdf") == status  # indexed all the same
    # Not swallowed: the operator reads how many embeddings wait, and why (the sink's error, with its traceback).
    failure = next(record for record in caplog.records if record.levelname == "ERROR")
    assert failure.getMessage() == "archiving 2 embeddings failed; they wait in the index to be retried"
    assert failure.exc_info and "disk full" in str(failure.exc_info[1])
    assert index.pending_archive() == 2
    archive = LocalArchive(tmp_path / "archive")
    index.apply([], lambda: archive)
    assert index.pending_archive() == 0
    assert list(archive.read(EMBEDDING_ARCHIVE_PREFIX)) == list(records)
    index.close()
    registry.close()


def test_a_registry_kept_in_its_own_file_is_moved_into_the_index_database(tmp_path):
    from ragline.adapters.local.registry import SqliteRegistry
    from tests.contracts.registry_contract import INDEXED

    legacy = SqliteRegistry(tmp_path / "registry.sqlite3")
    legacy.record(INDEXED)
    legacy.close()
    registry = SqliteRegistry(tmp_path / "index.sqlite3", legacy=tmp_path / "registry.sqlite3")
    assert registry.all() == [INDEXED]
    assert not (tmp_path / "registry.sqlite3").exists()
    assert (tmp_path / "registry.sqlite3.migrated").exists()
    registry.remove(INDEXED.source)
    registry.close()
    reopened = SqliteRegistry(tmp_path / "index.sqlite3", legacy=tmp_path / "registry.sqlite3")
    assert reopened.all() == []  # migrated once: a deleted row does not come back
    reopened.close()


def test_moving_a_registry_file_tells_the_operator_which_file_went_where(tmp_path, caplog):
    # The move renames the operator's file: the warning is how they learn where its rows are now.
    import logging

    from ragline.adapters.local.registry import SqliteRegistry
    from tests.contracts.registry_contract import INDEXED

    legacy = SqliteRegistry(tmp_path / "registry.sqlite3")
    legacy.record(INDEXED)
    legacy.close()
    with caplog.at_level(logging.WARNING, logger="ragline.adapters.local.registry"):
        registry = SqliteRegistry(tmp_path / "index.sqlite3", legacy=tmp_path / "registry.sqlite3")
    registry.close()
    [warning] = [r.getMessage() for r in caplog.records if r.name == "ragline.adapters.local.registry"]
    assert str(tmp_path / "registry.sqlite3") in warning
    assert str(tmp_path / "index.sqlite3") in warning
