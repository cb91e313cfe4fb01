"""The next file is read, extracted and chunked while this one is embedded, and this file is written while
the next one is embedded (issue 15), and that changes nothing a user can see: which files are indexed, as
what, in which order they are reported, and how a batch stops.
"""

from __future__ import annotations

import threading

import pytest

from ragline.errors import ConfigurationError
from ragline.filters import SearchFilter
from ragline.model import DocumentState, content_hash
from ragline.writes import PutChunks
from tests.integration.test_ingest_outcomes import _by_name as _states
from tests.integration.test_ingest_outcomes import _note

WAIT_SECONDS = 20  # only a broken read-ahead waits this long: it ends a failing test, not a passing one


class _WatchedExtractor:
    """The real extractor, telling who asks when it starts on a file."""

    def __init__(self, extractor) -> None:
        self._extractor = extractor
        self.started: dict[str, threading.Event] = {}
        self.extracted: list[str] = []
        self.threads: set[str] = set()

    def supports(self, name: str) -> bool:
        return self._extractor.supports(name)

    def extract(self, source: str, data: bytes):
        self.extracted.append(source.rsplit("/", 1)[-1])
        self.threads.add(threading.current_thread().name)
        self.started.setdefault(source.rsplit("/", 1)[-1], threading.Event()).set()
        return self._extractor.extract(source, data)

    def when_started(self, name: str) -> threading.Event:
        return self.started.setdefault(name, threading.Event())


class _EmbedderWaitingFor:
    """The test embedder, which on its first call waits for an event and notes whether it came."""

    def __init__(self, embedder, event: threading.Event) -> None:
        self._embedder, self._event = embedder, event
        self.tokens = embedder.tokens
        self.came: bool | None = None

    @property
    def model_name(self) -> str:
        return self._embedder.model_name

    @property
    def dimension(self) -> int:
        return self._embedder.dimension

    def embed(self, texts):
        if self.came is None:
            self.came = self._event.wait(WAIT_SECONDS)
        return self._embedder.embed(texts)


def test_the_next_file_is_extracted_while_this_one_is_embedded(fast_engine, tmp_path):
    _note(tmp_path, "a-pumps.md", "pump")
    _note(tmp_path, "b-valves.md", "valve")
    extractor = _WatchedExtractor(fast_engine.services.extractor)
    embedder = _EmbedderWaitingFor(fast_engine.services.embedder, extractor.when_started("b-valves.md"))
    fast_engine.services.extractor, fast_engine.services.embedder = extractor, embedder

    states = _states(fast_engine.ingest([tmp_path]))

    assert embedder.came is True  # the second file's extraction began while the first was being embedded
    assert [states[name].state for name in ("a-pumps.md", "b-valves.md")] == [DocumentState.INDEXED] * 2


def test_a_file_rewritten_while_the_one_before_it_is_ingested_is_indexed_as_it_is_at_its_turn(fast_engine, tmp_path):
    _note(tmp_path, "a-pumps.md", "pump")
    rewritten = tmp_path / "b-valves.md"
    _note(tmp_path, "b-valves.md", "valve")
    new_text = "# gate valve\n\nThe gate valve is replaced every spring, before the irrigation season starts.\n"

    def rewrite_after_the_first(progress) -> None:
        if progress.source.endswith("a-pumps.md"):
            rewritten.write_text(new_text)

    states = _states(fast_engine.ingest([tmp_path], on_progress=rewrite_after_the_first))

    assert states["b-valves.md"].document_id == content_hash(new_text.encode())
    citations = fast_engine.search("when is the gate valve replaced", mode="keyword").citations
    assert any("irrigation season" in citation.text for citation in citations)


def test_an_indexed_file_rewritten_while_the_one_before_it_is_ingested_is_not_taken_as_unchanged(fast_engine, tmp_path):
    first = tmp_path / "a-pumps.md"
    _note(tmp_path, "a-pumps.md", "pump")
    rewritten = tmp_path / "b-valves.md"
    _note(tmp_path, "b-valves.md", "valve")
    fast_engine.ingest([tmp_path])
    first.write_text("# pump\n\nThe pump is now checked every month.\n")  # so that the batch has work before b
    new_text = "# gate valve\n\nThe gate valve is replaced every spring.\n"

    def rewrite_after_the_first(progress) -> None:
        if progress.source.endswith("a-pumps.md"):
            rewritten.write_text(new_text)

    states = _states(fast_engine.ingest([tmp_path], on_progress=rewrite_after_the_first))

    assert states["b-valves.md"].state is DocumentState.INDEXED
    assert states["b-valves.md"].document_id == content_hash(new_text.encode())


