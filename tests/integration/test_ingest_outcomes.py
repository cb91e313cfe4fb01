"""What ingestion records for each file when something goes wrong, and what it reports when nothing does
(issue 16: mutation survivors in ragline.ingest).

Markdown notes keep most of these fast; the failing collaborators stand for the real failures they name
(a bug in an extractor, an archive that cannot be written, an embedder that answers short, an index that
cannot be read).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from ragline.bootstrap import build_engine
from ragline.filters import SearchFilter
from ragline.ingest import STAGES
from ragline.model import DocumentState, Page, content_hash
from ragline.records import EMBEDDING_ARCHIVE_PREFIX
from tests import pdf_factory
from tests.fakes import HashingEmbedder
from tests.integration.test_cards import HARBOUR_COVER


def _note(folder, name: str, subject: str) -> str:
    path = folder / name
    path.write_text(f"# {subject}\n\nThe {subject} is checked every quarter by the site engineer.\n")
    return path.resolve().as_posix()


def _by_name(report) -> dict:
    return {outcome.status.source.rsplit("/", 1)[-1]: outcome.status for outcome in report.outcomes}


def _archived(engine) -> list:
    from ragline.adapters.local.archive import LocalArchive

    return list(LocalArchive(engine.settings.archive_dir).read(EMBEDDING_ARCHIVE_PREFIX))


class _UnwritableArchive:
    """An archive sink that cannot take records (a full disk, an unreachable bucket)."""

    def write(self, records):
        raise OSError("disk full")


# --- what a successful ingestion reports ------------------------------------------------------


def test_the_time_of_every_stage_that_ran_is_reported(fast_engine, tmp_path):
    _note(tmp_path, "pumps.md", "pump")
    report = fast_engine.ingest([tmp_path])
    assert {"read", "extract", "card", "chunk", "embed", "index"} <= report.stage_seconds.keys() <= set(STAGES)
    assert all(seconds >= 0 for seconds in report.stage_seconds.values())


def test_progress_names_each_file_with_its_pages_and_what_became_of_it(fast_engine, tmp_path):
    # The CLI's bar counts the pages of indexed files only: the state must come with each file.
    pumps = _note(tmp_path, "pumps.md", "pump")
    (tmp_path / "valves.md").write_bytes(b"")
    seen = []
    fast_engine.ingest([tmp_path], on_progress=seen.append)
    fast_engine.ingest([tmp_path / "pumps.md"], on_progress=seen.append)
    valves = (tmp_path / "valves.md").resolve().as_posix()
    assert [(event.source, event.pages, event.state) for event in seen] == [
        (pumps, 1, DocumentState.INDEXED),
        (valves, 0, DocumentState.FAILED),
        (pumps, 1, DocumentState.UNCHANGED),
    ]


def test_each_archived_embedding_names_its_chunk_its_content_and_its_pages(fast_engine, tmp_path):
    path = pdf_factory.write_report_pdf(tmp_path, name="report.pdf", pages=3).path
    fast_engine.ingest([path])
    services = fast_engine.services
    document = services.extractor.extract(path.resolve().as_posix(), path.read_bytes())
    chunks = {chunk.id: chunk for chunk in services.chunker.chunk(document)}
    records = _archived(fast_engine)
    assert chunks and sorted(record.id for record in records) == sorted(chunks)
    for record in records:
        chunk = chunks[record.id]
        assert (record.source, record.document_id, record.pages) == (chunk.source, chunk.document_id, chunk.pages)
        assert record.document_id == content_hash(path.read_bytes())


def test_a_row_s_time_is_utc_and_says_so(fast_engine, tmp_path):
    _note(tmp_path, "pumps.md", "pump")
    status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert datetime.fromisoformat(status.updated_at).utcoffset() == timedelta(0)


def test_tags_given_to_an_ingestion_are_carried_by_its_chunks(fast_engine, tmp_path):
    tagged, untagged = tmp_path / "tagged", tmp_path / "untagged"
    tagged.mkdir()
    untagged.mkdir()
    pumps = _note(tagged, "pumps.md", "pump")
    _note(untagged, "pumps.md", "pump station")
    fast_engine.ingest([tagged], tags=["operations"])
    fast_engine.ingest([untagged])
    hits = fast_engine.index.keyword_search("pump", k=10, where=SearchFilter(tags=("operations",)))
    assert [chunk.source for chunk, _ in hits] == [pumps]
    assert hits[0][0].tags == ("operations",)


def test_a_file_with_no_text_at_all_says_so(fast_engine, tmp_path):
    (tmp_path / "blank.md").write_text("   \n\n\t\n")
    status = _by_name(fast_engine.ingest([tmp_path]))["blank.md"]
    assert status.state is DocumentState.FAILED
    assert status.reason == "no text could be extracted"


# --- a file that fails among others -----------------------------------------------------------


def test_a_file_removed_while_the_batch_runs_fails_with_the_reason_and_the_rest_is_indexed(fast_engine, tmp_path):
    # 'pumps-old.md' sorts before 'pumps.md': the second is removed once the first is done.
    _note(tmp_path, "pumps-old.md", "old pump")
    removed = tmp_path / "pumps.md"
    _note(tmp_path, "pumps.md", "pump")
    report = fast_engine.ingest([tmp_path], on_progress=lambda progress: removed.unlink(missing_ok=True))
    states = _by_name(report)
    assert states["pumps-old.md"].state is DocumentState.INDEXED
    assert states["pumps.md"].state is DocumentState.FAILED
    assert states["pumps.md"].reason == "cannot read the file: No such file or directory"


class _CrashingExtractor:
    """The real extractor, with a bug that only one file's layout triggers."""

    def __init__(self, extractor, crashes_on: str) -> None:
        self._extractor, self._crashes_on = extractor, crashes_on

    def supports(self, name: str) -> bool:
        return self._extractor.supports(name)

    def extract(self, source: str, data: bytes):
        if source.endswith(self._crashes_on):
            raise RuntimeError("layout parser crashed")
        return self._extractor.extract(source, data)


