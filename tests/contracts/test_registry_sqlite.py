import sqlite3

import pytest

from ragline.adapters.local.registry import SqliteRegistry, add_missing_columns
from tests.contracts.registry_contract import RegistryContract


class TestSqliteRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, tmp_path):
        registry = SqliteRegistry(tmp_path / "registry.sqlite3")
        yield registry
        registry.close()


class _SchemaReadBeforeAnotherProcessChangedIt:
    """A connection whose look at a table's columns was taken before another process altered the table: the
    race of two processes opening a database from before cards at once, made to happen every time."""

    def __init__(self, connection: sqlite3.Connection, table: str) -> None:
        self._connection = connection
        self._pragma = f"PRAGMA table_info({table})"
        self._columns_seen = connection.execute(self._pragma).fetchall()

    def execute(self, sql: str, *parameters):
        if sql == self._pragma:
            return self._columns_seen
        return self._connection.execute(sql, *parameters)


def test_a_column_another_process_added_first_is_not_an_error(tmp_path):
    path = tmp_path / "index.sqlite3"
    with sqlite3.connect(path) as old:  # a registry from before cards: no card column
        old.execute(
            "CREATE TABLE documents (source TEXT PRIMARY KEY, state TEXT NOT NULL, document_id TEXT, "
            "chunk_count INTEGER NOT NULL, page_count INTEGER NOT NULL, scanned_pages TEXT NOT NULL, reason TEXT, "
            "updated_at TEXT)"
        )
    mine = sqlite3.connect(path, isolation_level=None)
    seen_before = _SchemaReadBeforeAnotherProcessChangedIt(mine, "documents")
    SqliteRegistry(path).close()  # the other process adds the card column first
    add_missing_columns(seen_before)  # its ALTER now fails as a duplicate column: the column is there, as wanted
    columns = [row[1] for row in mine.execute("PRAGMA table_info(documents)")]
    mine.close()
    assert columns.count("card") == 1
