"""Every real FinanceBench filing through the real extraction and chunking, idempotently.

The embedder is the hashing double (the real model would take ~30 min on 2 cores); extraction,
chunking, indexing, registry and archive are the production ones. Skipped without the data.
"""

from pathlib import Path

import pytest

from ragline.model import DocumentState
from tests.conftest import SHARED_DATA

FINANCEBENCH_PDFS = SHARED_DATA / "financebench" / "pdfs"

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not FINANCEBENCH_PDFS.is_dir(), reason=f"{FINANCEBENCH_PDFS} is absent"),
]


@pytest.fixture
def synced_folder(tmp_path) -> Path:
    """Links to the filings, so one can be 'removed' without touching the shared data."""
    folder = tmp_path / "filings"
    folder.mkdir()
    for pdf in sorted(FINANCEBENCH_PDFS.glob("*.pdf")):
        (folder / pdf.name).symlink_to(pdf)
    return folder


def test_every_filing_gets_a_status_reingest_adds_nothing_and_sync_removes_a_deleted_one(fast_engine, synced_folder):
    files = sorted(synced_folder.glob("*.pdf"))
    first = fast_engine.ingest([synced_folder], sync=True)
    assert len(first.outcomes) == len(files) == 50
    assert all(outcome.status.state in (DocumentState.INDEXED, DocumentState.FAILED) for outcome in first.outcomes)
    assert all(outcome.status.reason for outcome in first.outcomes if outcome.status.state is DocumentState.FAILED)
    assert first.count(DocumentState.INDEXED) >= 48
    chunks = fast_engine.index.count()
    assert chunks == first.chunks

    second = fast_engine.ingest([synced_folder], sync=True)
    assert fast_engine.index.count() == chunks
    assert second.chunks == 0
    assert second.count(DocumentState.UNCHANGED) == first.count(DocumentState.INDEXED)

    removed = files[0]
    source = removed.as_posix()
    assert fast_engine.index.count(source) > 0
    removed.unlink()
    third = fast_engine.ingest([synced_folder], sync=True)
    assert fast_engine.index.count(source) == 0
    assert [outcome.status.source for outcome in third.outcomes if outcome.status.state is DocumentState.DELETED] == [
        source
    ]
