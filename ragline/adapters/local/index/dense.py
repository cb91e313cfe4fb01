"""Exact top-k cosine search over an in-memory matrix, read at half precision and confirmed at full.

Why: scanning 100k float32 vectors reads 150 MB per question, and that memory traffic, not the
arithmetic, is what a dense search costs (6.5 ms at 100k chunks here, bench/RESULTS.md). A float16
copy halves it, and SimSIMD's kernels read it with SIMD on every core (2.4 ms). Float16 rounding
moves a dot product of unit vectors by at most ~1e-3, so the search stays exact: every row whose
half-precision score is within twice that bound of the k-th best is rescored in float32, and only
those rows can be in the true top k (the proof is in `candidates_within`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import simsimd

#: float16 keeps 11 significant bits: each product of two rounded components is off by at most
#: (2 * 2**-11 + 2**-22) of its size, and summed over the vector (Cauchy-Schwarz) the dot product by at
#: most that times both norms. The margin above it covers float32 accumulation and values too small for
#: float16's normal range (absolute error 2**-25 each).
_RELATIVE_ERROR = 2 * 2**-11 + 2**-22
_ABSOLUTE_SLACK = 1e-4
#: Largest float16 value: a matrix or query with larger components is searched in float32 alone.
FLOAT16_MAX = 65504.0


#: A filter letting through at most 1/NARROW_FILTER_SHARE of the rows is scored on those rows alone, in float32
#: (twice the bytes a row of the half-precision pass reads, plus the gather).
NARROW_FILTER_SHARE = 4


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


@dataclass(frozen=True)
class DenseMatrix:
    """Every vector of the index, in rowid order, with its float16 copy for the first pass."""

    rowids: np.ndarray  # int64
    vectors: np.ndarray  # float32, one row per chunk
    half: np.ndarray | None  # float16 copy, or None when values exceed float16's range
    largest_norm: float

    @classmethod
    def build(cls, rowids: np.ndarray, vectors: np.ndarray) -> DenseMatrix:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        fits = not len(vectors) or float(np.abs(vectors).max()) < FLOAT16_MAX
        half = vectors.astype(np.float16) if fits else None
        largest = float(np.linalg.norm(vectors, axis=1).max()) if len(vectors) else 0.0
        return cls(rowids=rowids, vectors=vectors, half=half, largest_norm=largest)

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def nbytes(self) -> int:
        half = self.half.nbytes if self.half is not None else 0
        return self.rowids.nbytes + self.vectors.nbytes + half

    def top_k(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the k rows with the highest dot product with `query` (among `allowed` rows, a
        boolean mask), best first, and their exact float32 scores. Ties go to the lower rowid."""
        query = np.ascontiguousarray(query, dtype=np.float32)
        if not len(self.rowids):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None and np.count_nonzero(allowed) * NARROW_FILTER_SHARE <= len(self.rowids):
            return self._exact_among(query, k, np.flatnonzero(allowed))
        approximate, bound = self._first_pass(query)
        if allowed is not None:
            approximate = np.where(allowed, approximate, -np.inf)
        k = min(k, int(np.isfinite(approximate).sum()))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        candidates = candidates_within(approximate, k, bound)
        exact = self.vectors[candidates] @ query
        order = np.lexsort((self.rowids[candidates], -exact))[:k]
        return candidates[order], exact[order]

    def _exact_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The best k of `rows` by their float32 scores alone: a narrow filter (one document) is cheaper to score
        exactly than a half-precision pass over every row."""
        exact = self.vectors[rows] @ query
        order = np.lexsort((self.rowids[rows], -exact))[:k]
        return rows[order], exact[order]

    def _first_pass(self, query: np.ndarray) -> tuple[np.ndarray, float]:
        """Scores of every row, and how far each may be from the exact float32 score."""
        if self.half is None or float(np.abs(query).max()) >= FLOAT16_MAX:
            return self.vectors @ query, 0.0
        return half_scores(query, self.half, threads=cores()), half_error_bound(query, self.largest_norm)


def half_scores(query: np.ndarray, half_rows: np.ndarray, threads: int) -> np.ndarray:
    """Each float16 row's dot product with the query rounded to float16, summed in float32 by SimSIMD's kernel
    (numpy would convert float16 to float32 value by value, ~10x slower). The query must fit float16."""
    scores = simsimd.cdist(
        query.astype(np.float16)[None, :], half_rows, metric="dot", out_dtype="float32", threads=threads
    )
    return np.asarray(scores, dtype=np.float32).reshape(-1)


def half_error_bound(query: np.ndarray, largest_norm: float) -> float:
    """How far a score of `half_scores` may be from the float32 one, for rows of norm at most `largest_norm`."""
    return _RELATIVE_ERROR * float(np.linalg.norm(query)) * largest_norm + _ABSOLUTE_SLACK


def candidates_within(approximate: np.ndarray, k: int, bound: float) -> np.ndarray:
    """The rows that can be in the exact top k.

    Let t be the k-th highest approximate score. At least k rows have an approximate score >= t, so
    an exact score >= t - bound. A row whose approximate score is below t - 2 * bound has an exact
    score below t - bound, lower than those k rows': it cannot be in the top k. Every other row is
    a candidate (usually k plus a few).
    """
    kth = np.partition(approximate, len(approximate) - k)[len(approximate) - k]
    return np.flatnonzero(approximate >= kth - 2 * bound)
