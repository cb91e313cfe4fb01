"""Ports: what the domain needs from the outside world.

Each port has a local adapter (for the laptop) and an AWS adapter (for the Lambdas), chosen in
one place, `ragline.bootstrap`. Every adapter of a port passes the same contract suite in
`tests/contracts/`.

A vector crosses a port as a sequence of floats (`Vector`): a row of a numpy matrix from the
local adapters, a list of floats from the AWS ones. Nothing here or in the query path needs
numpy, so the query function ships without it (`bench/RESULTS_handlers.md`: what that saves).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ragline.filters import SearchFilter
from ragline.model import Chunk, Citation, Document, DocumentStatus, EmbeddedChunk
from ragline.records import EmbeddingRecord

if TYPE_CHECKING:
    from ragline.conversation import Turn

Vector = Sequence[float]


@runtime_checkable
class Extractor(Protocol):
    """Turns the bytes of one file into a `Document` with its pages, in reading order."""

    def supports(self, source: str) -> bool: ...

    def extract(self, source: str, data: bytes) -> Document:
        """Raise `ragline.errors.DocumentError` naming the source and the reason on bad input."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens exactly as the embedding model will, so chunks are never truncated."""

    @property
    def max_tokens(self) -> int: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts of many texts at once (batched: the tokenizer runs them in parallel)."""
        ...

    @property
    def additive(self) -> bool:
        """Whether texts joined by whitespace always count as the sum of their counts.

        True for tokenizers that split at whitespace before anything else (BERT's WordPiece): the chunker
        then adds its pieces' counts instead of tokenizing every chunk again.
        """
        ...

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Split a text that is too long into pieces of at most `max_tokens` tokens."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalized vectors, in batches."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Sequence[Vector]:
        """One vector of `dimension` floats per text, in order, each of unit norm (no texts, no rows)."""
        ...


@runtime_checkable
class Index(Protocol):
    """Stores embedded chunks and answers dense and keyword searches with filters."""

    def replace_document(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        """Atomically make `chunks` the only chunks indexed for `source`."""
        ...

    def delete_source(self, source: str) -> int:
        """Remove every chunk of `source`; return how many were removed."""
        ...

    def move_source(self, source: str, to: str) -> int:
        """Attribute every chunk of `source` to `to`, another name holding the same content, so that
        deleting one copy of a file leaves the others served; return how many chunks moved."""
        ...

    def dense_search(self, vector: Vector, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by cosine similarity, best first."""
        ...

    def keyword_search(self, query: str, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 (higher is better), best first."""
        ...

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of the given chunks (missing ids are left out)."""
        ...

    def count(self, source: str | None = None) -> int: ...


@runtime_checkable
class Registry(Protocol):
    """Remembers what happened to every source, so re-ingestion is idempotent."""

    def get(self, source: str) -> DocumentStatus | None: ...

    def find_by_document_id(self, document_id: str) -> DocumentStatus | None: ...

    def sources_of(self, document_id: str) -> list[DocumentStatus]:
        """Every row naming this content (whatever its state), by source: the copies of a file."""
        ...

    def record(self, status: DocumentStatus) -> None: ...

    def remove(self, source: str) -> None: ...

    def all(self) -> list[DocumentStatus]: ...


@runtime_checkable
class ArchiveSink(Protocol):
    """Keeps every embedding (chunk or prompt) for drift analysis."""

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        """Write the records; return how many were written. Raise if any was lost."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from a question and numbered sources, citing them as [n]."""

    @property
    def name(self) -> str: ...

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        """`sources` are numbered from 1; their text is data, never instructions."""
        ...


class Metrics(Protocol):
    """Per-query quality signals (CloudWatch EMF on AWS, a log line locally)."""

    def record_query(self, *, top_similarity: float, mean_similarity: float, hits: int, mode: str) -> None: ...


@runtime_checkable
class ConversationStore(Protocol):
    """The recent turns of each conversation, bounded in turns and in tokens (`ConversationSettings`).

    Two adapters: SQLite beside the local index (one user), and on AWS DynamoDB with a TTL, whose store is
    scoped to one caller (`owned_by`) so a conversation id reads only that caller's turns.
    """

    def recent(self, session: str) -> list[Turn]:
        """The newest turns, oldest first: at most max_turns, and as many of the newest as fit in max_tokens
        (each turn's own `tokens`). An unknown id has none: its first turn starts it."""
        ...

    def append(self, session: str, turn: Turn) -> None:
        """Add the turn after the conversation's last one; turns beyond max_turns are forgotten."""
        ...


@runtime_checkable
class QuestionRewriter(Protocol):
    """Rewrites a follow-up into a question that stands alone, from the conversation's recent turns."""

    @property
    def name(self) -> str: ...

    def rewrite(self, question: str, history: Sequence[Turn]) -> str: ...
