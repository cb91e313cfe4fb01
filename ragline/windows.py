"""Indexing a large document in page windows, one version of a source at a time.

On AWS a document's text arrives as Textract's result files. A 3,000-page filing is about a
million blocks: too much for one Lambda invocation to hold, parse, embed and index. So the
document is indexed in windows of `window_pages` pages, each one invocation:

    read its pages' blocks -> clean -> chunk (resuming the ChunkState the previous window left)
      -> embed -> write the chunks (hidden) -> archive -> send the next window, or publish

Windows of one document run one after the other: the chunk state flows forward, so the
chunks are exactly those of the whole document (`ragline.chunking.ChunkStream`), and at most
one window of a version is ever running, which keeps the clean-up rules below simple.
Documents run in parallel, and they are what saturates the embedding endpoint.

Versions, not guesses. The registry records per source the content hash being indexed (set
when extraction starts) and the one served. A version's chunks are written hidden (its hash
is in the ledger's "staged" set, which every search excludes); publishing swaps the served
hash, un-stages the new version and hides the old one in one transaction, so readers see the
old version or the new one, never half of one and never neither. The old version's chunks
are then deleted and un-hidden. A window whose version is no longer the one being indexed
(the object was overwritten or deleted since) removes what its version wrote and stops: a
late result never replaces newer content, and a delete wins over indexing in flight.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragline.cards import CARD_PAGES, make_card
from ragline.chunking import Chunker, ChunkState
from ragline.errors import DocumentError
from ragline.ingest import chunk_record
from ragline.model import Document, DocumentCard, DocumentState, DocumentStatus, EmbeddedChunk, Page
from ragline.ports import ArchiveSink, Embedder

log = logging.getLogger(__name__)


#: A version's id: the SHA-256 of its content, as Textract's job tag carries it.
DOCUMENT_ID = "[0-9a-f]{64}"


class InvalidWindowError(ValueError):
    """A page window message that does not validate, with what of it could still be read.

    `source` and `document_id` are set when the message names them validly: the version they
    name can then be given up (recorded as failed) instead of waiting in "indexing" for ever.
    """

    def __init__(self, reason: str, *, source: str | None, document_id: str | None) -> None:
        super().__init__(reason)
        self.source = source
        self.document_id = document_id


@dataclass(frozen=True)
class ResultCursor:
    """Where the next window's blocks start in an extraction result: a result file and a block in it."""

    part: int = 0
    block: int = 0


class Window(BaseModel):
    """One page window of one version of a document: the queue message between windows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1)
    document_id: str = Field(pattern=f"^{DOCUMENT_ID}$")
    job_id: str = Field(min_length=1)
    title: str
    number: int = Field(ge=0)
    first_page: int = Field(ge=1)
    last_page: int = Field(ge=1)
    total_pages: int = Field(ge=1)
    cursor_part: int = Field(default=0, ge=0)
    cursor_block: int = Field(default=0, ge=0)
    chunk_state: dict = Field(default_factory=lambda: ChunkState().to_json())
    # The document card (ragline.cards), read by the first window from its first pages; None until then.
    card: dict | None = None

    @property
    def is_last(self) -> bool:
        return self.last_page >= self.total_pages

    @property
    def cursor(self) -> ResultCursor:
        return ResultCursor(self.cursor_part, self.cursor_block)

    def to_message(self) -> str:
        return json.dumps({"window": self.model_dump()})

    @classmethod
    def from_message(cls, body: str) -> Window | None:
        """The window a queue message carries; None when the message is not a window."""
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or "window" not in payload:
            return None
        fields = payload["window"]
        try:
            return cls.model_validate(fields)
        except ValidationError as error:
            raise InvalidWindowError(
                f"not a valid page window message: {error}",
                source=cls._valid_field(fields, "source", error),
                document_id=cls._valid_field(fields, "document_id", error),
            ) from error

    @staticmethod
    def _valid_field(fields: object, name: str, error: ValidationError) -> str | None:
        """`fields[name]` of an invalid window, if it is there and validation found nothing wrong with it."""
        if not isinstance(fields, dict) or name not in fields:
            return None
        if any(problem["loc"][:1] == (name,) for problem in error.errors()):
            return None
        return fields[name]


class PageReader(Protocol):
    """A finished extraction job's pages, read a window at a time (Textract's result files on AWS)."""

    def job_pages(self, job_id: str, *, source: str) -> int: ...

    def read_pages(
        self, job_id: str, *, source: str, first_page: int, last_page: int, cursor: ResultCursor
    ) -> tuple[tuple[Page, ...], ResultCursor]: ...


class VersionLedger(Protocol):
    """The registry's record of which version of each source is being indexed and which is served."""

    def begin(self, source: str, document_id: str) -> None:
        """`document_id` is now the version of `source` being indexed (its chunks hidden until published)."""
        ...

    def indexing(self, source: str) -> str | None:
        """The content hash being indexed for `source`, if any."""
        ...

    def serves(self, source: str, document_id: str) -> bool:
        """Whether `document_id` is the version of `source` that searches return."""
        ...

    def publish(self, status: DocumentStatus) -> tuple[bool, str | None]:
        """Serve `status.document_id` for its source, atomically, if it is still the version being
        indexed: record the status, un-stage it and hide the version it replaces. Returns whether
        it was published, and the replaced version (to delete, then `unhide`)."""
        ...

    def abandon(self, source: str, document_id: str, reason: str | None) -> None:
        """Stop indexing this version (its chunks already deleted). With a reason, the source is
        recorded as failed with it, keeping its served version, if the version was still current."""
        ...

    def unhide(self, document_id: str) -> None:
        """A replaced version's chunks are gone: stop excluding it from searches."""
        ...


