"""A document's writes as data: ingestion decides them, a store applies them.

Ingestion first reads what it needs (the registry rows of a source and of the names sharing
its content), then states every write the outcome needs: chunks to put, move or drop, rows to
record or forget, embeddings to archive. Deciding before writing is what lets a store apply
them all in one transaction (the local SQLite store, `ragline.adapters.local.store`); without
one, `apply_in_order` applies them port by port in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ragline.errors import DocumentError
from ragline.faults import checkpoint
from ragline.model import DocumentStatus, EmbeddedChunk
from ragline.ports import ArchiveSink, Index, Registry
from ragline.records import EmbeddingRecord


@dataclass(frozen=True)
class PutChunks:
    """Make `chunks` (all of one content, `document_id`) the only chunks of `source`."""

    source: str
    document_id: str
    chunks: tuple[EmbeddedChunk, ...]


@dataclass(frozen=True)
class MoveChunks:
    """Attribute every chunk of `source` to `to`, another name holding the same content."""

    source: str
    to: str


@dataclass(frozen=True)
class DropChunks:
    """Remove every chunk of `source`."""

    source: str


@dataclass(frozen=True)
class Record:
    """Write the registry row of `status.source`."""

    status: DocumentStatus


@dataclass(frozen=True)
class Forget:
    """Remove the registry row of `source`."""

    source: str


@dataclass(frozen=True)
class Archive:
    """Keep the embeddings of newly indexed chunks (of content `document_id`) for drift analysis."""

    source: str
    document_id: str
    records: tuple[EmbeddingRecord, ...]


class ArchiveError(DocumentError):
    """The chunks of `document_id` are indexed under the source, but their embeddings were not all archived."""

    def __init__(self, source: str, reason: str, document_id: str) -> None:
        super().__init__(source, reason)
        self.document_id = document_id


Write = PutChunks | MoveChunks | DropChunks | Record | Forget | Archive


def write_name(write: Write) -> str:
    """The fault-injection name of a write boundary, e.g. `put_chunks`."""
    return {
        PutChunks: "put_chunks",
        MoveChunks: "move_chunks",
        DropChunks: "drop_chunks",
        Record: "record",
        Forget: "forget",
        Archive: "archive",
    }[type(write)]


class WritePorts(Protocol):
    """The ports writes go to; each is read only when a write needs it, so that a composition root
    building them on first use builds no archive for a delete."""

    index: Index
    registry: Registry
    archive: ArchiveSink


def apply_in_order(writes: Sequence[Write], ports: WritePorts) -> None:
    """Apply the writes one port call at a time, in order (stores with no shared transaction).

    A crash part-way leaves the writes before it done: callers order them so that the state
    left behind is the old one or is repaired by running the same ingestion again.
    """
    for write in writes:
        match write:
            case PutChunks(source, document_id, chunks):
                ports.index.replace_document(source, document_id, chunks)
            case MoveChunks(source, to):
                ports.index.move_source(source, to)
            case DropChunks(source):
                ports.index.delete_source(source)
            case Record(status):
                ports.registry.record(status)
            case Forget(source):
                ports.registry.remove(source)
            case Archive(source, document_id, records):
                archive_or_fail(ports.archive, source, document_id, records)
        checkpoint(f"writes.{write_name(write)}")


def archive_or_fail(archive: ArchiveSink, source: str, document_id: str, records: Sequence[EmbeddingRecord]) -> None:
    """Write the records; a lost record is the document's failure, so the next run redoes it."""
    try:
        written = archive.write(records)
    except Exception as error:
        raise ArchiveError(source, f"indexed, but archiving its embeddings failed: {error}", document_id) from error
    if written not in (len(records), 0):  # 0: archiving is switched off (archive.backend = "none")
        raise ArchiveError(source, f"archived {written} of {len(records)} embeddings", document_id)