def test_an_unexpected_error_fails_its_file_with_the_error_named_and_the_batch_goes_on(fast_engine, tmp_path, caplog):
    broken = _note(tmp_path, "pumps.md", "pump")
    _note(tmp_path, "pumps_v2.md", "new pump")
    fast_engine.services.extractor = _CrashingExtractor(fast_engine.services.extractor, "/pumps.md")
    with caplog.at_level(logging.ERROR, logger="ragline.ingest"):
        states = _by_name(fast_engine.ingest([tmp_path]))
    assert states["pumps.md"].state is DocumentState.FAILED
    assert states["pumps.md"].reason == "unexpected RuntimeError: layout parser crashed"
    assert fast_engine.registry.get(broken).reason == states["pumps.md"].reason
    assert states["pumps_v2.md"].state is DocumentState.INDEXED
    assert any(
        record.getMessage() == f"unexpected failure while ingesting {broken}" and record.exc_info
        for record in caplog.records
    )


class _ScanningExtractor:
    """The real extractor, with the file's last page a scan: an image, no text layer."""

    def __init__(self, extractor) -> None:
        self._extractor = extractor

    def supports(self, name: str) -> bool:
        return self._extractor.supports(name)

    def extract(self, source: str, data: bytes):
        document = self._extractor.extract(source, data)
        scan = Page(number=len(document.pages) + 1, text="", has_text_layer=False)
        return replace(document, pages=(*document.pages, scan))


def test_an_indexed_file_s_status_names_its_pages_without_a_text_layer(fast_engine, tmp_path):
    source = _note(tmp_path, "pumps.md", "pump")
    fast_engine.services.extractor = _ScanningExtractor(fast_engine.services.extractor)
    status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert (status.state, status.page_count, status.scanned_pages) == (DocumentState.INDEXED, 2, (2,))
    assert fast_engine.registry.get(source).scanned_pages == (2,)


