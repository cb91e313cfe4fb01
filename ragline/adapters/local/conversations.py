"""The local conversation store: the recent turns of each conversation, in the index's SQLite database.

One file holds the laptop's whole state (index, registry, conversations), as the registry shares the
index's (`ragline.adapters.local.registry`): a data folder copied or deleted takes its conversations
along. Each conversation keeps at most `max_turns` turns, the older ones deleted by the append that
passes the bound; `recent` reads back the newest of them that fit in `max_tokens`.

A turn is kept `ttl_days` after it was asked, as on AWS (where the table's TTL deletes it): reads skip
an expired turn, and every append deletes the expired turns of every conversation, so a server that
runs for months does not keep every conversation it ever had.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ragline.adapters.local.store import connect
from ragline.conversation import CitedSource, Turn, newest_within

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_turns (
    session TEXT NOT NULL,
    position INTEGER NOT NULL,  -- 1, 2, ... in the order the turns were asked
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL,  -- JSON: [{"source": ..., "pages": [...]}, ...]
    tokens INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at INTEGER,  -- epoch seconds: `ttl_days` after the turn was asked
    PRIMARY KEY (session, position)
) WITHOUT ROWID;
"""
EXPIRY_INDEX = "CREATE INDEX IF NOT EXISTS conversation_turns_expiry ON conversation_turns (expires_at)"
_COLUMNS = "question, standalone, answer, sources, tokens, created_at"
SECONDS_PER_DAY = 86_400


class SqliteConversationStore:
    def __init__(
        self,
        path: Path,
        *,
        max_turns: int,
        max_tokens: int,
        ttl_days: int = 7,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_turns < 1 or max_tokens < 1 or ttl_days < 1:
            raise ValueError(
                f"max_turns ({max_turns}), max_tokens ({max_tokens}) and ttl_days ({ttl_days}) must be at least 1"
            )
        self.path = path
        self.max_turns = max_turns
        self.max_tokens = max_tokens
        self.ttl_days = ttl_days
        self._clock = clock
        self._lock = threading.Lock()
        self._connection = connect(path)  # the index's file: it waits for the index's writes, as they for it
        self._connection.executescript(SCHEMA)
        self._add_expiry_to_turns_kept_before_it()
        self._connection.execute(EXPIRY_INDEX)

    def _add_expiry_to_turns_kept_before_it(self) -> None:
        """A store written before turns expired: its turns are kept `ttl_days` from now, as if just asked."""
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(conversation_turns)")}
        if "expires_at" not in columns:
            try:
                self._connection.execute("ALTER TABLE conversation_turns ADD COLUMN expires_at INTEGER")
            except sqlite3.OperationalError as error:  # another process opening the store added it first
                if "duplicate column" not in str(error):
                    raise
        self._connection.execute(
            "UPDATE conversation_turns SET expires_at = ? WHERE expires_at IS NULL", (self._expiry(),)
        )

    def _expiry(self) -> int:
        return int(self._clock()) + self.ttl_days * SECONDS_PER_DAY

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def recent(self, session: str) -> list[Turn]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM conversation_turns WHERE session = ? AND expires_at > ? "
                "ORDER BY position DESC LIMIT ?",
                (session, int(self._clock()), self.max_turns),
            ).fetchall()
        return newest_within((_turn(row) for row in rows), self.max_tokens)

    def append(self, session: str, turn: Turn) -> None:
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")  # the next position is read and taken in one transaction
            try:
                (last,) = connection.execute(
                    "SELECT COALESCE(MAX(position), 0) FROM conversation_turns WHERE session = ?", (session,)
                ).fetchone()
                connection.execute(
                    f"INSERT INTO conversation_turns (session, position, {_COLUMNS}, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session, last + 1, *_row(turn), self._expiry()),
                )
                # Every conversation's expired turns, not only this one's: most conversations are never resumed.
                connection.execute("DELETE FROM conversation_turns WHERE expires_at <= ?", (int(self._clock()),))
                connection.execute(
                    "DELETE FROM conversation_turns WHERE session = ? AND position <= ?",
                    (session, last + 1 - self.max_turns),
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")


def _row(turn: Turn) -> tuple:
    sources = [{"source": cited.source, "pages": list(cited.pages)} for cited in turn.sources]
    return (turn.question, turn.standalone, turn.answer, json.dumps(sources), turn.tokens, turn.created_at)


def _turn(row: tuple) -> Turn:
    question, standalone, answer, sources, tokens, created_at = row
    return Turn(
        question=question,
        standalone=standalone,
        answer=answer,
        sources=tuple(CitedSource(item["source"], tuple(item["pages"])) for item in json.loads(sources)),
        tokens=tokens,
        created_at=created_at,
    )
