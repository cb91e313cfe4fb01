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


@pytest.mark.parametrize(("max_turns", "max_tokens", "ttl_days"), [(0, 10, 7), (1, 0, 7), (1, 10, 0)])
def test_bounds_below_one_are_refused_naming_them(tmp_path, max_turns, max_tokens, ttl_days):
    named = f"max_turns \\({max_turns}\\), max_tokens \\({max_tokens}\\) and ttl_days \\({ttl_days}\\)"
    with pytest.raises(ValueError, match=named):
        SqliteConversationStore(
            tmp_path / "index.sqlite3", max_turns=max_turns, max_tokens=max_tokens, ttl_days=ttl_days
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def pass_days(self, days: float) -> None:
        self.now += days * 86_400


def _sessions_kept(path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT DISTINCT session FROM conversation_turns ORDER BY 1")]


def test_a_turn_is_read_back_for_ttl_days_then_deleted_with_every_expired_conversation(tmp_path):
    path, clock = tmp_path / "index.sqlite3", Clock()
    store = SqliteConversationStore(path, max_turns=6, max_tokens=1000, ttl_days=3, clock=clock)
    store.append("abandoned", turn(1))
    store.append("resumed", turn(2))
    clock.pass_days(2.9)
    assert [t.question for t in store.recent("abandoned")] == ["and q1?"]
    store.append("resumed", turn(3))
    clock.pass_days(0.2)  # 3.1 days after the first two turns, 0.2 after the third
    assert store.recent("abandoned") == []
    assert [t.question for t in store.recent("resumed")] == ["and q3?"]
    store.append("new", turn(4))  # a turn asked anywhere deletes the expired turns of every conversation
    store.close()
    assert _sessions_kept(path) == ["new", "resumed"]


def test_turns_kept_before_turns_expired_are_kept_ttl_days_from_the_upgrade(tmp_path):
    path, clock = tmp_path / "index.sqlite3", Clock()
    with sqlite3.connect(path) as connection:  # the table as stores before this one wrote it
        connection.execute(
            "CREATE TABLE conversation_turns (session TEXT NOT NULL, position INTEGER NOT NULL, question TEXT NOT NULL,"
            " standalone TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL, tokens INTEGER NOT NULL,"
            " created_at TEXT NOT NULL, PRIMARY KEY (session, position)) WITHOUT ROWID"
        )
        connection.execute(
            "INSERT INTO conversation_turns VALUES ('old', 1, 'and q1?', 'What about q1?', 'Answer 1.', '[]', 10,"
            " '2026-01-01T08:00:00+00:00')"
        )
    store = SqliteConversationStore(path, max_turns=6, max_tokens=1000, ttl_days=2, clock=clock)
    assert [t.question for t in store.recent("old")] == ["and q1?"]
    clock.pass_days(2.1)
    assert store.recent("old") == []
    store.close()
