"""The local conversation store: the recent turns of each conversation, in the index's SQLite database.

One file holds the laptop's whole state (index, registry, conversations), as the registry shares the
index's (`ragline.adapters.local.registry`): a data folder copied or deleted takes its conversations
along. Each conversation keeps at most `max_turns` turns, the older ones deleted by the append that
passes the bound; `recent` reads back the newest of them that fit in `max_tokens`.
"""

from __future__ import annotations

import json
import threading
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
    PRIMARY KEY (session, position)
) WITHOUT ROWID;
"""
_COLUMNS = "question, standalone, answer, sources, tokens, created_at"


class SqliteConversationStore:
    def __init__(self, path: Path, *, max_turns: int, max_tokens: int) -> None:
        if max_turns < 1 or max_tokens < 1:
            raise ValueError(f"max_turns ({max_turns}) and max_tokens ({max_tokens}) must be at least 1")
        self.path = path
        self.max_turns = max_turns
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._connection = connect(path)  # the index's file: it waits for the index's writes, as they for it
        self._connection.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def recent(self, session: str) -> list[Turn]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM conversation_turns WHERE session = ? ORDER BY position DESC LIMIT ?",
                (session, self.max_turns),
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
                    f"INSERT INTO conversation_turns (session, position, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (session, last + 1, *_row(turn)),
                )
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