def test_without_a_shared_transaction_a_failed_update_leaves_the_previous_chunks_searchable(
    fast_engine, tmp_path, monkeypatch
):
    from ragline.adapters.local.registry import SqliteRegistry

    source = _note(tmp_path, "pumps.md", "pump")
    # A registry in a file of its own: the writes go port by port, as on AWS.
    fast_engine.services.registry = SqliteRegistry(tmp_path / "own-registry.sqlite3")
    try:
        before = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
        _note(tmp_path, "pumps.md", "pump station")

        def refused(*_):
            raise OSError("disk full")

        monkeypatch.setattr(fast_engine.index, "replace_document", refused)
        after = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
        assert after.state is DocumentState.FAILED
        assert (
            after.reason
            == f"unexpected OSError: disk full; {before.chunk_count} chunks of this source remain searchable"
        )
        hits = fast_engine.index.keyword_search("pump checked every quarter", k=5)
        assert [chunk.source for chunk, _ in hits] == [source]
    finally:
        fast_engine.services.registry.close()


def test_a_new_file_that_fails_next_to_indexed_ones_claims_no_chunks(fast_engine, tmp_path):
    _note(tmp_path, "pumps.md", "pump")
    (tmp_path / "pumps.md.md").write_bytes(b"")
    status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md.md"]
    assert fast_engine.index.count() > 0
    assert status.state is DocumentState.FAILED
    assert status.reason == "the file is empty (0 bytes)"
    assert (status.chunk_count, status.document_id) == (0, None)


def test_when_the_index_cannot_be_read_the_failure_is_still_recorded_and_logged(
    fast_engine, tmp_path, monkeypatch, caplog
):
    empty = tmp_path / "pumps.md"
    empty.write_bytes(b"")
    source = empty.resolve().as_posix()

    def unreadable(source=None):
        raise OSError("database disk image is malformed")

    monkeypatch.setattr(fast_engine.index, "count", unreadable)
    with caplog.at_level(logging.ERROR, logger="ragline.ingest"):
        status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert (status.state, status.reason) == (DocumentState.FAILED, "the file is empty (0 bytes)")
    assert fast_engine.registry.get(source).reason == status.reason
    assert any(
        record.getMessage() == f"could not count the chunks of {source} left in the index" for record in caplog.records
    )


def test_a_failed_update_keeps_what_the_status_said_of_the_previous_version(fast_engine, tmp_path):
    path = pdf_factory.write_filing_pdf(tmp_path, "harbour.pdf", HARBOUR_COVER, ("Net revenue rose in the quarter.",))
    fast_engine.services.extractor = _ScanningExtractor(fast_engine.services.extractor)
    before = _by_name(fast_engine.ingest([path]))["harbour.pdf"]
    assert before.state is DocumentState.INDEXED
    assert (before.page_count, before.scanned_pages) == (3, (3,)) and before.card is not None
    path.write_bytes(b"%PDF-1.7\ngarbage")
    after = _by_name(fast_engine.ingest([path]))["harbour.pdf"]
    assert after.state is DocumentState.FAILED
    assert (after.document_id, after.chunk_count) == (before.document_id, before.chunk_count)
    assert (after.page_count, after.scanned_pages, after.card) == (before.page_count, before.scanned_pages, before.card)
    assert fast_engine.registry.get(path.resolve().as_posix()).card == before.card


# --- copies -----------------------------------------------------------------------------------


def test_a_copy_takes_over_a_one_chunk_document_whose_holder_failed_then_went(fast_engine, tmp_path):
    # The names share a prefix and a suffix; 'pumps.md' sorts first, so it holds the content.
    holder = _note(tmp_path, "pumps.md", "pump")
    copy = tmp_path / "pumps_copy.md"
    copy.write_bytes((tmp_path / "pumps.md").read_bytes())
    first = _by_name(fast_engine.ingest([tmp_path]))
    assert (first["pumps.md"].state, first["pumps.md"].chunk_count) == (DocumentState.INDEXED, 1)
    assert first["pumps_copy.md"].state is DocumentState.DUPLICATE
    (tmp_path / "pumps.md").write_bytes(b"")
    failed = _by_name(fast_engine.ingest([tmp_path / "pumps.md"]))["pumps.md"]
    assert (failed.state, failed.chunk_count) == (DocumentState.FAILED, 1)
    fast_engine.delete(holder)
    taken = fast_engine.registry.get(copy.resolve().as_posix())
    assert (taken.state, taken.chunk_count, taken.reason) == (DocumentState.INDEXED, 1, None)
    hits = fast_engine.index.keyword_search("pump checked every quarter", k=5)
    assert [chunk.source for chunk, _ in hits] == [copy.resolve().as_posix()]


