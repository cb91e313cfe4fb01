"""Retrieval: dense, keyword, or hybrid search over an index, with filters.

What the scores mean (stable across queries):
- `similarity` (every hit, every mode): cosine similarity of question and chunk, in [-1, 1].
  This is the number sent to CloudWatch and compared with thresholds.
- `score` (the ranking score of the mode):
  - dense: the cosine similarity itself;
  - keyword: BM25 (>= 0, unbounded; comparable only within one query, as BM25 always is);
  - hybrid, `retrieval.fusion = "convex"` (default, w = `dense_weight` 0.6, 100 candidates a list):
    w * minmax(cosine) + (1 - w) * minmax(BM25) over this query's candidates, in [0, 1]; it keeps the
    margins RRF throws away; of the settings measured, the one not below the better of dense and keyword
    on both FinanceBench variants nor below RRF on SciFact (bench/RESULTS.md, section 6); relative to the query;
  - hybrid, `retrieval.fusion = "rrf"`: reciprocal-rank fusion of the dense and keyword rankings,
    divided by its maximum, so it lies in (0, 1] and 1.0 means "ranked first by both";
  - hybrid, either fusion, plus `retrieval.card_boost` (default 0.7) times how much of what the question
    names (issuer 1/2, the fiscal year 1/4, the type it names or else the span it asks about, a year's filing
    or a quarter's, 1/4) the candidate's document card holds (`ragline.cards.card_matches`): soft, it reorders
    the candidates and never removes one.
  - hybrid, before fusion: the documents the question names (`retrieval.named_documents`, default 2: the
    candidates' documents whose cards match it best, its issuer at least) are searched again, each on its own
    and twice as deep, and their hits join the candidates. Corpus-wide, a filing's statement pages lose to
    every other filing's similar ones, so the named filing's right page was often not among the candidates
    for the boost to lift.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ragline.cards import card_matches, names_issuer, question_facets
from ragline.config import RetrievalSettings, SearchMode
from ragline.filters import SearchFilter
from ragline.model import Chunk, Hit
from ragline.ports import Index, Vector


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], rrf_k: int) -> dict[str, float]:
    """Fused scores normalized to (0, 1]: each list contributes 1 / (rrf_k + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (rrf_k + rank)
    best_possible = len(rankings) / (rrf_k + 1)
    return {key: value / best_possible for key, value in fused.items()}


def _minmax(scores: Sequence[tuple[str, float]]) -> dict[str, float]:
    if not scores:
        return {}
    values = [score for _, score in scores]
    low, high = min(values), max(values)
    if high == low:  # one candidate, or all tied: each is the best of its list
        return {key: 1.0 for key, _ in scores}
    return {key: (score - low) / (high - low) for key, score in scores}


def convex_fusion(
    dense: Sequence[tuple[str, float]], keyword: Sequence[tuple[str, float]], dense_weight: float
) -> dict[str, float]:
    """w * minmax(dense) + (1 - w) * minmax(keyword); a key absent from a list gets 0 from it."""
    dense_scaled, keyword_scaled = _minmax(dense), _minmax(keyword)
    return {
        key: dense_weight * dense_scaled.get(key, 0.0) + (1 - dense_weight) * keyword_scaled.get(key, 0.0)
        for key in dense_scaled.keys() | keyword_scaled.keys()
    }


@dataclass(frozen=True)
class RetrievalRequest:
    question: str
    vector: Vector
    k: int
    mode: SearchMode
    where: SearchFilter | None = None


class Retriever:
    def __init__(self, index: Index, settings: RetrievalSettings) -> None:
        self._index = index
        self._settings = settings

    def retrieve(self, request: RetrievalRequest) -> list[Hit]:
        ranked = self._ranked(request)
        vectors = self._index.vectors_for([chunk.id for chunk, _ in ranked])
        question = _floats(request.vector)
        return [
            Hit(chunk=chunk, score=score, similarity=_cosine(question, vectors.get(chunk.id), chunk.id))
            for chunk, score in ranked
        ]

    def _both_searches(
        self, request: RetrievalRequest, depth: int
    ) -> tuple[list[tuple[Chunk, float]], list[tuple[Chunk, float]]]:
        """Hybrid's two searches at once: the dense one on a worker thread while this one runs the keyword one.

        Why: they are independent, and each spends its time where Python lets another thread run (numpy and
        SimSIMD over a million rows locally, a round trip to OpenSearch on AWS), so a hybrid question costs
        about the slower of the two instead of their sum (bench/RESULTS.md, section 4.1).
        """
        dense = _searches().submit(self._index.dense_search, request.vector, depth, request.where)
        keyword = self._index.keyword_search(request.question, depth, request.where)
        return dense.result(), keyword

    def _searches_within(
        self, request: RetrievalRequest, sources: Sequence[str], depth: int
    ) -> list[tuple[list[tuple[Chunk, float]], list[tuple[Chunk, float]]]]:
        """Both searches inside each of `sources`: the dense ones on worker threads at once, as in `_both_searches`."""
        filters = [_within(request, source) for source in sources]
        dense = [_searches().submit(self._index.dense_search, request.vector, depth, where) for where in filters]
        keyword = [self._index.keyword_search(request.question, depth, where) for where in filters]
        return [(future.result(), hits) for future, hits in zip(dense, keyword, strict=True)]

    def _ranked(self, request: RetrievalRequest) -> list[tuple[Chunk, float]]:
        if request.mode is SearchMode.DENSE:
            return self._index.dense_search(request.vector, request.k, request.where)
        if request.mode is SearchMode.KEYWORD:
            return self._index.keyword_search(request.question, request.k, request.where)
        depth = max(self._settings.candidates, request.k)
        dense, keyword = self._both_searches(request, depth)
        named = named_documents(request.question, [*dense, *keyword], self._settings.named_documents)
        for more_dense, more_keyword in self._searches_within(request, named, NAMED_DOCUMENT_DEPTH * depth):
            dense, keyword = _merged(dense, more_dense), _merged(keyword, more_keyword)
        chunks = {chunk.id: chunk for chunk, _ in (*dense, *keyword)}
        if self._settings.fusion == "convex":
            fused = convex_fusion(
                [(chunk.id, score) for chunk, score in dense],
                [(chunk.id, score) for chunk, score in keyword],
                self._settings.dense_weight,
            )
        else:
            fused = reciprocal_rank_fusion(
                [[chunk.id for chunk, _ in dense], [chunk.id for chunk, _ in keyword]], self._settings.rrf_k
            )
        if self._settings.card_boost:
            fused = boost_by_cards(fused, chunks, request.question, self._settings.card_boost)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: request.k]
        return [(chunks[chunk_id], score) for chunk_id, score in best]


