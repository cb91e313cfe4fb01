"""The sign-bit first pass of large indexes (issue 13): exact when its pool holds every searchable row, close
to exact on clustered vectors when it does not, and it honours filters, deleted rows and vectors beyond
float16's range."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.adapters.local.index import signs
from ragline.adapters.local.index.signs import SignMatrix
from ragline.adapters.local.index.sqlite import SqliteIndex
from tests.contracts.index_contract import DIMENSION, IndexContract, MovingIndexContract


def _clustered(rng: np.random.Generator, count: int, dimension: int = 384, spread: float = 0.9) -> np.ndarray:
    """Unit vectors around 50 random centres, as bench/latency.py draws them (with 200 centres)."""
    centres = rng.standard_normal((50, dimension)).astype(np.float32)
    rows = centres[rng.integers(0, 50, count)] + spread * rng.standard_normal((count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _matrix(vectors: np.ndarray, rowids: np.ndarray | None = None, full=None) -> SignMatrix:
    rowids = np.arange(1, len(vectors) + 1, dtype=np.int64) * 2 if rowids is None else rowids
    by_rowid = dict(zip(rowids.tolist(), vectors, strict=True))

    def stored(wanted: np.ndarray) -> np.ndarray:  # what SQLite holds, as SqliteIndex reads it
        return np.array([by_rowid[int(rowid)] for rowid in wanted], dtype=np.float32).reshape(-1, vectors.shape[1])

    batches = (vectors[start : start + 700] for start in range(0, len(vectors), 700))
    return SignMatrix.build(rowids, batches, vectors.shape[1], full or stored)


def _brute_force(vectors: np.ndarray, rowids: np.ndarray, query: np.ndarray, k: int, allowed=None):
    scores = vectors @ query
    positions = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    order = np.lexsort((rowids[positions], -scores[positions]))[:k]
    return positions[order], scores[positions][order]


def _queries(rng: np.random.Generator, vectors: np.ndarray, count: int) -> list[np.ndarray]:
    rows = vectors[rng.integers(0, len(vectors), count)]
    noisy = rows + 0.05 * rng.standard_normal(rows.shape).astype(np.float32)
    return list(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))


def _pool(monkeypatch: pytest.MonkeyPatch, minimum: int, per_result: int) -> None:
    """A pool smaller than the test's rows, so that the sign pass does choose."""
    monkeypatch.setattr(signs, "MIN_POOL", minimum)
    monkeypatch.setattr(signs, "OVERSAMPLE", per_result)


@pytest.mark.parametrize("seed", range(3))
def test_when_the_pool_holds_every_row_the_result_is_the_exact_search(seed):
    rng = np.random.default_rng(seed)
    vectors = _clustered(rng, 1500)
    vectors[40:45] = vectors[3]  # exact duplicates: ties go to the lower rowid
    matrix = _matrix(vectors)
    assert matrix.fine.dtype == np.float16
    assert signs.pool_size(50) >= len(vectors)
    for query in [vectors[3], *_queries(rng, vectors, 3)]:
        for k in (1, 10, 50):
            positions, scores = matrix.top_k(query, k)
            expected_positions, expected_scores = _brute_force(vectors, matrix.rowids, query, k)
            assert positions.tolist() == expected_positions.tolist()
            assert scores.dtype == np.float32
            assert scores == pytest.approx(expected_scores, abs=1e-6)


def test_on_clustered_vectors_a_pool_of_two_percent_keeps_recall_at_ten_above_0_95(monkeypatch):
    """20k rows, 400 of them rescored: the sign pass does choose (a pool of every row would be exact)."""
    _pool(monkeypatch, minimum=400, per_result=40)
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, 20_000)
    matrix = _matrix(vectors)
    recalls = []
    for query in _queries(rng, vectors, 40):
        positions, scores = matrix.top_k(query, 10)
        expected, _ = _brute_force(vectors, matrix.rowids, query, 10)
        recalls.append(len(set(positions.tolist()) & set(expected.tolist())) / 10)
        assert scores == pytest.approx(vectors[positions] @ query, abs=1e-6)  # exact scores for what it finds
        assert (np.diff(scores) <= 0).all()
    assert np.mean(recalls) >= 0.95


