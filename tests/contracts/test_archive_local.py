import pytest

from ragline.adapters.local.archive import LocalArchive
from tests.contracts.archive_contract import ArchiveContract


class TestLocalArchive(ArchiveContract):
    @pytest.fixture
    def archive(self, tmp_path):
        return LocalArchive(tmp_path / "archive")

    @pytest.fixture
    def read_back(self, archive):
        return archive.read


def test_files_are_laid_out_like_the_s3_archive(tmp_path):
    from tests.contracts.archive_contract import records

    LocalArchive(tmp_path).write(records())
    files = sorted(path.relative_to(tmp_path).parts[:2] for path in tmp_path.rglob("*.jsonl"))
    day = records()[0].time[:10]
    assert files == [("embeddingarchive", f"dt={day}"), ("promptarchive", f"dt={day}")]


def test_a_batch_of_chunk_records_written_twice_is_kept_once(tmp_path):
    """The index's outbox delivers a batch again after a crash between writing and clearing it."""
    from ragline.records import EMBEDDING_ARCHIVE_PREFIX
    from tests.contracts.archive_contract import records

    archive = LocalArchive(tmp_path)
    batch = [record for record in records() if record.archive_prefix == EMBEDDING_ARCHIVE_PREFIX]
    assert archive.write(batch) == archive.write(batch) == 1
    assert list(archive.read(EMBEDDING_ARCHIVE_PREFIX)) == batch
    assert not list(tmp_path.rglob("*.tmp"))
