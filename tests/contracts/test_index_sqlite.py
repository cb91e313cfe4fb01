import numpy as np
import pytest

from ragline.index.sqlite import SqliteIndex
from tests.contracts.index_contract import DIMENSION, PUMPS, IndexContract, unit


class TestSqliteIndex(IndexContract):
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
