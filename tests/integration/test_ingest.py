"""Ingestion through the composition root: statuses, idempotence, replacement, sync, bad input."""

import shutil

import pytest

from ragline.model import DocumentState
from ragline.records import EMBEDDING_ARCHIVE_PREFIX
from tests import pdf_factory


def _states(report):
    return {outcome.status.source.rsplit("/", 1)[-1]: outcome.status for outcome in report.outcomes}


def _archived(engine):
    from ragline.adapters.local.archive import LocalArchive

    return list(LocalArchive(engine.settings.archive_dir).read(EMBEDDING_ARCHIVE_PREFIX))


@pytest.fixture
def batch(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    pdf_factory.write_report_pdf(folder, name="good.pdf", pages=3)
    pdf_factory.write_empty_file(folder, name="empty.pdf")
    pdf_factory.write_truncated_pdf(folder, name="truncated.pdf")
    pdf_factory.write_encrypted_pdf(folder, name="encrypted.pdf")
    pdf_factory.write_not_a_pdf(folder, name="notes.pdf")
    pdf_factory.write_unicode_name_pdf(folder)
    pdf_factory.write_scanned_pdf(folder, name="scanned.pdf")
    return folder


def test_a_bad_batch_fails_file_by_file_with_reasons_and_the_rest_is_indexed(fast_engine, batch):
    states = _states(fast_engine.ingest([batch]))
    expected_failures = {
        "empty.pdf": "empty",
        "truncated.pdf": "not a readable PDF",
        "encrypted.pdf": "needs a password",
        "notes.pdf": "not a PDF",
        "scanned.pdf": "looks scanned",
    }
    for name, reason in expected_failures.items():
        assert states[name].state is DocumentState.FAILED, name
        assert reason in states[name].reason, (name, states[name].reason)
    for name in ("good.pdf", "Rapport annuel – été 2024 (copie).pdf"):
        assert states[name].state is DocumentState.INDEXED, states[name]
        assert states[name].chunk_count > 0
    registry = {status.source.rsplit("/", 1)[-1]: status.state for status in fast_engine.status()}
    assert registry == {name: status.state for name, status in states.items()}


def test_reingesting_unchanged_files_creates_no_chunks_and_no_archive_records(fast_engine, batch):
    fast_engine.ingest([batch])
    chunks, archived, calls = fast_engine.index.count(), len(_archived(fast_engine)), fast_engine.embedder.calls
    second = _states(fast_engine.ingest([batch]))
    assert second["good.pdf"].state is DocumentState.UNCHANGED
    assert fast_engine.index.count() == chunks
    assert len(_archived(fast_engine)) == archived
    assert fast_engine.embedder.calls == calls


def test_a_changed_file_replaces_its_old_chunks(fast_engine, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    first = pdf_factory.write_report_pdf(folder, name="report.pdf", pages=3)
    fast_engine.ingest([folder])
    old_sentence = first.sentences[1][0]
    assert fast_engine.index.keyword_search(old_sentence, k=1)[0][0].text.count(old_sentence) == 1
    pdf_factory.write_report_pdf(
        folder, name="report.pdf", sentences={1: ["The pumps were replaced by turbines in May."]}
    )
    state = _states(fast_engine.ingest([folder]))["report.pdf"]
    assert state.state is DocumentState.INDEXED
    source = (folder / "report.pdf").resolve().as_posix()
    assert fast_engine.index.count(source) == state.chunk_count
    remaining = " ".join(chunk.text for chunk, _ in fast_engine.index.keyword_search("team logged entries", k=50))
    assert old_sentence not in remaining


def test_sync_removes_the_chunks_of_a_deleted_file(fast_engine, tmp_path):
    folder = tmp_path / "synced"
    folder.mkdir()
    pdf_factory.write_report_pdf(folder, name="keep.pdf", pages=2)
    gone = pdf_factory.write_report_pdf(folder, name="gone.pdf", pages=2, header="Other Corp").path
    fast_engine.ingest([folder], sync=True)
    gone_source = gone.resolve().as_posix()
    assert fast_engine.index.count(gone_source) > 0
    gone.unlink()
    states = _states(fast_engine.ingest([folder], sync=True))
    assert states["gone.pdf"].state is DocumentState.DELETED
    assert fast_engine.index.count(gone_source) == 0
    assert fast_engine.registry.get(gone_source) is None
    assert states["keep.pdf"].state is DocumentState.UNCHANGED


def test_without_sync_a_deleted_file_stays_indexed(fast_engine, tmp_path):
    folder = tmp_path / "unsynced"
    folder.mkdir()
    path = pdf_factory.write_report_pdf(folder, name="a.pdf", pages=2).path
    fast_engine.ingest([folder])
    path.unlink()
    fast_engine.ingest([folder])
    assert fast_engine.index.count(path.resolve().as_posix()) > 0


def test_the_same_bytes_under_two_names_are_indexed_once(fast_engine, tmp_path):
    folder = tmp_path / "copies"
    folder.mkdir()
    original = pdf_factory.write_report_pdf(folder, name="a.pdf", pages=2).path
    shutil.copy(original, folder / "b.pdf")
    states = _states(fast_engine.ingest([folder]))
    assert states["a.pdf"].state is DocumentState.INDEXED
    assert states["b.pdf"].state is DocumentState.DUPLICATE
    assert "a.pdf" in states["b.pdf"].reason
    assert fast_engine.index.count() == states["a.pdf"].chunk_count


def test_a_path_that_does_not_exist_is_a_failed_status(fast_engine, tmp_path):
    states = _states(fast_engine.ingest([tmp_path / "nowhere.pdf"]))
    assert states["nowhere.pdf"].state is DocumentState.FAILED
    assert states["nowhere.pdf"].reason == "no such file or folder"


def test_archive_records_attribute_every_chunk(fast_engine, tmp_path):
    path = pdf_factory.write_report_pdf(tmp_path, name="r.pdf", pages=2).path
    report = fast_engine.ingest([path])
    records = _archived(fast_engine)
    assert len(records) == report.chunks
    assert {record.source for record in records} == {path.resolve().as_posix()}
    assert all(record.model == fast_engine.embedder.model_name and len(record.vector) == 384 for record in records)


def test_a_failing_update_keeps_the_previous_version_and_says_so(fast_engine, tmp_path):
    folder = tmp_path / "update"
    folder.mkdir()
    pdf_factory.write_report_pdf(folder, name="r.pdf", pages=2)
    fast_engine.ingest([folder])
    source = (folder / "r.pdf").resolve().as_posix()
    indexed = fast_engine.index.count(source)
    (folder / "r.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    state = _states(fast_engine.ingest([folder]))["r.pdf"]
    assert state.state is DocumentState.FAILED
    assert f"{indexed} chunks of this source remain searchable" in state.reason


def test_html_is_ingested_and_everything_else_in_the_folder_is_listed_as_skipped(fast_engine, tmp_path):
    folder = tmp_path / "site"
    (folder / "nested").mkdir(parents=True)
    (folder / "guide.html").write_text(
        "<html><head><title>Guide</title></head><body><h1>Valves</h1><p>Valves close slowly.</p></body></html>"
    )
    (folder / "nested" / "slides.pptx").write_bytes(b"PK\x03\x04")
    (folder / ".DS_Store").write_bytes(b"\x00\x00")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pdf_factory.write_report_pdf(elsewhere, name="linked.pdf", pages=1)
    (folder / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    (folder / "dangling.pdf").symlink_to(tmp_path / "missing.pdf")
    report = fast_engine.ingest([folder])
    assert _states(report)["guide.html"].state is DocumentState.INDEXED
    assert fast_engine.index.keyword_search("valves close", k=1)[0][0].title == "Guide"
    skipped = {item.source.rsplit("/", 1)[-1]: item.reason for item in report.skipped}
    assert skipped.keys() == {"slides.pptx", ".DS_Store", "linked-folder", "dangling.pdf"}
    assert ".pptx" in skipped["slides.pptx"]
    assert "symbolic link to a folder" in skipped["linked-folder"]
    assert "broken symbolic link" in skipped["dangling.pdf"]
    assert not report.failed