def test_a_file_read_again_at_its_turn_is_extracted_on_the_preparing_thread_alone(fast_engine, tmp_path):
    # pdfium is not thread-safe: a file read again at its turn must not be extracted beside the next one.
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md"):
        _note(tmp_path, name, name[2:-3])
    extractor = _WatchedExtractor(fast_engine.services.extractor)
    fast_engine.services.extractor = extractor

    def rewrite_b_after_a(progress) -> None:
        if progress.source.endswith("a-pumps.md"):
            (tmp_path / "b-valves.md").write_text("# valve\n\nThe valve is greased every week.\n")

    states = _states(fast_engine.ingest([tmp_path], on_progress=rewrite_b_after_a))

    assert extractor.extracted.count("b-valves.md") == 2  # read ahead, then again at its turn
    assert len(extractor.threads) == 1 and next(iter(extractor.threads)).startswith("ingest-prepare")
    assert {name: status.state for name, status in states.items()} == dict.fromkeys(
        ("a-pumps.md", "b-valves.md", "c-tanks.md"), DocumentState.INDEXED
    )


def _other_threads_named(prefix: str) -> list[str]:
    current = threading.current_thread()
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(prefix) and thread is not current]


class _ExtractorHolding(_WatchedExtractor):
    """The watched extractor, which holds one file's extraction until an event and counts extractions at once."""

    def __init__(self, extractor, held: str, until: threading.Event) -> None:
        super().__init__(extractor)
        self._held, self._until = held, until
        self._lock, self._running = threading.Lock(), 0
        self._two_at_once = threading.Event()
        self.most_at_once, self.released_in_time = 0, None

    def extract(self, source: str, data: bytes):
        with self._lock:
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
            if self._running > 1:
                self._two_at_once.set()
        try:
            if source.endswith(self._held) and self.released_in_time is None:
                self.released_in_time = self._until.wait(WAIT_SECONDS)
                # The file submitted before the release is taken at once by another preparing thread, if the pool
                # has one, but that thread may not have been scheduled yet: hold on until its extraction begins,
                # or the overlap would go unseen. With this thread alone, the file waits its turn and so not we.
                if _other_threads_named("ingest-prepare"):
                    self._two_at_once.wait(WAIT_SECONDS)
            return super().extract(source, data)
        finally:
            with self._lock:
                self._running -= 1


def test_a_file_read_again_at_its_turn_is_not_extracted_beside_the_next_file(fast_engine, tmp_path, monkeypatch):
    # pdfium is not thread-safe. b is rewritten while a is written, so at its turn b is prepared again while c,
    # read ahead, may still be extracting. c's extraction is held until b's turn asks the registry about b's new
    # content, which it does only after asking for that preparation: a second preparing thread would then be
    # extracting b beside c, and only one thread may (the thread test above cannot tell, as its notes are quick).
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md"):
        _note(tmp_path, name, name[2:-3])
    new_text = "# valve\n\nThe valve is greased every week.\n"
    asked, release = [], threading.Event()
    extractor = _ExtractorHolding(fast_engine.services.extractor, held="c-tanks.md", until=release)
    fast_engine.services.extractor = extractor
    registry = fast_engine.services.registry
    find_by_document_id = registry.find_by_document_id

    def asked_about(document_id: str):
        if document_id == content_hash(new_text.encode()):
            asked.append(document_id)
            if len(asked) == 2:  # once when b is read again, then at its turn: after its preparation was asked for
                release.set()
        return find_by_document_id(document_id)

    monkeypatch.setattr(registry, "find_by_document_id", asked_about)

    def rewrite_b_after_a(progress) -> None:
        if progress.source.endswith("a-pumps.md"):
            (tmp_path / "b-valves.md").write_text(new_text)

    states = _states(fast_engine.ingest([tmp_path], on_progress=rewrite_b_after_a))

    assert extractor.released_in_time is True  # c was held until b's second preparation was asked for
    assert extractor.extracted.count("b-valves.md") == 2
    assert extractor.most_at_once == 1
    assert {name: status.state for name, status in states.items()} == dict.fromkeys(
        ("a-pumps.md", "b-valves.md", "c-tanks.md"), DocumentState.INDEXED
    )


def test_a_copy_of_the_file_before_it_is_still_a_duplicate(fast_engine, tmp_path):
    # Both are read before either is indexed: the second is found to be a copy only at its turn.
    _note(tmp_path, "a-pumps.md", "pump")
    _note(tmp_path, "b-pumps-copy.md", "pump")
    states = _states(fast_engine.ingest([tmp_path]))
    assert states["a-pumps.md"].state is DocumentState.INDEXED
    assert states["b-pumps-copy.md"].state is DocumentState.DUPLICATE
    assert fast_engine.index.count(states["b-pumps-copy.md"].source) == 0