class VersionedIndex(Protocol):
    """An index whose writes of a version stay hidden until the ledger publishes it."""

    def add_chunks(self, chunks: Sequence[EmbeddedChunk]) -> None: ...

    def delete_version(self, source: str, document_id: str) -> int: ...


class WindowQueue(Protocol):
    def send(self, window: Window) -> None: ...


class WindowPorts(Protocol):
    reader: PageReader
    chunker: Chunker
    embedder: Embedder
    versioned_index: VersionedIndex
    ledger: VersionLedger
    archive: ArchiveSink
    window_queue: WindowQueue


class Outcome(StrEnum):
    CONTINUED = "continued"  # the next window is queued
    INDEXED = "indexed"  # the last window is in: the version is served
    DROPPED = "dropped"  # the version was superseded or deleted: what it wrote is gone


@dataclass(frozen=True)
class WindowResult:
    outcome: Outcome
    window: Window
    chunks: int  # written by this window
    status: DocumentStatus | None = None  # once published


class WindowedIndexing:
    def __init__(self, ports: WindowPorts, *, window_pages: int) -> None:
        if window_pages < 1:
            raise ValueError(f"window_pages must be at least 1, not {window_pages}")
        self._ports = ports
        self._window_pages = window_pages

    def first_window(self, *, source: str, document_id: str, job_id: str, title: str) -> Window | None:
        """The first window of a finished extraction job; None when its version is no longer wanted."""
        if not self._is_current(source, document_id):
            self._drop(source, document_id)
            return None
        total = self._ports.reader.job_pages(job_id, source=source)
        if total < 1:
            raise DocumentError(source, "the extraction found no pages")
        return Window(
            source=source,
            document_id=document_id,
            job_id=job_id,
            title=title,
            number=0,
            first_page=1,
            last_page=min(total, self._window_pages),
            total_pages=total,
        )

    def run(self, window: Window) -> WindowResult:
        """Index one window; queue the next one, or publish the version after the last."""
        if not self._is_current(window.source, window.document_id):
            self._drop(window.source, window.document_id)
            return WindowResult(Outcome.DROPPED, window, 0)
        pages, cursor = self._ports.reader.read_pages(
            window.job_id,
            source=window.source,
            first_page=window.first_page,
            last_page=window.last_page,
            cursor=window.cursor,
        )
        card = DocumentCard.from_json(window.card) if window.card else self._card(window, pages)
        header = Document(id=window.document_id, source=window.source, title=card.title, pages=(), card=card)
        stream = self._ports.chunker.stream(header, ChunkState.from_json(window.chunk_state))
        chunks = [chunk for page in pages for chunk in stream.feed(page)]
        if window.is_last:
            chunks += stream.finish()
        if chunks:
            vectors = self._ports.embedder.embed([chunk.embedding_text for chunk in chunks])
            embedded = [EmbeddedChunk(chunk, vector) for chunk, vector in zip(chunks, vectors, strict=True)]
            self._ports.versioned_index.add_chunks(embedded)
            self._archive(embedded)
        if not window.is_last:
            following = self._following(window, cursor, stream.state, card)
            self._ports.window_queue.send(following)
            return WindowResult(Outcome.CONTINUED, window, len(chunks))
        return self._publish(window, stream.state.next_position, len(chunks), card)

    def fail(self, source: str, document_id: str, reason: str) -> None:
        """Give up on a version (a bad document, or a window out of retries): its chunks go, the
        source is recorded as failed with the reason, and its previous version stays served."""
        if self._ports.ledger.serves(source, document_id):
            # Only a message of a version already published can name it (a duplicate, or an invalid message
            # naming it): its chunks are what searches return, so they stay.
            log.warning("%s: version %s is served; not given up: %s", source, document_id, reason)
            return
        self._ports.versioned_index.delete_version(source, document_id)
        self._ports.ledger.abandon(source, document_id, reason)

    # --- steps ----------------------------------------------------------------------------

    def _is_current(self, source: str, document_id: str) -> bool:
        return self._ports.ledger.indexing(source) == document_id

    def _drop(self, source: str, document_id: str) -> None:
        if self._ports.ledger.serves(source, document_id):
            # A message delivered again (SQS delivers at least once) after its version was published.
            log.info("%s: version %s is already served; nothing to do", source, document_id)
            return
        removed = self._ports.versioned_index.delete_version(source, document_id)
        self._ports.ledger.abandon(source, document_id, None)
        log.info("%s: version %s superseded or deleted; %d chunks it wrote removed", source, document_id, removed)

    @staticmethod
    def _card(window: Window, pages: Sequence[Page]) -> DocumentCard:
        """The card of a document whose first window this is (Textract gives no metadata title: the
        first pages and the file name say what it is)."""
        if window.number != 0:
            raise ValueError(f"{window.source}: window {window.number} carries no document card")
        return make_card([page.text for page in pages[:CARD_PAGES]], window.source)

    def _following(self, window: Window, cursor: ResultCursor, state: ChunkState, card: DocumentCard) -> Window:
        first = window.last_page + 1
        # Validated here, not by the receiver: a bad cursor fails this window, which SQS retries and then
        # gives up on (recording why), where an unvalidated copy would send a message no window can read.
        return Window.model_validate(
            {
                **window.model_dump(),
                "number": window.number + 1,
                "first_page": first,
                "last_page": min(window.total_pages, first + self._window_pages - 1),
                "cursor_part": cursor.part,
                "cursor_block": cursor.block,
                "chunk_state": state.to_json(),
                "card": card.to_json(),
            }
        )

    def _publish(self, window: Window, chunk_count: int, written: int, card: DocumentCard) -> WindowResult:
        if chunk_count == 0:
            raise DocumentError(window.source, "no text could be extracted from any page")
        status = DocumentStatus(
            source=window.source,
            state=DocumentState.INDEXED,
            document_id=window.document_id,
            chunk_count=chunk_count,
            page_count=window.total_pages,
            updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            card=card,
        )
        published, replaced = self._ports.ledger.publish(status)
        if not published:  # overwritten or deleted while the last window ran
            self._drop(window.source, window.document_id)
            return WindowResult(Outcome.DROPPED, window, written)
        if replaced and replaced != window.document_id:
            self._ports.versioned_index.delete_version(window.source, replaced)
            self._ports.ledger.unhide(replaced)
        return WindowResult(Outcome.INDEXED, window, written, status)

    def _archive(self, embedded: Sequence[EmbeddedChunk]) -> None:
        model = self._ports.embedder.model_name
        records = [chunk_record(item.chunk, item.vector, model) for item in embedded]
        written = self._ports.archive.write(records)
        if written not in (len(records), 0):
            raise RuntimeError(f"archived {written} of {len(records)} embeddings")
