"""Windowed indexing (`ragline.windows`) with in-memory ports: the chain of windows, the publish step
and the races it must lose gracefully. The AWS adapters and the real chain: tests/deployed."""

import json
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from ragline.cards import with_card
from ragline.chunking import Chunker
from ragline.errors import DocumentError
from ragline.model import Document, DocumentState, Page
from ragline.windows import InvalidWindowError, Outcome, ResultCursor, Window, WindowedIndexing
from tests.unit.test_chunking import _long_document

SOURCE = "s3://ingest/manual.pdf"
NEW, OLD = "d" * 64, "e" * 64


@dataclass
class Pages:
    pages: tuple[Page, ...]

    def job_pages(self, job_id, *, source):
        return len(self.pages)

    def read_pages(self, job_id, *, source, first_page, last_page, cursor):
        assert cursor.part == first_page - 1  # each window starts where the previous one stopped
        return self.pages[first_page - 1 : last_page], ResultCursor(last_page, 0)


@dataclass
class Ledger:
    indexing_id: str | None = NEW
    served: str | None = None
    staged: set = field(default_factory=lambda: {NEW})
    retired: set = field(default_factory=set)
    lose_publish: bool = False  # the source is overwritten or deleted while the last window runs
    failed: str | None = None

    def begin(self, source, document_id):
        self.indexing_id = document_id
        self.staged.add(document_id)

    def indexing(self, source):
        return self.indexing_id

    def serves(self, source, document_id):
        return self.served == document_id

    def publish(self, status):
        if self.lose_publish or self.indexing_id != status.document_id:
            return False, None
        replaced, self.served, self.indexing_id = self.served, status.document_id, None
        self.staged.discard(status.document_id)
        if replaced:
            self.retired.add(replaced)
        return True, replaced

    def abandon(self, source, document_id, reason):
        self.staged.discard(document_id)
        if reason and self.indexing_id == document_id:
            self.failed, self.indexing_id = reason, None

    def unhide(self, document_id):
        self.retired.discard(document_id)


@dataclass
class Index:
    chunks: dict = field(default_factory=dict)  # chunk id -> (source, document id)
    written: dict = field(default_factory=dict)  # chunk id -> the chunk as written

    def add_chunks(self, embedded):
        self.chunks.update({item.chunk.id: (item.chunk.source, item.chunk.document_id) for item in embedded})
        self.written.update({item.chunk.id: item.chunk for item in embedded})

    def delete_version(self, source, document_id):
        doomed = [key for key, owner in self.chunks.items() if owner == (source, document_id)]
        for key in doomed:
            del self.chunks[key]
        return len(doomed)


class Ports:
    def __init__(self, document: Document, chunker: Chunker, embedder) -> None:
        self.reader, self.chunker, self.embedder = Pages(document.pages), chunker, embedder
        self.versioned_index, self.ledger, self.window_queue = Index(), Ledger(), self
        self.archive, self.sent, self.archived = self, [], []

    def send(self, window: Window) -> None:
        self.sent.append(Window.from_message(window.to_message()))  # through JSON, as SQS carries it

    def write(self, records) -> int:
        records = list(records)
        self.archived += records
        return len(records)


@pytest.fixture
def document():
    return _long_document()


@pytest.fixture
def ports(document, token_counter, hashing_embedder):
    chunker = Chunker(token_counter, max_tokens=64, overlap_tokens=20, contextual_header=True)
    return Ports(document, chunker, hashing_embedder)


def run_all(service: WindowedIndexing, ports: Ports) -> list:
    results = [service.run(service.first_window(source=SOURCE, document_id=NEW, job_id="job", title="Pump Manual"))]
    while ports.sent:
        results.append(service.run(ports.sent.pop(0)))
    return results


def test_windows_index_the_chunks_of_the_whole_document_and_publish_once(ports, document):
    service = WindowedIndexing(ports, window_pages=5)
    results = run_all(service, ports)
    assert [result.outcome for result in results] == [Outcome.CONTINUED, Outcome.CONTINUED, Outcome.INDEXED]
    # As the local ingestion chunks the whole file, card included (Textract gives no metadata title).
    carded = with_card(Document(id=NEW, source=SOURCE, title="Pump Manual", pages=document.pages))
    whole = ports.chunker.chunk(carded)
    assert sorted(ports.versioned_index.chunks) == [chunk.id for chunk in whole]
    written = ports.versioned_index.written
    assert [written[chunk.id].embedding_text for chunk in whole] == [chunk.embedding_text for chunk in whole]
    assert {chunk.card for chunk in written.values()} == {carded.card}
    assert results[-1].status.chunk_count == len(whole) and results[-1].status.state is DocumentState.INDEXED
    assert results[-1].status.card == carded.card
    assert [record.id for record in ports.archived] == [chunk.id for chunk in whole]
    assert ports.ledger.served == NEW and ports.ledger.staged == set()


def test_a_new_version_retires_the_old_one_only_when_published(ports):
    ports.ledger.served = OLD
    ports.versioned_index.chunks[f"{OLD}:00000"] = (SOURCE, OLD)
    service = WindowedIndexing(ports, window_pages=5)
    results = run_all(service, ports)
    assert results[-1].outcome is Outcome.INDEXED
    assert all(owner == (SOURCE, NEW) for owner in ports.versioned_index.chunks.values())
    assert ports.ledger.retired == set()  # deleted, then no longer hidden


