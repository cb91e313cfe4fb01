"""BM25 over in-memory postings scores as SQLite FTS5's bm25() does, on the edge cases of its formula
(issue 16): a word held by exactly half the chunks, terms the snapshot has never seen, empty results, a
question's stopwords in any case, and the memory the postings take."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from ragline.adapters.local.index.bm25 import FTS5_TOKENIZE, Bm25Postings, Fts5Tokenizer, top_k


def _postings(texts: list[str]) -> tuple[Bm25Postings, dict[str, int]]:
    """Postings of these texts (rowid = position + 1) over FTS5's own terms, and the id of each term."""
    tokenizer = Fts5Tokenizer()
    counts = tokenizer.term_counts(texts)
    tokenizer.close()
    ids = {term: number for number, term in enumerate(sorted({term for each in counts for term in each}))}
    postings = Bm25Postings.build(
        np.arange(1, len(texts) + 1, dtype=np.int64),
        [np.array([ids[term] for term in each], dtype=np.int32) for each in counts],
        [np.array(list(each.values()), dtype=np.int32) for each in counts],
    )
    return postings, ids


def _fts5_scores(texts: list[str], word: str) -> dict[int, float]:
    """FTS5's own ranking of the texts holding `word` (rowid = position + 1), higher is better."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{FTS5_TOKENIZE}')")
    db.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", [(i + 1, text) for i, text in enumerate(texts)])
    rows = db.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?", (f'"{word}"',)).fetchall()
    db.close()
    return dict(rows)


# Four chunks of equal length; "lantern" is in two of them, so its IDF, log((4 - 2 + .5) / (2 + .5)), is 0.
HALF = [
    "lantern oil wick glass",
    "lantern lantern lantern glass",
    "pump seal valve glass",
    "pump motor bearing glass",
]


def test_a_word_in_exactly_half_the_chunks_still_counts_a_little_as_in_fts5():
    postings, ids = _postings(HALF)
    scores, matched = postings.score([ids["lantern"]])
    assert matched.tolist() == [True, True, False, False]
    reference = _fts5_scores(HALF, "lantern")
    assert set(reference) == {1, 2}
    assert all(value > 0 for value in reference.values())  # FTS5 floors the IDF instead of zeroing it
    assert [scores[0], scores[1]] == pytest.approx([reference[1], reference[2]], rel=1e-5)


def test_chunks_without_a_word_count_in_the_average_length_as_in_fts5():
    """A chunk of rules or bullets alone ("— · —") has no term, yet it is a row: FTS5 counts it in the average
    length, which here falls below one token, and the scores must still be FTS5's."""
    texts = ["pumps lift water", "— · —", "— · —", "—", "· ·"]
    postings, ids = _postings(texts)
    scores, matched = postings.score([ids["pump"]])
    reference = _fts5_scores(texts, "pumps")
    assert list(reference) == [1] and matched.tolist() == [True, False, False, False, False]
    assert scores[0] == pytest.approx(reference[1], rel=1e-5)


def test_the_chunk_repeating_a_half_shared_word_ranks_first_though_it_is_newer():
    postings, ids = _postings(HALF)
    scores, matched = postings.score([ids["lantern"]])
    best = top_k(scores, np.flatnonzero(matched), postings.rowids, k=2)
    assert postings.rowids[best].tolist() == [2, 1]


def test_a_term_newer_than_the_snapshot_matches_no_chunk():
    """A term written after the postings were built has an id past their vocabulary, the very next id
    included; the other terms of the query still score."""
    postings, ids = _postings(HALF)
    next_id = len(ids)
    scores, matched = postings.score([next_id])
    assert not matched.any() and not scores.any()
    scores, matched = postings.score([next_id, ids["pump"]])
    assert matched.tolist() == [False, False, True, True]


@pytest.mark.parametrize("k", [0, 3])
def test_no_candidates_or_k_zero_select_no_rowid(k):
    postings, ids = _postings(HALF)
    scores, matched = postings.score([ids["pump"]])
    candidates = np.flatnonzero(matched) if k == 0 else np.zeros(0, dtype=np.int64)
    assert postings.rowids[top_k(scores, candidates, postings.rowids, k)].tolist() == []


def test_a_question_s_stopwords_are_left_out_in_any_case():
    """A question typed in capitals must not search for THE and IS: they would rank chunks by how often they
    hold them."""
    tokenizer = Fts5Tokenizer()
    assert tokenizer.query_terms("What IS the Pressure of THE pumps?") == ["pressur", "pump"]
    tokenizer.close()


def test_the_postings_take_eight_bytes_a_posting():
    """At 1M chunks the postings are ~100M (chunk, term) pairs: each holds its chunk's row (int32) and its
    weight (float32), and nothing wider, plus one rowid per chunk and one start per term."""
    postings, ids = _postings(HALF)
    pairs = len(postings.rows)
    assert pairs == sum(len(set(text.split())) for text in HALF)  # one posting per distinct word of a text
    assert postings.nbytes == 8 * pairs + 8 * len(HALF) + 8 * (len(ids) + 1)
