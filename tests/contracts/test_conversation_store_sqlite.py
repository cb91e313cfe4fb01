import sqlite3

import pytest

from ragline.adapters.local.conversations import SqliteConversationStore
from tests.contracts.conversation_store_contract import ConversationStoreContract, turn


class TestSqliteConversationStore(ConversationStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path):
        opened = []

        def make(max_turns, max_tokens):
            store = SqliteConversationStore(tmp_path / "index.sqlite3", max_turns=max_turns, max_tokens=max_tokens)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

    @pytest.fixture
    def reopen(self, make_store):
        return make_store


def test_turns_beyond_max_turns_are_deleted_not_only_hidden(tmp_path):
    path = tmp_path / "index.sqlite3"
    store = SqliteConversationStore(path, max_turns=2, max_tokens=1000)
    for number in range(1, 5):
        store.append("s", turn(number))
    store.close()
    with sqlite3.connect(path) as connection:
        kept = connection.execute("SELECT position FROM conversation_turns ORDER BY position").fetchall()
    assert kept == [(3,), (4,)]


@pytest.mark.parametrize(("max_turns", "max_tokens"), [(0, 10), (1, 0)])
def test_bounds_below_one_are_refused_naming_them(tmp_path, max_turns, max_tokens):
    with pytest.raises(ValueError, match=f"max_turns \\({max_turns}\\) and max_tokens \\({max_tokens}\\)"):
        SqliteConversationStore(tmp_path / "index.sqlite3", max_turns=max_turns, max_tokens=max_tokens)
