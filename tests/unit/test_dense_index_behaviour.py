"""Exact dense search whatever the vectors' length and the caller's float type (issue 16).

tests/unit/test_dense_matrix.py checks unit vectors against a brute force; here, vectors far from unit
length, where float16 rounding is large in absolute terms, and queries that are not float32.
"""

from __future__ import annotations

import numpy as np
import pytest

from ragline.adapters.local.index.dense import DenseMatrix

# Norms near 1000: float16 steps by 0.5 there. Row 0 (1000.26) is rounded up to 1000.5, above row 1's
# 1000.49, though row 1 is the better match for the query (1, 1) in float32.
LONG = np.array([[1000.26, 0.0], [1000.0, 0.49]], dtype=np.float32)


def test_float16_rounding_of_long_vectors_never_changes_the_best_match():
    matrix = DenseMatrix.build(np.array([10, 20], dtype=np.int64), LONG)
    assert matrix.half is not None  # within float16's range: the half-precision pass is the one under test
    query = np.ones(2, dtype=np.float32)
    assert (matrix.half.astype(np.float32) @ query)[0] > (matrix.half.astype(np.float32) @ query)[1]
    positions, scores = matrix.top_k(query, 1)
    assert matrix.rowids[positions].tolist() == [20]
    assert scores.tolist() == [pytest.approx(1000.49, abs=1e-3)]


def test_vectors_given_as_float64_are_held_and_scored_in_float32():
    """The index's vectors are float32 on disk; a float64 copy in memory would double what a search reads."""
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((50, 16))
    matrix = DenseMatrix.build(np.arange(50, dtype=np.int64), vectors)
    assert matrix.vectors.dtype == np.float32 and matrix.vectors.nbytes == 50 * 16 * 4
    _, scores = matrix.top_k(vectors[3].astype(np.float32), 5)
    assert scores.dtype == np.float32


@pytest.mark.parametrize("as_given", [lambda q: q.astype(np.float64), lambda q: [float(x) for x in q]])
def test_a_query_in_float64_or_as_a_list_scores_exactly_as_its_float32_self(as_given):
    """Remote embedders return lists of Python floats: the same question must give the same scores."""
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((200, 32)).astype(np.float32)
    matrix = DenseMatrix.build(np.arange(200, dtype=np.int64), vectors)
    query = (rng.standard_normal(32) / 3).astype(np.float32)
    expected_positions, expected_scores = matrix.top_k(query, 10)
    positions, scores = matrix.top_k(as_given(query), 10)
    assert positions.tolist() == expected_positions.tolist()
    assert scores.dtype == np.float32
    assert scores.tolist() == expected_scores.tolist()


@pytest.mark.parametrize("k, allowed", [(0, None), (3, np.zeros(3, dtype=bool))])
def test_when_nothing_is_found_the_positions_select_no_rowid(k, allowed):
    matrix = DenseMatrix.build(np.array([5, 6, 7], dtype=np.int64), np.eye(3, 8, dtype=np.float32))
    positions, scores = matrix.top_k(np.ones(8, dtype=np.float32), k, allowed)
    assert matrix.rowids[positions].tolist() == [] and scores.tolist() == []
