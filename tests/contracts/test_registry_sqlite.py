import pytest

from ragline.adapters.local.registry import SqliteRegistry
from tests.contracts.registry_contract import RegistryContract


class TestSqliteRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, tmp_path):
        registry = SqliteRegistry(tmp_path / "registry.sqlite3")
        yield registry
        registry.close()
