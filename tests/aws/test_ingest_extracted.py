"""`IngestService.ingest_extracted`: the AWS half of ingestion, on the local engine (no AWS needed)."""

from __future__ import annotations

import pytest

from ragline.model import Document, DocumentState, Page


def _document(source: str = "s3://in/a.pdf", text: str = "Pumps move water uphill every day.") -> Document:
    return Document(id="a" * 64, source=source, title="a", pages=(Page(1, text),))


def test_indexes_an_extracted_document_then_skips_the_same_content(fast_engine):
    first = fast_engine.ingestion.ingest_extracted(_document())
    assert first.state is DocumentState.INDEXED and fast_engine.index.count("s3://in/a.pdf") == first.chunk_count
    again = fast_engine.ingestion.ingest_extracted(_document())
    assert again.state is DocumentState.UNCHANGED
    assert fast_engine.ingestion.ingest_extracted(_document("s3://in/copy.pdf")).state is DocumentState.DUPLICATE


def test_a_bad_document_is_recorded_failed_and_does_not_raise(fast_engine):
    status = fast_engine.ingestion.ingest_extracted(_document(text=""))
    assert status.state is DocumentState.FAILED and "no text" in status.reason
    assert fast_engine.registry.get("s3://in/a.pdf") == status


def test_unexpected_errors_are_recorded_then_raised_when_asked(fast_engine, monkeypatch):
    def outage(*_):
        raise ConnectionError("index unreachable")

    monkeypatch.setattr(fast_engine.index, "replace_document", outage)
    with pytest.raises(ConnectionError):
        fast_engine.ingestion.ingest_extracted(_document(), reraise_unexpected=True)
    assert "ConnectionError: index unreachable" in fast_engine.registry.get("s3://in/a.pdf").reason
    assert fast_engine.ingestion.ingest_extracted(_document()).state is DocumentState.FAILED  # default: no raise
