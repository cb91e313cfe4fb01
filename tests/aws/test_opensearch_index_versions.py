"""The OpenSearch index keeps what a failed write did not replace, says what a refused window's write lost,
answers k results, and refuses an existing index whose vector method differs from the configured one.

Driven through the real opensearch-py client against the in-memory OpenSearch of this folder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ragline.adapters.aws.opensearch_index import IndexWriteError, OpenSearchIndex
from ragline.errors import ConfigurationError
from tests.aws.fake_opensearch import FakeOpenSearch, fake_client
from tests.contracts.index_contract import DIMENSION, PUMPS, embedded, unit


@pytest.fixture
def fake() -> FakeOpenSearch:
    # With OpenSearch's own `_bulk` rules: four action names, `create` refusing an id that exists.
    return FakeOpenSearch()


@pytest.fixture
def index(fake: FakeOpenSearch) -> OpenSearchIndex:
    built = OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION)
    built.ensure_index()
    return built


def _pump_ids(fake: FakeOpenSearch) -> set[str]:
    return {doc_id for doc_id, doc in fake.indices["chunks"].docs.items() if doc["source"] == "/docs/pumps.pdf"}


def test_writing_the_same_content_again_overwrites_its_chunks_in_place(fake, index):
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)  # a redelivered message
    assert _pump_ids(fake) == {item.chunk.id for item in PUMPS}
    assert index.count("/docs/pumps.pdf") == len(PUMPS)


def test_a_refused_rewrite_of_the_same_content_keeps_that_content_searchable(fake, index):
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    fake.refused_ids = {PUMPS[1].chunk.id}
    with pytest.raises(IndexWriteError, match=r"refused 1 of 2 chunks of /docs/pumps\.pdf"):
        index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    # Those chunks were served before the failed write: removing them would lose the document.
    assert _pump_ids(fake) == {item.chunk.id for item in PUMPS}
    assert index.dense_search(unit(1, 0), k=1)[0][0] == PUMPS[0].chunk


def test_a_throttled_chunk_is_sent_again_after_a_back_off_from_1_s_doubling(fake, index, monkeypatch):
    """OpenSearch answers 429 for a chunk when its write queue is full; the bulk helper resends that chunk
    alone after 1 s, then 2 s (recorded here, never waited), and the write succeeds."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            fake.refused_ids.clear()  # the queue has drained

    monkeypatch.setattr("opensearchpy.helpers.actions.time.sleep", sleep)
    fake.refused_ids = {PUMPS[1].chunk.id}
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    assert sleeps == [1, 2]
    assert _pump_ids(fake) == {item.chunk.id for item in PUMPS}


def test_deleting_a_version_before_the_index_exists_deletes_nothing():
    index = OpenSearchIndex(fake_client(FakeOpenSearch()), "never-created", dimension=DIMENSION)
    assert index.delete_version("/docs/pumps.pdf", "p" * 64) == 0


@pytest.mark.parametrize(
    "search",
    [lambda index, k: index.dense_search(unit(1, 0), k=k), lambda index, k: index.keyword_search("pump part", k=k)],
    ids=["dense", "keyword"],
)
def test_a_search_returns_k_hits_beyond_the_ten_of_an_unsized_search(index, search):
    chunks = [embedded("/docs/many.pdf", "m" * 64, n, f"Pump part {n}.", unit(1, n / 20)) for n in range(15)]
    index.replace_document("/docs/many.pdf", "m" * 64, chunks)
    assert len(search(index, 12)) == 12


def test_a_refused_chunk_of_a_window_fails_it_naming_the_count_and_opensearch_s_reason(fake, index):
    fake.refused_ids = {PUMPS[1].chunk.id}
    with pytest.raises(IndexWriteError) as raised:
        index.add_chunks(PUMPS)
    message = str(raised.value)
    assert message.startswith("OpenSearch refused 1 of 2 chunks: ")
    assert PUMPS[1].chunk.id in message and "es_rejected_execution_exception" in message


@pytest.mark.parametrize(
    ("setting", "value"),
    [("engine", "faiss"), ("space_type", "innerproduct")],
)
def test_an_existing_index_with_another_vector_method_is_refused_naming_the_setting(fake, index, setting, value):
    configured = {"engine": "lucene", "space_type": "cosinesimil", setting: value}
    changed = OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION, **configured)
    with pytest.raises(ConfigurationError, match=rf"\['{setting}'\] cannot change on an existing index"):
        changed.ensure_index()


def test_each_stored_chunk_records_when_it_was_indexed_in_utc_to_the_second(fake, index):
    # For an operator reading the index: when each chunk was written, in a zone no reader has to guess.
    before = datetime.now(UTC).replace(microsecond=0)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    after = datetime.now(UTC)
    for stored in fake.indices["chunks"].docs.values():
        indexed_at = datetime.fromisoformat(stored["indexed_at"])
        assert indexed_at.utcoffset() == timedelta(0)
        assert indexed_at.microsecond == 0
        assert before <= indexed_at <= after
