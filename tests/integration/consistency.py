"""What must hold between the local index, the registry and the archive, whatever happened before.

Read straight from the files (not through the adapters under test), so a bug in an adapter's
reads cannot hide one in its writes.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from ragline.adapters.local.archive import LocalArchive
from ragline.config import Settings
from ragline.model import DocumentState
from ragline.records import EMBEDDING_ARCHIVE_PREFIX

HOLDING = {DocumentState.INDEXED.value, DocumentState.UNCHANGED.value}


def _rows(path: Path, query: str) -> list[tuple]:
    if not path.exists():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute(query).fetchall()
    except sqlite3.OperationalError as error:  # a table not created yet holds nothing
        if "no such table" in str(error):
            return []
        raise
    finally:
        connection.close()


def chunks_by_source(settings: Settings) -> dict[str, tuple[str, int]]:
    """source -> (document id, chunk count), as the index holds them."""
    rows = _rows(settings.index_path, "SELECT source, document_id, count(*) FROM chunks GROUP BY source, document_id")
    found: dict[str, tuple[str, int]] = {}
    for source, document_id, count in rows:
        assert source not in found, f"{source} holds chunks of two contents: {found[source][0]} and {document_id}"
        found[source] = (document_id, count)
    return found


def registry_rows(settings: Settings) -> dict[str, tuple[str, str | None, int, str | None]]:
    """source -> (state, document id, chunk count, reason), from whichever file holds the registry."""
    query = "SELECT source, state, document_id, chunk_count, reason FROM documents"
    rows = _rows(settings.index_path, query) or _rows(settings.registry_path, query)
    return {source: (state, document_id, chunks, reason) for source, state, document_id, chunks, reason in rows}


def archived_ids(settings: Settings) -> Counter[tuple[str, str]]:
    """How often each chunk record (id, time) is in the archive."""
    records = LocalArchive(settings.archive_dir).read(EMBEDDING_ARCHIVE_PREFIX)
    return Counter((record.id, record.time) for record in records)


def assert_consistent(settings: Settings) -> None:
    """No chunk without a row that holds it, no holding row without its chunks, copies name a holder,
    each content indexed once, and no archive record twice."""
    chunks = chunks_by_source(settings)
    rows = registry_rows(settings)
    for source, (document_id, count) in chunks.items():
        assert source in rows, f"{count} chunks of {source} and no registry row"
        state, row_document, row_chunks, _ = rows[source]
        assert row_document == document_id, f"{source}: row names {row_document}, the index holds {document_id}"
        assert row_chunks == count, f"{source}: row says {row_chunks} chunks, the index holds {count}"
        assert state in HOLDING or state == DocumentState.FAILED.value, f"{source} is {state} yet holds chunks"
    for source, (state, document_id, row_chunks, reason) in rows.items():
        if state in HOLDING:
            assert source in chunks, f"{source} is {state} with {row_chunks} chunks, the index holds none"
        if state == DocumentState.DUPLICATE.value:
            holders = [held for held, (content, _) in chunks.items() if content == document_id]
            assert holders, f"{source} is a copy of content nobody holds"
            assert reason and holders[0] in reason, f"{source}: {reason!r} does not name the holder {holders[0]}"
    contents = Counter(document_id for document_id, _ in chunks.values())
    assert all(count == 1 for count in contents.values()), f"content indexed under two names: {contents}"
    twice = [key for key, count in archived_ids(settings).items() if count > 1]
    assert not twice, f"archive records written twice: {twice[:3]}"


def assert_archived(settings: Settings) -> None:
    """Every indexed chunk has its embedding in the archive, once, and nothing waits in the outbox."""
    pending = _rows(settings.index_path, "SELECT count(*) FROM archive_outbox")
    assert not pending or pending[0][0] == 0, f"{pending[0][0]} archive records never delivered"
    indexed = {row[0] for row in _rows(settings.index_path, "SELECT chunk_id FROM chunks")}
    archived = {chunk_id for chunk_id, _ in archived_ids(settings)}
    assert indexed <= archived, f"indexed chunks with no archive record: {sorted(indexed - archived)[:3]}"
