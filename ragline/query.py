"""Answering: embed the question, retrieve, generate with citations, record the signals."""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ragline.config import GenerationSettings, RetrievalSettings, SearchMode
from ragline.errors import InvalidQueryError
from ragline.filters import SearchFilter
from ragline.model import Answer, Citation, Hit
from ragline.ports import ArchiveSink, Embedder, Generator, Metrics, Vector
from ragline.prompt import NOT_FOUND_ANSWER
from ragline.records import EmbeddingRecord, RecordKind, archived_vector
from ragline.retrieval import RetrievalRequest, Retriever

MAX_K = 50


@dataclass(frozen=True)
class Question:
    text: str
    k: int
    mode: SearchMode
    where: SearchFilter | None = None
    client: str = "local"


@dataclass(frozen=True)
class Retrieved:
    question: Question
    citations: tuple[Citation, ...]
    top_similarity: float
    timings_ms: dict[str, float]


class QueryService:
    def __init__(
        self,
        *,
        embedder: Embedder,
        retriever: Retriever,
        generator: Generator,
        archive: ArchiveSink,
        metrics: Metrics,
        retrieval: RetrievalSettings,
        generation: GenerationSettings,
        max_question_chars: int,
    ) -> None:
        self._embedder = embedder
        self._retriever = retriever
        self._generator = generator
        self._archive = archive
        self._metrics = metrics
        self._retrieval = retrieval
        self._generation = generation
        self._max_question_chars = max_question_chars

    def question(
        self,
        text: str,
        *,
        k: int | None = None,
        mode: SearchMode | str | None = None,
        where: SearchFilter | None = None,
    ) -> Question:
        """Validate a question and fill in the configured defaults."""
        stripped = (text or "").strip()
        if not stripped:
            raise InvalidQueryError("question: must not be empty")
        if len(stripped) > self._max_question_chars:
            raise InvalidQueryError(
                f"question: {len(stripped)} characters, more than the limit of {self._max_question_chars}"
            )
        k = self._retrieval.k if k is None else k
        if not 1 <= k <= MAX_K:
            raise InvalidQueryError(f"k: {k} is outside 1..{MAX_K}")
        try:
            mode = SearchMode(mode) if mode is not None else self._retrieval.mode
        except ValueError as error:
            raise InvalidQueryError(f"mode: {mode!r} is not one of dense, keyword, hybrid") from error
        return Question(stripped, k, mode, where)

    def search(self, question: Question) -> Retrieved:
        """Retrieve and cite, without generating: the sources an answer would be written from.

        The question's signals are recorded here, so every search counts, answered or not.
        """
        timings: dict[str, float] = {}
        started = time.perf_counter()
        vector = self._embedder.embed([question.text])[0]
        timings["embed_ms"] = _elapsed_ms(started)

        started = time.perf_counter()
        hits = self._retriever.retrieve(
            RetrievalRequest(question.text, vector, question.k, question.mode, question.where)
        )
        timings["retrieve_ms"] = _elapsed_ms(started)
        self._record(question, vector, hits)
        citations = tuple(_citation(number, hit) for number, hit in enumerate(hits, start=1))
        return Retrieved(question, citations, _top_similarity(hits), timings)

    def ask(self, question: Question) -> Answer:
        retrieved = self.search(question)
        timings = dict(retrieved.timings_ms)
        grounded = bool(retrieved.citations) and retrieved.top_similarity >= self._generation.min_similarity
        started = time.perf_counter()
        text = self._generator.generate(question.text, retrieved.citations) if grounded else ""
        timings["generate_ms"] = _elapsed_ms(started)
        return Answer(
            question=question.text,
            text=text or NOT_FOUND_ANSWER,
            citations=retrieved.citations,
            grounded=grounded and bool(text),
            mode=question.mode.value,
            generator=self._generator.name,
            timings_ms=timings,
        )

    def _record(self, question: Question, vector: Vector, hits: Sequence[Hit]) -> None:
        similarities = [hit.similarity for hit in hits if math.isfinite(hit.similarity)]
        if similarities:
            self._metrics.record_query(
                top_similarity=max(similarities),
                mean_similarity=statistics.fmean(similarities),
                hits=len(hits),
                mode=question.mode.value,
            )
        record = EmbeddingRecord.now(
            id=str(uuid.uuid4()),
            kind=RecordKind.PROMPT,
            source=question.client,
            model=self._embedder.model_name,
            vector=archived_vector(vector),
        )
        self._archive.write([record])


def _top_similarity(hits: Sequence[Hit]) -> float:
    return max((hit.similarity for hit in hits if math.isfinite(hit.similarity)), default=-1.0)


def _citation(number: int, hit: Hit) -> Citation:
    chunk = hit.chunk
    return Citation(
        number=number,
        source=chunk.source,
        title=chunk.title,
        pages=chunk.pages,
        score=hit.score,
        similarity=hit.similarity,
        text=chunk.text,
        chunk_id=chunk.id,
        card=chunk.card,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
