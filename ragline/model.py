"""The domain model: documents, chunks, search hits and answers.

These are plain frozen dataclasses so that every layer (CLI, Lambda, Glue, notebook) can pass
them around without importing any infrastructure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


def content_hash(data: bytes) -> str:
    """A document's identity: the SHA-256 of its bytes, so re-uploads are recognised."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Page:
    """One page of extracted text. `number` is 1-based, as a reader cites it."""

    number: int
    text: str
    has_text_layer: bool = True


@dataclass(frozen=True)
class DocumentCard:
    """What a document is, read at ingestion from its first pages and its file name (`ragline.cards`).

    `doc_type` is one of `ragline.cards.DOC_TYPES`; `period` is ISO (`2023-03-31`, or `2023` when only a
    year is known) for filters and matching, `period_text` the period as the document words it.
    """

    title: str
    doc_type: str
    issuer: str | None = None
    period: str | None = None
    period_text: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "title": self.title,
            "doc_type": self.doc_type,
            "issuer": self.issuer,
            "period": self.period,
            "period_text": self.period_text,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> DocumentCard:
        return cls(
            title=str(data["title"]),
            doc_type=str(data["doc_type"]),
            issuer=data.get("issuer"),
            period=data.get("period"),
            period_text=data.get("period_text"),
        )


@dataclass(frozen=True)
class Document:
    """An extracted document. `id` is the content hash of the original bytes."""

    id: str
    source: str
    title: str
    pages: tuple[Page, ...]
    date: str | None = None  # ISO date from the file's metadata, when it has one
    tags: tuple[str, ...] = ()
    metadata_title: str | None = None  # the file's own title field, as it is (often junk: see ragline.cards)
    card: DocumentCard | None = None

    @property
    def scanned_pages(self) -> tuple[int, ...]:
        """Pages with no text layer: reported, never silently indexed as empty."""
        return tuple(page.number for page in self.pages if not page.has_text_layer)


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit of a document.

    `id` is `<document id>:<position>` so re-ingesting the same bytes yields the same ids.
    `embedding_text` is what the model sees: the chunk prefixed with its document title and
    heading path, so that a passage saying "the Company" still carries whose filing it is.
    """

    id: str
    document_id: str
    source: str
    title: str
    position: int
    text: str
    pages: tuple[int, ...]
    heading_path: tuple[str, ...]
    token_count: int
    embedding_text: str
    date: str | None = None
    tags: tuple[str, ...] = ()
    card: DocumentCard | None = None

    @staticmethod
    def make_id(document_id: str, position: int) -> str:
        return f"{document_id}:{position:05d}"


@dataclass(frozen=True)
class EmbeddedChunk:
    chunk: Chunk
    vector: tuple[float, ...] | list[float]


class DocumentState(StrEnum):
    INDEXED = "indexed"
    UNCHANGED = "unchanged"  # same bytes as last time: nothing was done
    DUPLICATE = "duplicate"  # same bytes as another source that is indexed: nothing was done
    FAILED = "failed"
    DELETED = "deleted"
    INDEXING = "indexing"  # extraction or page windows in flight (AWS); no version served yet


# The states of a row whose content is indexed under its own name (a failed update may hold it too: `holds_chunks`).
HOLDING = (DocumentState.INDEXED, DocumentState.UNCHANGED)


@dataclass(frozen=True)
class DocumentStatus:
    """One row of the document registry."""

    source: str
    state: DocumentState
    document_id: str | None = None
    chunk_count: int = 0
    page_count: int = 0
    scanned_pages: tuple[int, ...] = ()
    reason: str | None = None
    updated_at: str | None = None
    card: DocumentCard | None = None

    @property
    def holds_chunks(self) -> bool:
        """Whether the content this row names is in the index under its source: indexed, unchanged, or a failed
        update that left the previous version's chunks searchable (a failed row counts chunks only then)."""
        if not self.document_id:
            return False
        if self.state is DocumentState.FAILED:
            return self.chunk_count > 0
        return self.state in HOLDING


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores.

    `score` is the ranking score of the mode that produced the hit (see `ragline.retrieval`).
    `similarity` is always the cosine similarity between the question and the chunk, in
    [-1, 1]: the one number that means the same thing for every query and every mode.
    """

    chunk: Chunk
    score: float
    similarity: float


@dataclass(frozen=True)
class Citation:
    number: int  # the [n] the answer text uses
    source: str
    title: str
    pages: tuple[int, ...]
    score: float
    similarity: float
    text: str
    chunk_id: str
    card: DocumentCard | None = None


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    grounded: bool  # False when nothing relevant enough was retrieved
    mode: str
    generator: str
    timings_ms: dict[str, float] = field(default_factory=dict)
