"""BM25's pruned top k (issue 13) gives exactly what summing every posting gives: the same chunks in the
same order with the same scores, bit for bit, whatever the terms' frequencies, filters and k."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.adapters.local.index.bm25 import Bm25Postings, top_k


def _zipf_postings(rng: np.random.Generator, chunks: int, vocabulary: int = 400) -> Bm25Postings:
    """Chunks of 20-60 words drawn with a Zipf law: a few terms in most chunks, most terms in few."""
    p = 1 / np.arange(1, vocabulary + 1)
    p /= p.sum()
    term_ids, counts = [], []
    for _ in range(chunks):
        ids, tf = np.unique(rng.choice(vocabulary, size=int(rng.integers(20, 60)), p=p), return_counts=True)
        term_ids.append(ids.astype(np.int32))
        counts.append(tf.astype(np.int32))
    return Bm25Postings.build(np.arange(1, chunks + 1, dtype=np.int64) * 2, term_ids, counts)


def _summed(postings: Bm25Postings, terms: list[int], k: int, allowed=None) -> tuple[list[int], list[float]]:
    scores, matched = postings.score(terms)
    if allowed is not None:
        matched &= allowed
    positions = top_k(scores, np.flatnonzero(matched), postings.rowids, k)
    return positions.tolist(), scores[positions].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_pruned_top_k_equals_the_full_sum_for_rare_common_and_repeated_terms(seed):
    rng = np.random.default_rng(seed)
    postings = _zipf_postings(rng, 3000)
    pruned_some = False
    for _ in range(40):
        # Rare and common terms mixed, and now and then one term twice (two words with the same stem).
        terms = [int(t) for t in rng.choice(400, size=int(rng.integers(1, 8)), replace=False)]
        if rng.random() < 0.3:
            terms.append(terms[0])
        for k in (1, 10, 50):
            positions, scores = postings.top_k(terms, k)
            expected_positions, expected_scores = _summed(postings, terms, k)
            assert positions.tolist() == expected_positions
            assert scores.tolist() == expected_scores  # exactly: the same sums in the same order
            pruned_some |= postings._lower_bound(terms, terms[0], k, None) > 0
    assert pruned_some  # the pruned path, not only the full sum, is the one compared


def test_a_filter_keeps_only_allowed_chunks_and_loses_none_of_them():
    rng = np.random.default_rng(9)
    postings = _zipf_postings(rng, 2000)
    for share in (0.005, 0.1, 0.7):
        allowed = rng.random(2000) < share
        for terms in ([350, 3], [0, 1, 2], [120, 121, 122, 0]):
            positions, scores = postings.top_k(terms, 20, allowed)
            expected_positions, expected_scores = _summed(postings, terms, 20, allowed)
            assert positions.tolist() == expected_positions
            assert scores.tolist() == expected_scores
            assert allowed[positions].all()


def test_ties_at_the_cut_go_to_the_older_chunk_as_in_the_full_sum():
    """Identical chunks score identically: which of them make the top k is decided by rowid."""
    ids, counts = np.array([0, 1], dtype=np.int32), np.array([1, 2], dtype=np.int32)
    filler = (np.array([2], dtype=np.int32), np.array([1], dtype=np.int32))
    term_ids = [ids] * 30 + [filler[0]] * 70
    tf = [counts] * 30 + [filler[1]] * 70
    postings = Bm25Postings.build(np.arange(100, 0, -1, dtype=np.int64), term_ids, tf)  # newer rows first
    positions, _ = postings.top_k([0, 1], 5)
    assert positions.tolist() == _summed(postings, [0, 1], 5)[0]
    assert postings.rowids[positions].tolist() == [71, 72, 73, 74, 75]


def test_unknown_terms_k_zero_and_no_match_give_nothing():
    postings = _zipf_postings(np.random.default_rng(1), 200)
    assert postings.top_k([10_000], 5)[0].tolist() == []
    assert postings.top_k([0, 1], 0)[0].tolist() == []
    assert postings.top_k([0, 1], 5, np.zeros(200, dtype=bool))[0].tolist() == []