def test_a_version_that_loses_the_race_at_publish_removes_what_it_wrote(ports):
    ports.ledger.lose_publish = True
    service = WindowedIndexing(ports, window_pages=5)
    results = run_all(service, ports)
    assert results[-1].outcome is Outcome.DROPPED
    assert ports.versioned_index.chunks == {} and ports.ledger.staged == set()


def test_a_window_delivered_again_after_its_version_is_served_removes_nothing(ports):
    service = WindowedIndexing(ports, window_pages=5)
    first = service.first_window(source=SOURCE, document_id=NEW, job_id="job", title="Pump Manual")
    run_all(service, ports)
    held = dict(ports.versioned_index.chunks)
    assert service.run(first).outcome is Outcome.DROPPED  # SQS delivers at least once
    assert ports.versioned_index.chunks == held and ports.ledger.served == NEW


def test_a_window_whose_version_was_superseded_stops_and_cleans_up(ports):
    service = WindowedIndexing(ports, window_pages=5)
    service.run(service.first_window(source=SOURCE, document_id=NEW, job_id="job", title="Pump Manual"))
    assert ports.versioned_index.chunks
    ports.ledger.begin(SOURCE, OLD)  # the object was overwritten with other content
    result = service.run(ports.sent.pop(0))
    assert result.outcome is Outcome.DROPPED and ports.sent == []
    assert ports.versioned_index.chunks == {} and ports.ledger.staged == {OLD}


def test_giving_up_keeps_the_served_version_and_records_the_reason(ports):
    ports.ledger.served = OLD
    ports.versioned_index.chunks[f"{OLD}:00000"] = (SOURCE, OLD)
    service = WindowedIndexing(ports, window_pages=5)
    service.run(service.first_window(source=SOURCE, document_id=NEW, job_id="job", title="Pump Manual"))
    service.fail(SOURCE, NEW, "gave up after 3 attempts: endpoint down")
    assert ports.versioned_index.chunks == {f"{OLD}:00000": (SOURCE, OLD)}
    assert ports.ledger.failed.startswith("gave up") and ports.ledger.served == OLD


def test_giving_up_a_version_that_is_already_served_removes_none_of_its_chunks(ports):
    service = WindowedIndexing(ports, window_pages=5)
    run_all(service, ports)  # NEW is published
    served = dict(ports.versioned_index.chunks)
    service.fail(SOURCE, NEW, "not a valid page window message: a late, invalid copy naming the served version")
    assert ports.versioned_index.chunks == served and served
    assert ports.ledger.served == NEW and ports.ledger.failed is None


def test_window_size_must_be_positive(ports):
    with pytest.raises(ValueError, match="window_pages"):
        WindowedIndexing(ports, window_pages=0)


def test_a_window_message_that_does_not_validate_is_refused():
    assert Window.from_message('{"JobId": "x"}') is None  # not a window: a completion
    with pytest.raises(InvalidWindowError, match="not a valid page window") as refused:
        Window.from_message('{"window": {"source": "s3://b/k.pdf", "document_id": "short"}}')
    # What it names validly is kept, so that the version can be given up; an invalid version id is not.
    assert (refused.value.source, refused.value.document_id) == ("s3://b/k.pdf", None)


@pytest.mark.parametrize(
    ("fields", "readable"),
    [
        ({"source": SOURCE, "document_id": NEW, "cursor_block": None}, (SOURCE, NEW)),
        ({"source": "", "document_id": NEW.upper()}, (None, None)),
        ({"source": 7, "document_id": NEW + "0"}, (None, None)),
        (["not", "an", "object"], (None, None)),
    ],
)
def test_an_invalid_window_names_only_the_version_it_names_validly(fields, readable):
    with pytest.raises(InvalidWindowError) as refused:
        Window.from_message(json.dumps({"window": fields}))
    assert (refused.value.source, refused.value.document_id) == readable


def test_a_next_window_that_would_not_validate_fails_the_window_that_makes_it(ports):
    """The receiver would refuse it: it is refused where it is made, and this window is retried, then given up."""
    ports.reader = BadCursor(ports.reader.pages)
    service = WindowedIndexing(ports, window_pages=5)
    with pytest.raises(ValidationError, match="cursor_block"):
        service.run(service.first_window(source=SOURCE, document_id=NEW, job_id="job", title="Pump Manual"))
    assert ports.sent == []


@dataclass
class BadCursor(Pages):
    """A reader whose cursor after the first window is not a cursor."""

    def read_pages(self, job_id, *, source, first_page, last_page, cursor):
        return self.pages[first_page - 1 : last_page], ResultCursor(last_page, None)


def test_an_empty_document_fails_rather_than_serving_nothing(ports):
    ports.reader = Pages((Page(1, ""), Page(2, "   ")))
    service = WindowedIndexing(ports, window_pages=5)
    with pytest.raises(DocumentError, match="no text"):
        run_all(service, ports)