def test_a_holder_restored_after_a_failed_update_is_indexed_again_and_its_copy_stays_a_copy(fast_engine, tmp_path):
    holder = _note(tmp_path, "pumps.md", "pump")
    original = (tmp_path / "pumps.md").read_bytes()
    copy = tmp_path / "pumps_copy.md"
    copy.write_bytes(original)
    fast_engine.ingest([tmp_path])
    (tmp_path / "pumps.md").write_bytes(b"")
    assert _by_name(fast_engine.ingest([tmp_path / "pumps.md"]))["pumps.md"].state is DocumentState.FAILED
    (tmp_path / "pumps.md").write_bytes(original)  # the same content as before the failed update
    restored = _by_name(fast_engine.ingest([tmp_path / "pumps.md"]))["pumps.md"]
    assert (restored.state, restored.reason) == (DocumentState.INDEXED, None)
    assert fast_engine.registry.get(copy.resolve().as_posix()).state is DocumentState.DUPLICATE
    hits = fast_engine.index.keyword_search("pump checked every quarter", k=5)
    assert [chunk.source for chunk, _ in hits] == [holder]  # once, under the holder


def test_a_duplicate_is_stamped_with_the_time_it_was_found(fast_engine, tmp_path, monkeypatch):
    _note(tmp_path, "pumps.md", "pump")
    (tmp_path / "pumps_copy.md").write_bytes((tmp_path / "pumps.md").read_bytes())
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-01-05T08:00:00+00:00")
    duplicate = _by_name(fast_engine.ingest([tmp_path]))["pumps_copy.md"]
    assert (duplicate.state, duplicate.updated_at) == (DocumentState.DUPLICATE, "2026-01-05T08:00:00+00:00")
    assert fast_engine.registry.get(duplicate.source).updated_at == "2026-01-05T08:00:00+00:00"


def test_an_unchanged_file_is_stamped_with_the_time_it_was_last_checked(fast_engine, tmp_path, monkeypatch):
    _note(tmp_path, "pumps.md", "pump")
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-01-05T08:00:00+00:00")
    fast_engine.ingest([tmp_path])
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-02-09T17:30:00+00:00")
    unchanged = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert (unchanged.state, unchanged.updated_at) == (DocumentState.UNCHANGED, "2026-02-09T17:30:00+00:00")
    assert fast_engine.registry.get(unchanged.source).updated_at == "2026-02-09T17:30:00+00:00"


def test_a_failed_file_is_stamped_with_the_time_it_failed(fast_engine, tmp_path, monkeypatch):
    (tmp_path / "pumps.md").write_bytes(b"")
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-03-02T09:15:00+00:00")
    failed = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert (failed.state, failed.updated_at) == (DocumentState.FAILED, "2026-03-02T09:15:00+00:00")
    assert fast_engine.registry.get(failed.source).updated_at == "2026-03-02T09:15:00+00:00"


def test_a_copy_that_takes_over_the_content_takes_over_what_its_holder_s_status_said(fast_engine, tmp_path):
    fast_engine.services.extractor = _ScanningExtractor(fast_engine.services.extractor)
    path = pdf_factory.write_filing_pdf(tmp_path, "harbour.pdf", HARBOUR_COVER, ("Net revenue rose in the quarter.",))
    copy = tmp_path / "harbour_copy.pdf"
    copy.write_bytes(path.read_bytes())
    holder = _by_name(fast_engine.ingest([tmp_path]))["harbour.pdf"]
    assert (holder.page_count, holder.scanned_pages) == (3, (3,)) and holder.card is not None
    fast_engine.delete(holder.source)
    taken = fast_engine.registry.get(copy.resolve().as_posix())
    assert (taken.state, taken.chunk_count) == (DocumentState.INDEXED, holder.chunk_count)
    assert (taken.page_count, taken.scanned_pages, taken.card) == (holder.page_count, holder.scanned_pages, holder.card)