class _MisconfiguredEmbedder:
    """An embedder whose every call fails for want of configuration, as a missing model would."""

    def __init__(self, embedder) -> None:
        self.tokens = embedder.tokens
        self.model_name, self.dimension = embedder.model_name, embedder.dimension

    def embed(self, texts):
        raise ConfigurationError("embedding.model_dir holds no model")


def test_a_batch_stopped_by_a_configuration_error_leaves_no_preparation_running(fast_engine, tmp_path):
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md"):
        _note(tmp_path, name, name[2:-3])
    extractor = _WatchedExtractor(fast_engine.services.extractor)
    fast_engine.services.extractor = extractor
    fast_engine.services.embedder = _MisconfiguredEmbedder(fast_engine.services.embedder)

    with pytest.raises(ConfigurationError, match="holds no model"):
        fast_engine.ingest([tmp_path])

    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("ingest-prepare")]
    assert "c-tanks.md" not in extractor.extracted  # read ahead by one file at most


def test_each_new_file_is_extracted_once_and_an_unchanged_one_not_at_all(fast_engine, tmp_path):
    # Reading ahead must not cost a second extraction (a scanned PDF's OCR, a Textract job on AWS), and a
    # second run of an unchanged folder costs a hash per file, not an extraction.
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md"):
        _note(tmp_path, name, name[2:-3])
    extractor = _WatchedExtractor(fast_engine.services.extractor)
    fast_engine.services.extractor = extractor

    first = _states(fast_engine.ingest([tmp_path]))
    extracted_by_the_first_run = sorted(extractor.extracted)
    second = _states(fast_engine.ingest([tmp_path]))

    assert extracted_by_the_first_run == ["a-pumps.md", "b-valves.md", "c-tanks.md"]
    assert {status.state for status in first.values()} == {DocumentState.INDEXED}
    assert sorted(extractor.extracted) == extracted_by_the_first_run  # nothing more by the second run
    assert {status.state for status in second.values()} == {DocumentState.UNCHANGED}


def test_a_file_rewritten_before_its_turn_keeps_the_batch_s_tags(fast_engine, tmp_path):
    _note(tmp_path, "a-pumps.md", "pump")
    rewritten = tmp_path / "b-valves.md"
    _note(tmp_path, "b-valves.md", "valve")

    def rewrite_after_the_first(progress) -> None:
        if progress.source.endswith("a-pumps.md"):
            rewritten.write_text("# gate valve\n\nThe gate valve is replaced every spring.\n")

    fast_engine.ingest([tmp_path], tags=["operations"], on_progress=rewrite_after_the_first)

    hits = fast_engine.index.keyword_search("gate valve spring", k=10, where=SearchFilter(tags=("operations",)))
    assert [chunk.source.rsplit("/", 1)[-1] for chunk, _ in hits] == ["b-valves.md"]
    assert hits[0][0].tags == ("operations",)


# --- this file written while the next one is embedded ------------------------------------------------


class _EmbedderNoting:
    """The test embedder, noting the texts of every call and telling when a text with `word` is embedded."""

    def __init__(self, embedder, word: str = "") -> None:
        self._embedder, self._word = embedder, word
        self.tokens = embedder.tokens
        self.model_name, self.dimension = embedder.model_name, embedder.dimension
        self.calls: list[list[str]] = []
        self.embedding_the_word = threading.Event()

    def embed(self, texts):
        self.calls.append(list(texts))
        if self._word and any(self._word in text for text in texts):
            self.embedding_the_word.set()
        return self._embedder.embed(texts)


def _writes_of(writes, name: str) -> bool:
    return any(isinstance(write, PutChunks) and write.source.endswith(name) for write in writes)


def _fail_the_write_of(engine, monkeypatch, name: str, error: Exception) -> None:
    """Make the store's write of the file `name` raise `error`; every other write goes through."""
    index, write = engine.services.index, engine.services.index.apply

    def failing(writes, archive):
        if _writes_of(writes, name):
            raise error
        return write(writes, archive)

    monkeypatch.setattr(index, "apply", failing)


