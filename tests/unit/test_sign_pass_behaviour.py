"""The sign pass of large indexes at the edges of its promises (issue 16): signs centred on the mean of every
batch, and float32 read from storage only for the rows that can be in the top k.

tests/unit/test_sign_matrix.py checks the pool and the results against a brute force on vectors centred near
zero; here, embeddings that share a common offset, as real ones do.
"""

from __future__ import annotations

import numpy as np

from ragline.adapters.local.index import signs
from ragline.adapters.local.index.dense import half_error_bound
from ragline.adapters.local.index.signs import SignMatrix

DIMENSION = 128


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _embeddings(rng: np.random.Generator, count: int, offset: float) -> np.ndarray:
    """Unit vectors around 40 topics, every one shifted by the same direction `offset` times the topics' size."""
    centres = rng.standard_normal((40, DIMENSION))
    rows = centres[rng.integers(0, 40, count)] + 0.9 * rng.standard_normal((count, DIMENSION))
    shared = np.abs(rng.standard_normal(DIMENSION)) * offset * np.sqrt(DIMENSION)
    return _unit(rows + shared)


class Storage:
    """The float32 vectors by rowid, as SQLite holds them, remembering which rows were read."""

    def __init__(self, rowids: np.ndarray, vectors: np.ndarray) -> None:
        self._by_rowid = dict(zip(rowids.tolist(), vectors, strict=True))
        self.read: list[int] = []

    def __call__(self, wanted: np.ndarray) -> np.ndarray:
        self.read.extend(int(rowid) for rowid in wanted)
        return np.array([self._by_rowid[int(rowid)] for rowid in wanted], dtype=np.float32).reshape(-1, DIMENSION)


def _matrix(vectors: np.ndarray, batch: int = 700) -> tuple[SignMatrix, Storage]:
    rowids = np.arange(1, len(vectors) + 1, dtype=np.int64) * 3
    storage = Storage(rowids, vectors)
    batches = (vectors[start : start + batch] for start in range(0, len(vectors), batch))
    return SignMatrix.build(rowids, batches, DIMENSION, storage), storage


def _queries(rng: np.random.Generator, vectors: np.ndarray, count: int) -> list[np.ndarray]:
    near = vectors[rng.integers(0, len(vectors), count)]
    return list(_unit(near + 0.05 * rng.standard_normal(near.shape)))


def _exact_top(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return np.lexsort((np.arange(len(vectors)), -(vectors @ query)))[:k].tolist()


def test_embeddings_sharing_an_offset_keep_their_recall_when_built_from_many_batches(monkeypatch):
    """Signs around zero would be nearly the same for every row here (recall ~0.65 when centred on one batch's
    share of the mean); around the mean of all 29 batches they still tell the rows apart. A pool of 2%."""
    monkeypatch.setattr(signs, "MIN_POOL", 400)
    monkeypatch.setattr(signs, "OVERSAMPLE", 40)
    rng = np.random.default_rng(21)
    vectors = _embeddings(rng, 20_000, offset=0.25)
    assert (vectors > 0).mean() > 0.75  # the offset shows: most components are positive in every row
    matrix, _ = _matrix(vectors)
    recalls = []
    for query in _queries(rng, vectors, 30):
        positions, _ = matrix.top_k(query, 10)
        recalls.append(len(set(positions.tolist()) & set(_exact_top(vectors, query, 10))) / 10)
    assert np.mean(recalls) >= 0.85


def test_float32_is_read_from_storage_only_for_rows_that_can_be_in_the_top_k():
    """The float16 scores are within `half_error_bound` of the exact ones for unit rows: a row read from
    storage has an exact score within four bounds of the k-th best (the proof is in candidates_within)."""
    rng = np.random.default_rng(22)
    vectors = _embeddings(rng, 3000, offset=0.3)
    matrix, storage = _matrix(vectors)
    assert matrix.fine.dtype == np.float16 and signs.pool_size(10) >= len(vectors)  # the exact pool
    for query in _queries(rng, vectors, 5):
        storage.read.clear()
        positions, _ = matrix.top_k(query, 10)
        scores = vectors @ query
        kth = np.sort(scores)[-10]
        read = (np.array(storage.read) // 3) - 1
        assert set(positions.tolist()) <= set(read.tolist())
        assert scores[read].min() >= kth - 4 * half_error_bound(query, 1.0)


def test_every_row_from_the_first_to_the_last_is_found_by_its_own_vector_through_the_sign_pass(monkeypatch):
    """A pool of 1%: a row whose signs were not written from its vector would fall out of it."""
    monkeypatch.setattr(signs, "MIN_POOL", 20)
    monkeypatch.setattr(signs, "OVERSAMPLE", 2)
    vectors = _embeddings(np.random.default_rng(5), 2_000, offset=0.25)
    matrix, _ = _matrix(vectors)
    for row in (0, 1, 999, len(vectors) - 1):
        positions, _ = matrix.top_k(vectors[row], 1)
        assert positions.tolist() == [row]