def test_the_other_copies_name_the_copy_that_took_over_from_the_time_it_did(fast_engine, tmp_path, monkeypatch):
    holder = _note(tmp_path, "pumps.md", "pump")
    for name in ("pumps_copy.md", "pumps_copy2.md"):
        (tmp_path / name).write_bytes((tmp_path / "pumps.md").read_bytes())
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-01-05T08:00:00+00:00")
    fast_engine.ingest([tmp_path])
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-02-09T17:30:00+00:00")
    fast_engine.delete(holder)
    heir = (tmp_path / "pumps_copy.md").resolve().as_posix()
    other = fast_engine.registry.get((tmp_path / "pumps_copy2.md").resolve().as_posix())
    assert (other.state, other.reason) == (DocumentState.DUPLICATE, f"same content as {heir}, which is indexed")
    assert other.updated_at == "2026-02-09T17:30:00+00:00"


def test_a_failed_file_is_logged_as_a_warning_with_its_source_and_reason(fast_engine, tmp_path, caplog):
    (tmp_path / "pumps.md").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="ragline.ingest"):
        status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING] == [
        f"failed to ingest {status.source}: the file is empty (0 bytes)"
    ]


def test_a_copy_that_takes_over_the_content_is_stamped_with_the_time_it_took_it_over(
    fast_engine, tmp_path, monkeypatch
):
    # `ragline status` lists each row's updated_at: the copy's row changed when its holder went, not when it was read.
    holder = _note(tmp_path, "pumps.md", "pump")
    copy = tmp_path / "pumps_copy.md"
    copy.write_bytes((tmp_path / "pumps.md").read_bytes())
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-01-05T08:00:00+00:00")
    assert _by_name(fast_engine.ingest([tmp_path]))["pumps_copy.md"].state is DocumentState.DUPLICATE
    monkeypatch.setattr("ragline.ingest._now", lambda: "2026-02-09T17:30:00+00:00")
    fast_engine.delete(holder)
    taken = fast_engine.registry.get(copy.resolve().as_posix())
    assert (taken.state, taken.updated_at) == (DocumentState.INDEXED, "2026-02-09T17:30:00+00:00")


def test_known_status_says_what_a_content_would_be_recorded_as_without_writing(fast_engine, tmp_path):
    source = _note(tmp_path, "pumps.md", "pump")
    fast_engine.ingest([tmp_path])
    document_id = content_hash((tmp_path / "pumps.md").read_bytes())
    rows = fast_engine.status()
    ingestion = fast_engine.ingestion
    assert ingestion.known_status(source, document_id).state is DocumentState.UNCHANGED
    other = (tmp_path / "pumps_copy.md").resolve().as_posix()
    duplicate = ingestion.known_status(other, document_id)
    assert duplicate.state is DocumentState.DUPLICATE
    assert duplicate.reason == f"same content as {source}, which is indexed"
    assert ingestion.known_status(source, content_hash(b"other bytes")) is None
    assert fast_engine.status() == rows


# --- writing the outcome ----------------------------------------------------------------------


def test_on_the_local_store_an_archive_failure_leaves_the_file_indexed_and_the_records_wait(fast_engine, tmp_path):
    first = _note(tmp_path, "pumps.md", "pump")
    fast_engine.services.archive = _UnwritableArchive()
    status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
    assert status.state is DocumentState.INDEXED
    assert fast_engine.index.count(first) == status.chunk_count
    del fast_engine.services.archive  # the local archive again, as configured
    later = _note(tmp_path, "valves.md", "valve")
    fast_engine.ingest([tmp_path / "valves.md"])
    assert {record.source for record in _archived(fast_engine)} == {first, later}


def test_without_a_shared_transaction_an_archive_failure_names_the_content_left_indexed(fast_engine, tmp_path):
    from ragline.adapters.local.registry import SqliteRegistry

    source = _note(tmp_path, "pumps.md", "pump")
    # A registry in a file of its own: the writes go port by port, as on AWS.
    fast_engine.services.registry = SqliteRegistry(tmp_path / "own-registry.sqlite3")
    fast_engine.services.archive = _UnwritableArchive()
    try:
        status = _by_name(fast_engine.ingest([tmp_path]))["pumps.md"]
        indexed = fast_engine.index.count(source)
        assert indexed > 0
        assert status.state is DocumentState.FAILED
        assert status.reason == (
            "indexed, but archiving its embeddings failed: disk full; "
            f"{indexed} chunks of this source remain searchable"
        )
        assert status.document_id == content_hash((tmp_path / "pumps.md").read_bytes())
    finally:
        fast_engine.services.registry.close()


