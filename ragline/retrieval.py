"""Retrieval: dense, keyword, or hybrid search over an index, with filters.

What the scores mean (stable across queries):
- `similarity` (every hit, every mode): cosine similarity of question and chunk, in [-1, 1].
  This is the number sent to CloudWatch and compared with thresholds.
- `score` (the ranking score of the mode):
  - dense: the cosine similarity itself;
  - keyword: BM25 (>= 0, unbounded; comparable only within one query, as BM25 always is);
  - hybrid: reciprocal-rank fusion of the dense and keyword rankings, divided by its maximum,
    so it lies in (0, 1] and 1.0 means "ranked first by both".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragline.config import RetrievalSettings, SearchMode
from ragline.filters import SearchFilter
from ragline.model import Chunk, Hit
from ragline.ports import Index


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], rrf_k: int) -> dict[str, float]:
    """Fused scores normalized to (0, 1]: each list contributes 1 / (rrf_k + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (rrf_k + rank)
    best_possible = len(rankings) / (rrf_k + 1)
    return {key: value / best_possible for key, value in fused.items()}


@dataclass(frozen=True)
class RetrievalRequest:
    question: str
    vector: np.ndarray
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
        return [
            Hit(chunk=chunk, score=score, similarity=_cosine(request.vector, vectors.get(chunk.id)))
            for chunk, score in ranked
        ]

    def _ranked(self, request: RetrievalRequest) -> list[tuple[Chunk, float]]:
        if request.mode is SearchMode.DENSE:
            return self._index.dense_search(request.vector, request.k, request.where)
        if request.mode is SearchMode.KEYWORD:
            return self._index.keyword_search(request.question, request.k, request.where)
        depth = max(self._settings.candidates, request.k)
        dense = self._index.dense_search(request.vector, depth, request.where)
        keyword = self._index.keyword_search(request.question, depth, request.where)
        chunks = {chunk.id: chunk for chunk, _ in (*dense, *keyword)}
        fused = reciprocal_rank_fusion(
            [[chunk.id for chunk, _ in dense], [chunk.id for chunk, _ in keyword]], self._settings.rrf_k
        )
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: request.k]
        return [(chunks[chunk_id], score) for chunk_id, score in best]


def _cosine(query: np.ndarray, vector: np.ndarray | None) -> float:
    # Both sides are unit vectors, so the dot product is the cosine.
    return float(np.dot(query, vector)) if vector is not None else float("nan")
