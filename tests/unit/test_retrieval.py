"""The retriever's similarity: plain Python over whatever vectors an index returns (numpy rows or lists)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragline.config import RetrievalSettings, SearchMode
from ragline.model import Chunk
from ragline.retrieval import RetrievalRequest, Retriever


def _chunk(position: int) -> Chunk:
    return Chunk(
        id=f"doc:{position}",
        document_id="doc",
        source="/docs/a.pdf",
        title="A",
        position=position,
        text=f"text {position}",
        pages=(1,),
        heading_path=(),
        token_count=2,
        embedding_text=f"text {position}",
    )


class VectorIndex:
    """Dense search returns every chunk it holds, in order; vectors come back as stored."""

    def __init__(self, vectors: dict[str, object]) -> None:
        self._vectors = vectors

    def dense_search(self, vector, k, where=None):
        return [(_chunk(position), 1.0 / (position + 1)) for position in range(k)]

    def vectors_for(self, chunk_ids):
        return {chunk_id: self._vectors[chunk_id] for chunk_id in chunk_ids if chunk_id in self._vectors}


def _similarities(question, stored: dict[str, object], k: int = 2) -> list[float]:
    retriever = Retriever(VectorIndex(stored), RetrievalSettings())
    hits = retriever.retrieve(RetrievalRequest("q", question, k, SearchMode.DENSE))
    return [hit.similarity for hit in hits]


def test_similarity_is_the_dot_product_for_numpy_rows_and_for_lists_alike():
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((3, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    expected = [float(np.dot(rows[0], rows[1])), float(np.dot(rows[0], rows[2]))]
    as_numpy = _similarities(rows[0], {"doc:0": rows[1], "doc:1": rows[2]})
    as_lists = _similarities(rows[0].tolist(), {"doc:0": rows[1].tolist(), "doc:1": rows[2].tolist()})
    assert as_numpy == pytest.approx(expected, abs=1e-6)
    assert as_lists == pytest.approx(expected, abs=1e-6)
    assert all(isinstance(value, float) for value in as_numpy + as_lists)


def test_a_chunk_without_a_stored_vector_has_no_similarity():
    similarities = _similarities([1.0, 0.0], {"doc:0": [0.6, 0.8]})
    assert similarities[0] == pytest.approx(0.6)
    assert math.isnan(similarities[1])


def test_a_stored_vector_of_another_dimension_is_an_error_naming_the_chunk():
    with pytest.raises(ValueError, match="chunk doc:1 has a 3-dimensional vector, the question 2"):
        _similarities([1.0, 0.0], {"doc:0": [1.0, 0.0], "doc:1": [1.0, 0.0, 0.0]})