def test_without_a_shared_transaction_a_failure_after_a_change_claims_nothing_of_the_old_version(fast_engine, tmp_path):
    from ragline.adapters.local.registry import SqliteRegistry

    fast_engine.services.registry = SqliteRegistry(tmp_path / "own-registry.sqlite3")
    folder = tmp_path / "filings"
    folder.mkdir()
    path = pdf_factory.write_filing_pdf(folder, "harbour.pdf", HARBOUR_COVER, ("Net revenue rose in the quarter.",))
    try:
        before = _by_name(fast_engine.ingest([path]))["harbour.pdf"]
        assert before.page_count == 2 and before.card is not None
        pdf_factory.write_filing_pdf(folder, "harbour.pdf", HARBOUR_COVER, ("The quay is inspected every spring.",))
        fast_engine.services.archive = _UnwritableArchive()
        # The new version's chunks are in, the old version's are gone: the row must not describe the old one.
        after = _by_name(fast_engine.ingest([path]))["harbour.pdf"]
        assert after.state is DocumentState.FAILED
        assert after.document_id == content_hash(path.read_bytes()) != before.document_id
        assert (after.page_count, after.scanned_pages, after.card) == (0, (), None)
    finally:
        fast_engine.services.registry.close()


class _RegistryFailingOnce:
    """A registry whose first write is lost (a full disk that is then cleared)."""

    def __init__(self, registry) -> None:
        self._registry, self.failed = registry, False

    def __getattr__(self, name: str):
        return getattr(self._registry, name)

    def record(self, status) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("disk I/O error")
        self._registry.record(status)


def test_without_a_shared_transaction_a_new_file_whose_row_was_lost_is_recorded_with_its_chunks_and_the_batch_goes_on(
    fast_engine, tmp_path
):
    from ragline.adapters.local.registry import SqliteRegistry

    pumps = _note(tmp_path, "pumps.md", "pump")
    _note(tmp_path, "valves.md", "valve")
    own = SqliteRegistry(tmp_path / "own-registry.sqlite3")
    fast_engine.services.registry = _RegistryFailingOnce(own)
    try:
        states = _by_name(fast_engine.ingest([tmp_path]))
        held = fast_engine.index.count(pumps)
        assert held > 0  # written before the row, as on AWS
        assert states["pumps.md"].state is DocumentState.FAILED
        assert states["pumps.md"].reason == (
            f"unexpected OSError: disk I/O error; {held} chunks of this source remain searchable"
        )
        assert own.get(pumps).chunk_count == held
        assert states["valves.md"].state is DocumentState.INDEXED
        assert _by_name(fast_engine.ingest([tmp_path]))["pumps.md"].state is DocumentState.INDEXED  # run again: mended
    finally:
        own.close()


class _ShortEmbedder(HashingEmbedder):
    """An embedding service that answers one vector fewer than it was sent texts."""

    def embed(self, texts):
        return super().embed(texts)[:-1]


def test_an_embedder_answering_fewer_vectors_than_chunks_fails_the_file_and_indexes_nothing(
    settings, token_counter, tmp_path
):
    engine = build_engine(settings, embedder=_ShortEmbedder(token_counter))
    try:
        path = pdf_factory.write_report_pdf(tmp_path, name="report.pdf", pages=3).path
        status = _by_name(engine.ingest([path]))["report.pdf"]
        assert status.state is DocumentState.FAILED
        chunks = len(engine.services.chunker.chunk(engine.services.extractor.extract(str(path), path.read_bytes())))
        assert status.reason.endswith(
            f"the embedding model answered {chunks - 1} vectors for {chunks} chunks; nothing indexed"
        )
        assert engine.index.count() == 0
    finally:
        engine.close()
