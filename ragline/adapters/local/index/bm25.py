"""BM25 for the embedded index: SQLite FTS5's tokenizer and formula, scored in numpy.

Why not let FTS5 score: a question is an OR of its words, and FTS5 scores every row that matches any of
them before it can sort, so a question holding a common word costs a pass over most of the index
(149 ms p50 at 100k chunks, bench/RESULTS.md). Here each chunk's term counts are stored once at write
time, and a query costs one vector add per question term over that term's postings (a few ms at 100k).

Why FTS5's tokenizer: the stems stay exactly those of SQLite's `porter unicode61` tokenizer, with no
new stemmer to keep in step, and the scores equal FTS5's `bm25()` (tests/contracts/test_index_sqlite.py
checks it).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragline.text import STOPWORDS

#: The tokenizer the keyword index has always used: Porter stemming over Unicode words, like Lucene's
#: English analyzer. Changing it changes every stored term: a new index is then needed.
FTS5_TOKENIZE = "porter unicode61 remove_diacritics 2"

#: FTS5's bm25() constants.
K1 = 1.2
B = 0.75
#: FTS5 floors the IDF of a term found in more than half the rows at this value, so that a match
#: still counts for a little instead of subtracting.
MIN_IDF = 1e-6

_WORD = re.compile(r"\w+", re.UNICODE)


def question_words(question: str) -> list[str]:
    """The words of a question that search for something: lower-cased, no stopwords, each once."""
    words = [word for word in _WORD.findall(question.lower()) if word not in STOPWORDS]
    return list(dict.fromkeys(words))


class Fts5Tokenizer:
    """Turns text into FTS5's own terms through a scratch FTS5 table in a private in-memory database."""

    def __init__(self, tokenize: str = FTS5_TOKENIZE) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(f"CREATE VIRTUAL TABLE scratch USING fts5(text, tokenize = '{tokenize}')")
        self._db.execute("CREATE VIRTUAL TABLE scratch_terms USING fts5vocab(scratch, instance)")

    def close(self) -> None:
        self._db.close()

    def term_counts(self, texts: Sequence[str]) -> list[Counter[str]]:
        """For each text, how often each term occurs in it (the sum is the text's length in tokens)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO scratch (rowid, text) VALUES (?, ?)", [(i, text) for i, text in enumerate(texts)]
                )
                rows = self._db.execute("SELECT doc, term, count(*) FROM scratch_terms GROUP BY doc, term").fetchall()
            finally:
                self._db.execute("ROLLBACK")  # the scratch table is left empty for the next call
        counts: list[Counter[str]] = [Counter() for _ in texts]
        for doc, term, count in rows:
            counts[doc][term] = count
        return counts

    def query_terms(self, question: str) -> list[str]:
        """The terms a question searches for, one per question word in order (a word FTS5 splits, like
        `covid_19`, gives each of its parts). Two words with the same stem count twice, as in FTS5."""
        words = question_words(question)
        if not words:
            return []
        per_word = self.term_counts(words)
        return [term for counts in per_word for term in counts]


@dataclass(frozen=True)
class Bm25Postings:
    """Every chunk's terms, grouped by term (CSR), with the BM25 term-frequency part precomputed.

    Row i of the postings is chunk `rowids[i]`; the IDF is applied at query time from each term's
    document frequency, so a query is `sum over its terms of idf * weights[term's slice]`.
    """

    rowids: np.ndarray  # int64, one per chunk, ascending
    starts: np.ndarray  # int64, term t's postings are [starts[t], starts[t + 1])
    rows: np.ndarray  # int32, the posting's chunk row
    weights: np.ndarray  # float32, tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length))

    @classmethod
    def build(cls, rowids: np.ndarray, term_ids: Sequence[np.ndarray], counts: Sequence[np.ndarray]) -> Bm25Postings:
        size = len(rowids)
        per_chunk = np.fromiter((len(ids) for ids in term_ids), dtype=np.int64, count=size)
        flat_terms = np.concatenate(term_ids) if size else np.zeros(0, dtype=np.int32)
        flat_counts = (np.concatenate(counts) if size else np.zeros(0, dtype=np.int32)).astype(np.float32)
        flat_rows = np.repeat(np.arange(size, dtype=np.int32), per_chunk)
        lengths = np.bincount(flat_rows, weights=flat_counts, minlength=size)
        average_length = float(lengths.mean()) if size else 1.0
        norm = K1 * (1 - B + B * lengths / max(average_length, 1e-9))
        weights = (flat_counts * (K1 + 1) / (flat_counts + norm[flat_rows])).astype(np.float32)
        order = np.argsort(flat_terms, kind="stable")
        # bincount counts up to the highest term held here; a newer term falls past the end (see `_sums`)
        starts = np.concatenate(([0], np.cumsum(np.bincount(flat_terms))))
        return cls(rowids=rowids, starts=starts, rows=flat_rows[order], weights=weights[order])

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def nbytes(self) -> int:
        return self.rowids.nbytes + self.starts.nbytes + self.rows.nbytes + self.weights.nbytes

    def score(self, term_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every chunk for these query terms, and which chunks match at least one of them."""
        scores = self._sums(term_ids)
        return scores, scores > 0  # a matched chunk scores > 0: every IDF is at least MIN_IDF

    def _sums(self, term_ids: Sequence[int]) -> np.ndarray:
        """Each chunk's BM25 for these terms: the sum over the terms of IDF times the chunk's tf part."""
        size = len(self.rowids)
        rows, weights = [], []
        for term_id in term_ids:
            if not 0 <= term_id < len(self.starts) - 1:
                continue  # a term written after this snapshot was built: no chunk here holds it
            start, end = int(self.starts[term_id]), int(self.starts[term_id + 1])
            if start == end:
                continue
            rows.append(self.rows[start:end])
            weights.append(self.weights[start:end] * idf(size, end - start))
        if not rows:
            return np.zeros(size)
        return np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=size)

    def top(self, term_ids: Sequence[int], k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the k chunks with the best BM25 for these query terms (among `allowed` rows, a boolean
        mask), best first, and their scores: what `top_k` picks from `score`, without sorting every match.

        Why: a question holding a common word matches most of a large index (half a million chunks at 1M), and
        selecting the best k among all of them cost more than scoring them. The rows of the question's rarest
        term are few, and their scores are final: the k-th best among them is a floor that the true k-th best
        cannot be below, so only the rows scoring at least that floor can be in the top k (ties at the cut
        included, so the order is exactly `top_k`'s).
        """
        scores = self._sums(term_ids)
        floor = self._floor(scores, term_ids, k, allowed)
        keep = scores >= floor if floor > 0 else scores > 0  # a matched row scores > 0: every IDF is >= MIN_IDF
        if allowed is not None:
            keep &= allowed
        positions = top_k(scores, np.flatnonzero(keep), self.rowids, k)
        return positions, scores[positions]

    def _floor(self, scores: np.ndarray, term_ids: Sequence[int], k: int, allowed: np.ndarray | None) -> float:
        """A score the k-th best chunk reaches: the k-th best among the rows of the rarest terms (0 when they
        hold fewer than k allowed rows)."""
        slices = sorted(
            (int(self.starts[term + 1] - self.starts[term]), int(self.starts[term]))
            for term in set(term_ids)
            if 0 <= term < len(self.starts) - 1
        )
        rows: list[np.ndarray] = []
        held = 0
        for length, start in slices:
            if not length:
                continue
            part = self.rows[start : start + length]
            rows.append(part if allowed is None else part[allowed[part]])
            held += len(rows[-1])
            if held >= 2 * k:  # rows of two terms may overlap: twice k leaves room for that
                break
        if k <= 0 or held < k:
            return 0.0
        seen = np.unique(np.concatenate(rows))
        if len(seen) < k:
            return 0.0
        return float(np.partition(scores[seen], len(seen) - k)[len(seen) - k])


def idf(chunks: int, holding: int) -> float:
    """FTS5's IDF: log((N - n + 0.5) / (n + 0.5)), floored at MIN_IDF."""
    value = math.log((chunks - holding + 0.5) / (holding + 0.5))
    return value if value > 0 else MIN_IDF


def top_k(scores: np.ndarray, candidates: np.ndarray, rowids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best candidates, best first; ties go to the older chunk (lower rowid)."""
    if k <= 0 or not len(candidates):
        return np.zeros(0, dtype=np.int64)
    if len(candidates) > k:
        kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]  # keeps every tie at the cut, sorted next
    order = np.lexsort((rowids[candidates], -scores[candidates]))
    return candidates[order][:k]
