"""Exact dense search whatever the vectors' length and the caller's float type (issue 16).

tests/unit/test_dense_matrix.py checks unit vectors against a brute force; here, vectors far from unit
length, where float16 rounding is large in absolute terms, and queries that are not float32.
"""

from __future__ import annotations

import dataclasses
import os
from typing import ClassVar

import numpy as np
import pytest

from ragline.adapters.local.index.dense import DenseMatrix, cores, half_error_bound

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


@pytest.mark.parametrize("cpu_count, threads", [(6, 6), (None, 1)])
def test_without_an_affinity_mask_the_first_pass_uses_every_core_or_one_when_none_is_reported(
    monkeypatch, cpu_count, threads
):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # macOS and Windows have none
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)  # None: the count could not be read
    assert cores() == threads


class RowsRead(np.ndarray):
    """The float32 matrix, remembering which of its rows a search reads by position."""

    read: ClassVar[list[int]] = []

    def __getitem__(self, key):
        if isinstance(key, np.ndarray) and key.dtype.kind in "iu":
            RowsRead.read.extend(key.tolist())
        return np.asarray(super().__getitem__(key))


def test_float32_is_read_only_for_the_rows_that_can_be_in_the_top_k():
    """The half-precision pass is what makes a search cheap: the float16 scores are within
    `half_error_bound` of the exact ones for unit rows, so a row confirmed in float32 has an exact score
    within four bounds of the k-th best (the proof is in candidates_within), not any row of the index."""
    rng = np.random.default_rng(9)
    centres = rng.standard_normal((20, 64))
    rows = centres[rng.integers(0, 20, 2000)] + 0.8 * rng.standard_normal((2000, 64))
    vectors = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    built = DenseMatrix.build(np.arange(2000, dtype=np.int64), vectors)
    matrix = dataclasses.replace(built, vectors=built.vectors.view(RowsRead))
    loose = rng.random(2000) < 0.5  # a filter letting half the rows through: still the half-precision pass
    for query in vectors[rng.integers(0, 2000, 5)]:
        for allowed in (None, loose):
            RowsRead.read.clear()
            positions, _ = matrix.top_k(query, 10, allowed)
            scores = np.where(loose, vectors @ query, -np.inf) if allowed is not None else vectors @ query
            assert set(positions.tolist()) <= set(RowsRead.read)
            assert scores[RowsRead.read].min() >= np.sort(scores)[-10] - 4 * half_error_bound(query, 1.0)
