"""Top-k dense search for large indexes: a sign-bit first pass, its candidates rescored exactly.

Why: exact search reads every vector of the index for every question. At 1M chunks of 384 dimensions that is
768 MB in float16 (~24 ms on this machine, bound by memory bandwidth) and the float32 copy that confirms it
adds 1.5 GB of memory. Here each vector is also kept as the signs of its components around the corpus mean
(48 bytes at 384 dimensions, 48 MB at 1M): SimSIMD's Hamming kernel compares the question's signs with every
row's, and only the rows nearest in Hamming distance (an oversampled pool, `pool_size`) are scored from the
float16 copy. Those within float16's error of the k-th best are then rescored in float32, read from storage
(`full`), so the scores are exact and the order is the exact order within the pool; what the sign pass can
lose is a true top-k row left out of the pool (bench/latency.py reports recall@10 against exact search).

Centring on the mean first matters for real embeddings, whose components share a common offset: signs
around zero would then be nearly the same for every row.

Filters cannot lose rows: when the rows a filter allows are no more than the pool, all of them are the pool,
and the search among them is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import simsimd

from ragline.adapters.local.index.dense import FLOAT16_MAX, candidates_within, half_error_bound, half_scores

#: Rows scored from the float16 copy per result asked for, and at least this many: measured on the
#: synthetic clustered corpus of bench/latency.py (bench/RESULTS.md section 4.1). 8000 rows hold the true top
#: 100 (hybrid's candidates) at 1M chunks there; twice that doubled the rescoring for no recall.
OVERSAMPLE = 80
MIN_POOL = 8000
#: Rows read per batch while building, so the float32 vectors are never all in memory at once.
_BATCH = 16384

#: Reads the float32 vectors of these rowids from storage, one row each, in order; a rowid no longer stored
#: (deleted since the matrix was built) gives a row of NaN.
FullVectors = Callable[[np.ndarray], np.ndarray]


def pool_size(k: int) -> int:
    """How many rows the sign pass hands to the float16 rescoring for a top k."""
    return max(MIN_POOL, OVERSAMPLE * k)


@dataclass(frozen=True)
class SignMatrix:
    """Every vector's signs around the mean and its float16 copy (float32 if a value exceeds float16)."""

    rowids: np.ndarray  # int64
    signs: np.ndarray  # uint8, (rows, ceil(dimension / 8)): bit set where the component exceeds the mean's
    centre: np.ndarray  # float32, the mean vector
    fine: np.ndarray  # float16, or float32 when a value is beyond float16's range
    largest_norm: float
    full: FullVectors

    @classmethod
    def build(cls, rowids: np.ndarray, batches: Iterable[np.ndarray], dimension: int, full: FullVectors) -> SignMatrix:
        """From the float32 vectors in rowid order, given in batches (one row per rowid in all)."""
        fine = np.empty((len(rowids), dimension), dtype=np.float16)
        filled, total, largest = 0, np.zeros(dimension, dtype=np.float64), 0.0
        for batch in batches:
            batch = np.asarray(batch, dtype=np.float32).reshape(-1, dimension)
            if fine.dtype == np.float16 and len(batch) and float(np.abs(batch).max()) >= FLOAT16_MAX:
                fine = fine.astype(np.float32)  # rare (vectors far from unit length): exact, at twice the memory
            fine[filled : filled + len(batch)] = batch
            filled += len(batch)
            total += batch.sum(axis=0, dtype=np.float64)
            if len(batch):
                largest = max(largest, float(np.linalg.norm(batch, axis=1).max()))
        if filled != len(rowids):
            raise ValueError(f"the vector batches hold {filled} rows for {len(rowids)} rowids")
        centre = (total / max(filled, 1)).astype(np.float32)
        signs = np.empty((len(rowids), (dimension + 7) // 8), dtype=np.uint8)
        for start in range(0, len(rowids), _BATCH):
            part = fine[start : start + _BATCH].astype(np.float32)
            signs[start : start + _BATCH] = np.packbits(part > centre, axis=1)
        return cls(rowids=rowids, signs=signs, centre=centre, fine=fine, largest_norm=largest, full=full)

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def nbytes(self) -> int:
        return self.rowids.nbytes + self.signs.nbytes + self.centre.nbytes + self.fine.nbytes

    def top_k(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the best k rows of the pool by dot product with `query` (among `allowed` rows, a
        boolean mask), best first, with exact float32 scores. Ties go to the lower rowid."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        searchable = len(self.rowids) if allowed is None else int(np.count_nonzero(allowed))
        k = min(k, searchable)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        size = pool_size(k)
        if searchable <= size:  # every searchable row is in the pool: the search is exact
            pool = np.arange(len(self.rowids)) if allowed is None else np.flatnonzero(allowed)
        else:
            pool = self._nearest_signs(query, size, allowed)
        return self._rescore(query, pool, k)

    def _nearest_signs(self, query: np.ndarray, size: int, allowed: np.ndarray | None) -> np.ndarray:
        """The `size` rows (of those allowed) whose signs differ least from the question's."""
        bits = self.signs.shape[1] * 8
        signs = np.packbits(query > self.centre)[None, :]
        # One thread: 48 bytes a row is too little work to share, and on a loaded machine two threads measured
        # 10-20x slower than one (0.85 ms at 200k rows), waiting for each other. Counts of bits are exact in float32.
        counted = simsimd.cdist(signs, self.signs, metric="hamming", dtype="bin8", out_dtype="float32", threads=1)
        distances = np.asarray(counted).reshape(-1)
        if allowed is not None:
            distances[~allowed] = bits + 1  # past every real distance, never below the cut
        near = _within(distances, _estimated_cut(distances, size, bits), size)
        # The cut is the smallest distance with at least `size` rows at or below it: a histogram of the few
        # hundred possible distances finds it, where a partition of the distances costs ~10x.
        near_distances = distances[near].astype(np.intp)
        cut = int(np.searchsorted(np.cumsum(np.bincount(near_distances, minlength=bits + 2)), size))
        below = near[near_distances < cut]
        at_cut = near[near_distances == cut][: size - len(below)]  # ties at the cut: the oldest rows
        return np.concatenate((below, at_cut))

    def _rescore(self, query: np.ndarray, pool: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact top k of the pool: float16 scores, then float32 for the rows that can be in it."""
        rows = self.fine[pool]
        if self.fine.dtype == np.float32:
            exact, finalists = _row_dot(rows, query), pool
        else:
            approximate = _half_dot(query, rows)
            finalists = pool[candidates_within(approximate, k, half_error_bound(query, self.largest_norm))]
            exact = _row_dot(self.full(self.rowids[finalists]), query)
            stored = ~np.isnan(exact)  # a row deleted since this matrix was built is left out
            finalists, exact = finalists[stored], exact[stored].astype(np.float32)
        order = np.lexsort((self.rowids[finalists], -exact))[:k]
        return finalists[order], exact[order]


#: Every this-many-th row's distance estimates where the cut falls (a 1/16 sample of 1M rows: 62,500).
_SAMPLE_STRIDE = 16


def _estimated_cut(distances: np.ndarray, size: int, bits: int) -> int:
    """A distance with, by a strided sample's count, somewhat more than `size` rows at or below it."""
    sample = distances[::_SAMPLE_STRIDE].astype(np.intp)
    wanted = 1.25 * size * len(sample) / len(distances)  # a quarter more: the sample only estimates
    return int(np.searchsorted(np.cumsum(np.bincount(sample, minlength=bits + 2)), wanted))


def _within(distances: np.ndarray, cut: int, size: int) -> np.ndarray:
    """The positions of every row at distance <= `cut`, widened until they number at least `size` (or are
    every row): so they hold the `size` nearest rows and every tie among them.

    Why not a histogram of every distance: converting a million distances to integers and counting them cost
    more than the Hamming pass itself; comparing them with one estimated cut is a single cheap pass.
    """
    while True:
        near = np.flatnonzero(distances <= cut)
        if len(near) >= size or len(near) == len(distances):
            return near
        cut += 8


def _half_dot(query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Dot products of the pool's float16 rows with the query (numpy converts float16 to float32 value by
    value: 1.3 ms for 2000 rows here, against 0.1 ms in SimSIMD's kernel). One thread: a pool is small."""
    if float(np.abs(query).max()) >= FLOAT16_MAX:  # the query would overflow float16
        return rows.astype(np.float32) @ query
    return half_scores(query, rows, threads=1)


def _row_dot(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row's dot product with the query, row by row: BLAS's matrix-vector product rounds the last rows of
    a block differently, so two equal rows could score apart and their tie go to the newer one."""
    return (rows * query).sum(axis=1, dtype=np.float32)