def test_this_file_is_written_while_the_next_one_is_embedded(fast_engine, tmp_path, monkeypatch):
    _note(tmp_path, "a-pumps.md", "pump")
    _note(tmp_path, "b-valves.md", "valve")
    embedder = _EmbedderNoting(fast_engine.services.embedder, word="valve")
    fast_engine.services.embedder = embedder
    index, write = fast_engine.services.index, fast_engine.services.index.apply
    overlapped: list[bool] = []

    def write_waiting_for_the_next_embedding(writes, archive):
        if _writes_of(writes, "a-pumps.md"):
            overlapped.append(embedder.embedding_the_word.wait(WAIT_SECONDS))
        return write(writes, archive)

    monkeypatch.setattr(index, "apply", write_waiting_for_the_next_embedding)
    states = _states(fast_engine.ingest([tmp_path]))

    assert overlapped == [True]  # the second file was embedded while the first one's write was under way
    assert [states[name].state for name in ("a-pumps.md", "b-valves.md")] == [DocumentState.INDEXED] * 2


def test_each_file_is_reported_in_order_and_searchable_when_reported(fast_engine, tmp_path):
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md", "d-pipes.md"):
        _note(tmp_path, name, name[2:-3])
    reported: list[tuple[str, int]] = []

    def note_what_is_searchable(progress) -> None:
        reported.append((progress.source.rsplit("/", 1)[-1], fast_engine.index.count(progress.source)))

    report = fast_engine.ingest([tmp_path], on_progress=note_what_is_searchable)

    assert [name for name, _ in reported] == ["a-pumps.md", "b-valves.md", "c-tanks.md", "d-pipes.md"]
    assert all(chunks > 0 for _, chunks in reported)  # a file is reported once its write is done, not before
    assert [outcome.status.source.rsplit("/", 1)[-1] for outcome in report.outcomes] == [n for n, _ in reported]


def test_a_copy_of_a_file_this_batch_wrote_is_not_embedded_and_not_extracted_once_known(fast_engine, tmp_path):
    _note(tmp_path, "a-pumps.md", "pump")
    _note(tmp_path, "b-valves.md", "valve")
    _note(tmp_path, "c-pumps-copy.md", "pump")  # read while a's write may still be under way
    _note(tmp_path, "d-tanks.md", "tank")
    _note(tmp_path, "e-tanks-copy.md", "tank")  # read before d's outcome is decided
    extractor = _WatchedExtractor(fast_engine.services.extractor)
    embedder = _EmbedderNoting(fast_engine.services.embedder)
    fast_engine.services.extractor, fast_engine.services.embedder = extractor, embedder

    states = _states(fast_engine.ingest([tmp_path]))

    assert {name: status.state for name, status in states.items()} == {
        "a-pumps.md": DocumentState.INDEXED,
        "b-valves.md": DocumentState.INDEXED,
        "c-pumps-copy.md": DocumentState.DUPLICATE,
        "d-tanks.md": DocumentState.INDEXED,
        "e-tanks-copy.md": DocumentState.DUPLICATE,
    }
    assert len(embedder.calls) == 3  # a's, b's and d's chunks, nothing for the copies
    assert "c-pumps-copy.md" not in extractor.extracted  # a's content was decided when c was read


def test_a_write_that_fails_is_that_file_s_failure_and_the_next_file_is_still_indexed(
    fast_engine, tmp_path, monkeypatch
):
    _note(tmp_path, "a-pumps.md", "pump")
    _note(tmp_path, "b-valves.md", "valve")
    _fail_the_write_of(fast_engine, monkeypatch, "a-pumps.md", OSError("disk I/O error"))
    report = fast_engine.ingest([tmp_path])
    states = _states(report)

    assert [outcome.status.source.rsplit("/", 1)[-1] for outcome in report.outcomes] == ["a-pumps.md", "b-valves.md"]
    assert states["a-pumps.md"].state is DocumentState.FAILED and "disk I/O error" in states["a-pumps.md"].reason
    assert fast_engine.registry.get(states["a-pumps.md"].source).state is DocumentState.FAILED  # recorded too
    assert states["b-valves.md"].state is DocumentState.INDEXED


def test_a_write_stopped_by_a_configuration_error_stops_the_batch_with_no_thread_left(
    fast_engine, tmp_path, monkeypatch
):
    for name in ("a-pumps.md", "b-valves.md", "c-tanks.md"):
        _note(tmp_path, name, name[2:-3])
    _fail_the_write_of(
        fast_engine, monkeypatch, "a-pumps.md", ConfigurationError("the index was built with another embedding model")
    )
    with pytest.raises(ConfigurationError, match="another embedding model"):
        fast_engine.ingest([tmp_path])

    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("ingest-")]
    assert fast_engine.registry.all() == []  # neither a's write nor any after it
