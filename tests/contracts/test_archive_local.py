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
