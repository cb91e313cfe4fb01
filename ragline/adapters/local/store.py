"""The laptop's one SQLite file: the index, the registry and the conversations each open it through `connect`.

Why one file: a data folder copied or deleted takes the whole local state along, and the index writes a
document's chunks and its registry rows in one transaction (`ragline.adapters.local.index.sqlite`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: How long a connection waits for another's write lock on the shared file before it raises "database is
#: locked" (sqlite3's own default, named here because three adapters write to the one file).
BUSY_TIMEOUT_SECONDS = 5.0


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the local store at `path` (its folder made if missing): usable from any thread (each
    adapter guards it with its own lock), autocommit (each adapter begins its own transactions), WAL, so that
    readers never wait for a writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection
