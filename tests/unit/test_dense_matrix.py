"""The half-precision first pass must never change the answer: results equal a float32 brute force."""

import numpy as np
import pytest

from ragline.adapters.local.index.dense import DenseMatrix


def _unit_rows(rng: np.random.Generator, count: int, dimension: int = 384) -> np.ndarray:
    # Clustered like real embeddings, so many rows sit within float16's error of each other.
    centres = rng.standard_normal((8, dimension)).astype(np.float32)
    rows = centres[rng.integers(0, 8, count)] + 0.05 * rng.standard_normal((count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _brute_force(vectors: np.ndarray, rowids: np.ndarray, query: np.ndarray, k: int, allowed=None):
    scores = vectors @ query
    positions = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    order = np.lexsort((rowids[positions], -scores[positions]))[:k]
    return positions[order], scores[positions][order]


@pytest.mark.parametrize("seed", range(5))
def test_top_k_equals_the_float32_brute_force(seed):
    rng = np.random.default_rng(seed)
    vectors = _unit_rows(rng, 3000)
    vectors[100:110] = vectors[7]  # exact duplicates: ties must go to the lower rowid
    rowids = np.arange(1, 3001, dtype=np.int64) * 3
    matrix = DenseMatrix.build(rowids, vectors)
    assert matrix.half is not None  # the half-precision path is the one under test
    for query in (vectors[7], vectors[rng.integers(0, 3000)] + 0.01, _unit_rows(rng, 1)[0]):
        for k in (1, 5, 50):
            positions, scores = matrix.top_k(query, k)
            expected_positions, expected_scores = _brute_force(vectors, rowids, query, k)
            assert positions.tolist() == expected_positions.tolist()
            assert scores == pytest.approx(expected_scores, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_a_question_far_from_unit_length_still_gets_the_float32_brute_force_answer(seed):
    # The first pass's error grows with the question's norm (a caller's own vectors need not be unit length):
    # the rows it keeps for the exact pass must widen with it.
    rng = np.random.default_rng(seed)
    vectors = _unit_rows(rng, 3000)
    matrix = DenseMatrix.build(np.arange(3000, dtype=np.int64), vectors)
    assert matrix.half is not None
    for query in (vectors[rng.integers(0, 3000)] * 300, _unit_rows(rng, 1)[0] * 300):
        for k in (5, 50):
            positions, scores = matrix.top_k(query, k)
            expected_positions, expected_scores = _brute_force(vectors, matrix.rowids, query, k)
            assert positions.tolist() == expected_positions.tolist()
            assert scores == pytest.approx(expected_scores, rel=1e-6)


def test_the_mask_keeps_only_allowed_rows_and_k_shrinks_to_what_is_left():
    rng = np.random.default_rng(11)
    vectors = _unit_rows(rng, 500)
    rowids = np.arange(500, dtype=np.int64)
    allowed = np.zeros(500, dtype=bool)
    allowed[rng.choice(500, 30, replace=False)] = True
    positions, _ = DenseMatrix.build(rowids, vectors).top_k(vectors[0], 50, allowed)
    expected, _ = _brute_force(vectors, rowids, vectors[0], 50, allowed)
    assert len(positions) == 30
    assert positions.tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("share", "duplicates"), [(0.002, True), (0.1, True), (0.25, True), (0.26, False), (0.6, False)]
)
def test_masks_narrow_and_wide_give_the_brute_force_answer(share, duplicates):
    """A narrow mask (one document of many: hybrid search's second look inside a named filing) is scored on its
    rows alone, ties to the lower rowid; a wide one through the half-precision pass. Either way, the float32
    brute force's answer. (Wide masks without duplicates: BLAS may round two equal rows' scores apart when it
    reads them from different positions, so the wide path's ties are not exact.)"""
    rng = np.random.default_rng(int(share * 1000))
    vectors = _unit_rows(rng, 2000)
    if duplicates:
        vectors[300:306] = vectors[5]
    rowids = np.arange(2000, dtype=np.int64)[::-1].copy()  # falling with position: ties by rowid, not by place
    allowed = np.zeros(2000, dtype=bool)
    allowed[rng.choice(2000, max(2, int(share * 2000)), replace=False)] = True
    allowed[[5, 300, 301, 302]] = True
    matrix = DenseMatrix.build(rowids, vectors)
    positions = np.flatnonzero(allowed)
    for k in (1, 4, 100):
        found, scores = matrix.top_k(vectors[5], k, allowed)
        subset_scores = vectors[positions] @ vectors[5]  # the same rows in the same order as a narrow search reads
        order = np.lexsort((rowids[positions], -subset_scores))[:k]
        assert found.tolist() == positions[order].tolist()
        assert scores == pytest.approx(subset_scores[order], abs=1e-6)


def test_values_beyond_float16_fall_back_to_float32_and_stay_exact():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((200, 16)).astype(np.float32) * 1e5
    matrix = DenseMatrix.build(np.arange(200, dtype=np.int64), vectors)
    assert matrix.half is None
    positions, scores = matrix.top_k(vectors[3], 10)
    expected_positions, expected_scores = _brute_force(vectors, matrix.rowids, vectors[3], 10)
    assert positions.tolist() == expected_positions.tolist()
    assert scores == pytest.approx(expected_scores, rel=1e-6)


def _nothing(found: tuple[np.ndarray, np.ndarray]) -> None:
    positions, scores = found
    assert positions.shape == scores.shape == (0,)  # one score a position: the index zips them strictly
    assert positions.dtype.kind == "i" and scores.dtype == np.float32  # positions index rowids; scores float32


def test_an_empty_matrix_a_closed_mask_or_k_of_zero_gives_nothing():
    query = np.ones(8, dtype=np.float32)
    _nothing(DenseMatrix.build(np.zeros(0, dtype=np.int64), np.zeros((0, 8), dtype=np.float32)).top_k(query, 5))
    matrix = DenseMatrix.build(np.arange(3, dtype=np.int64), np.eye(3, 8, dtype=np.float32))
    _nothing(matrix.top_k(query, 5, np.zeros(3, dtype=bool)))
    _nothing(matrix.top_k(query, 0))


def test_a_question_beyond_float16_or_rows_beyond_it_are_scored_in_float32_alone():
    # The half-precision pass needs both sides to fit float16: a question that does not fit is scored against the
    # float32 rows of a matrix that has a half copy, and any question against a matrix too large to have one.
    rng = np.random.default_rng(9)
    small = _unit_rows(rng, 300, 16)
    large = small * 1e5
    for vectors, query in ((small, small[4] * 1e6), (large, small[4])):
        matrix = DenseMatrix.build(np.arange(300, dtype=np.int64), vectors)
        positions, scores = matrix.top_k(query, 10)
        expected_positions, expected_scores = _brute_force(vectors, matrix.rowids, query, 10)
        assert positions.tolist() == expected_positions.tolist()
        assert scores == pytest.approx(expected_scores, rel=1e-6)