def test_the_pool_is_the_rows_nearest_in_signs():
    """A row whose signs all differ from the question's is never chosen over one whose signs agree."""
    rng = np.random.default_rng(8)
    vectors = _clustered(rng, 3000, dimension=64)
    matrix = _matrix(vectors)
    query = vectors[0]
    pool = matrix._nearest_signs(query, 100, None)
    distances = np.unpackbits(matrix.signs ^ np.packbits(query > matrix.centre)[None, :], axis=1).sum(axis=1)
    assert len(pool) == 100
    assert distances[pool].max() <= np.sort(distances)[99]


def _nearest_by_sorting(distances: np.ndarray, size: int, allowed=None) -> list[int]:
    """The definition of the pool: the `size` allowed rows of least distance, ties to the older (lower) row."""
    rows = np.arange(len(distances)) if allowed is None else np.flatnonzero(allowed)
    return sorted(rows[np.lexsort((rows, distances[rows]))][:size].tolist())


@pytest.mark.parametrize("sampled_rows_are", ["typical", "far", "near"])
def test_the_pool_is_exactly_the_nearest_rows_whatever_the_sample_of_distances_suggests(sampled_rows_are):
    """The cut is first estimated from every 16th row's distance: when those rows are unlike the others, the
    pool must still be the `size` nearest rows, with ties to the oldest, and with a filter, allowed ones."""
    rng = np.random.default_rng(11)
    vectors = _clustered(rng, 4000, dimension=64)
    if sampled_rows_are != "typical":
        query = vectors[1]
        sign = 1 if sampled_rows_are == "near" else -1
        vectors[::16] = sign * query + 0.01 * rng.standard_normal((250, 64)).astype(np.float32)
    matrix = _matrix(vectors)
    signs_of = np.unpackbits(matrix.signs, axis=1).astype(np.int64)
    allowed = rng.random(4000) < 0.3
    for query in [vectors[1], *_queries(rng, vectors, 3)]:
        question = np.unpackbits(np.packbits(query > matrix.centre)).astype(np.int64)
        distances = np.abs(signs_of - question[None, : signs_of.shape[1]]).sum(axis=1)
        for size in (1, 37, 300, 1000):
            assert sorted(matrix._nearest_signs(query, size, None).tolist()) == _nearest_by_sorting(distances, size)
            pool = matrix._nearest_signs(query, size, allowed.copy())
            assert sorted(pool.tolist()) == _nearest_by_sorting(distances, size, allowed)


def test_a_restrictive_filter_is_searched_exactly_and_a_loose_one_keeps_to_its_rows(monkeypatch):
    _pool(monkeypatch, minimum=300, per_result=10)
    rng = np.random.default_rng(5)
    vectors = _clustered(rng, 6000)
    matrix = _matrix(vectors)
    few = np.zeros(6000, dtype=bool)
    few[rng.choice(6000, 250, replace=False)] = True  # fewer than the pool: every allowed row is scored
    many = rng.random(6000) < 0.5
    for query in _queries(rng, vectors, 5):
        positions, _ = matrix.top_k(query, 20, few)
        expected, _ = _brute_force(vectors, matrix.rowids, query, 20, few)
        assert positions.tolist() == expected.tolist()
        positions, _ = matrix.top_k(query, 20, many)
        assert len(positions) == 20 and many[positions].all()
    assert matrix.top_k(vectors[0], 5, np.zeros(6000, dtype=bool))[0].tolist() == []


def test_a_row_deleted_since_the_matrix_was_built_is_left_out():
    rng = np.random.default_rng(6)
    vectors = _clustered(rng, 600)
    rowids = np.arange(1, 601, dtype=np.int64)
    deleted = {int(rowids[7])}

    def stored(wanted: np.ndarray) -> np.ndarray:  # storage no longer holds row 7
        return np.array(
            [np.full(384, np.nan) if int(r) in deleted else vectors[int(r) - 1] for r in wanted], dtype=np.float32
        )

    matrix = _matrix(vectors, rowids, stored)
    positions, scores = matrix.top_k(vectors[7], 5)
    expected, _ = _brute_force(vectors, rowids, vectors[7], 6)
    assert positions.tolist() == [p for p in expected.tolist() if p != 7][:5]
    positions, scores = matrix.top_k(vectors[7], 600)  # every row: the deleted one would have come last
    assert len(positions) == 599 and 7 not in positions.tolist()
    assert not np.isnan(scores).any()