#: How much deeper than the corpus-wide lists a named document is searched, in `candidates`: one named filing
#: holds hundreds of chunks. 1 and 2 tied on the 19-PDF FinanceBench subset, 4 lost page-hit@10 there; on all
#: 50 PDFs 2 found one question's page more than 1 (bench/RESULTS.md, section 6.2).
NAMED_DOCUMENT_DEPTH = 2


def named_documents(question: str, candidates: Sequence[tuple[Chunk, float]], limit: int) -> list[str]:
    """The sources, among the candidates' documents whose issuer the question names, whose cards match it best
    (issuer, fiscal year, type or span): at most `limit` of them, and none when more tie (the question then
    names no filing in particular, "3M's 10-Ks", and the corpus-wide lists stand)."""
    if limit <= 0:
        return []
    facets = question_facets(question)
    cards = {chunk.source: chunk.card for chunk, _ in candidates}  # one card a document: read each once
    sources = sorted(source for source, card in cards.items() if names_issuer(card, facets))
    matches = card_matches([cards[source] for source in sources], facets)
    best = max(matches, default=0.0)
    named = [source for source, match in zip(sources, matches, strict=True) if match == best]
    return named if len(named) <= limit else []


def _within(request: RetrievalRequest, source: str) -> SearchFilter:
    """The question's own filter narrowed to one document: its hits came through that filter, so it matches."""
    return (request.where or SearchFilter()).model_copy(update={"source": source})


def _merged(hits: list[tuple[Chunk, float]], more: list[tuple[Chunk, float]]) -> list[tuple[Chunk, float]]:
    """`hits` then those of `more` not already among them; one search's scores, so they stay comparable."""
    seen = {chunk.id for chunk, _ in hits}
    return hits + [(chunk, score) for chunk, score in more if chunk.id not in seen]


@functools.cache
def _searches() -> ThreadPoolExecutor:
    """The threads hybrid's dense searches run on: made at the first hybrid question, never at import. As many
    as the local server answers at once (`server.max_in_flight`'s default), so no question waits for another's."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="ragline-dense-search")


def boost_by_cards(fused: dict[str, float], chunks: dict[str, Chunk], question: str, weight: float) -> dict[str, float]:
    """Each candidate's fused score plus `weight` times how much of what the question names its card holds."""
    keys = list(fused)
    matches = card_matches([chunks[key].card for key in keys], question_facets(question))
    return {key: fused[key] + weight * match for key, match in zip(keys, matches, strict=True)}


def _floats(vector: Vector) -> list[float]:
    # A numpy row (the local adapters') becomes a list in C: iterating its scalars in Python is 5x slower.
    return vector.tolist() if hasattr(vector, "tolist") else list(vector)


def _cosine(question: list[float], vector: Vector | None, chunk_id: str) -> float:
    # Both sides are unit vectors, so the dot product is the cosine. Plain Python, so that the query
    # function needs no numpy: one question against at most k vectors.
    if vector is None:
        return float("nan")
    stored = _floats(vector)
    if len(stored) != len(question):
        raise ValueError(f"chunk {chunk_id} has a {len(stored)}-dimensional vector, the question {len(question)}")
    return sum(map(operator.mul, question, stored))