def test_values_beyond_float16_are_held_in_float32_and_searched_exactly_without_storage():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((900, 16)).astype(np.float32)
    vectors[650:] *= 1e5  # the batch holding these comes after rows already stored in float16

    def unused(_: np.ndarray) -> np.ndarray:
        raise AssertionError("float32 rows need no rescoring from storage")

    matrix = _matrix(vectors, full=unused)
    assert matrix.fine.dtype == np.float32
    assert np.array_equal(matrix.fine, vectors)  # the rows before the switch kept their float32 values
    for query in (vectors[3], vectors[700]):
        positions, scores = matrix.top_k(query, 10)
        expected_positions, expected_scores = _brute_force(vectors, matrix.rowids, query, 10)
        assert positions.tolist() == expected_positions.tolist()
        assert scores == pytest.approx(expected_scores, rel=1e-6)


def test_batches_that_do_not_cover_the_rowids_are_refused():
    with pytest.raises(ValueError, match="3 rows for 4 rowids"):
        SignMatrix.build(np.arange(4, dtype=np.int64), [np.zeros((3, 8), dtype=np.float32)], 8, lambda r: r)


class TestSqliteIndexWithTheSignPass(IndexContract, MovingIndexContract):
    """The index contract, with every dense search through the sign pass and float32 read from SQLite."""

    @pytest.fixture
    def index(self, tmp_path):
        index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION, approximate_from=1)
        yield index
        index.close()


def test_the_index_switches_to_the_sign_pass_at_its_size_and_reports_its_memory(tmp_path):
    from tests.contracts.index_contract import BIRDS, PUMPS

    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION, approximate_from=4)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.dense_search(np.asarray(PUMPS[0].vector), 1)
    assert index.memory()["dense"] == index._current_matrix().nbytes > 0
    assert not isinstance(index._current_matrix(), SignMatrix)  # 2 chunks: exact
    index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
    assert isinstance(index._current_matrix(), SignMatrix)  # 4 chunks: from approximate_from on, the sign pass
    index.delete_source("/docs/birds.pdf")
    found = [chunk.source for chunk, _ in index.dense_search(np.asarray(BIRDS[0].vector), 5)]
    assert found and "/docs/birds.pdf" not in found
    index.close()


def test_rows_a_filter_leaves_out_never_enter_the_pool_even_when_they_are_the_nearest_in_signs(monkeypatch):
    # Eight dimensions, so one byte of signs (distances 0-8). The rows left out share the question's every sign;
    # the rows let through have all eight opposite, as far as a real distance goes: they must still be the pool.
    _pool(monkeypatch, minimum=10, per_result=1)
    rng = np.random.default_rng(12)
    pattern = np.full(8, 8**-0.5, dtype=np.float32)
    left_out = pattern + 0.01 * rng.standard_normal((50, 8)).astype(np.float32)
    let_through = -pattern + 0.01 * rng.standard_normal((50, 8)).astype(np.float32)
    vectors = np.concatenate((left_out, let_through))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    allowed = np.arange(100) >= 50
    positions, scores = _matrix(vectors).top_k(pattern, 5, allowed)
    assert len(positions) == 5 and allowed[positions].all()
    assert (scores < 0).all()


def test_a_top_k_larger_than_the_smallest_pool_still_gets_k_rows(monkeypatch):
    _pool(monkeypatch, minimum=10, per_result=10)  # k = 50 needs a pool of 500 rows, not the minimum's 10
    rng = np.random.default_rng(13)
    vectors = _clustered(rng, 3000, dimension=64)
    matrix = _matrix(vectors)
    for query in _queries(rng, vectors, 3):
        positions, _ = matrix.top_k(query, 50)
        assert len(positions) == 50 and len(set(positions.tolist())) == 50


def test_nothing_found_is_no_position_and_no_score_typed_as_found_ones():
    matrix = _matrix(_clustered(np.random.default_rng(14), 40, dimension=16))
    query = np.ones(16, dtype=np.float32)
    for positions, scores in (matrix.top_k(query, 0), matrix.top_k(query, 5, np.zeros(40, dtype=bool))):
        assert positions.shape == scores.shape == (0,)  # one score a position: the index zips them strictly
        assert positions.dtype.kind == "i" and scores.dtype == np.float32
