"""The index's two searches at 1M chunks, in memory, without building a SQLite index of that size.

Why: writing 1M synthetic chunks through `SqliteIndex` (FTS5 tokenizing every chunk) takes over an hour on
this machine when it is shared, so bench/latency.py measures the whole path (SQLite, fusion, fetching the
chunks) at sizes it can build, and this script measures at 1M the two parts whose cost grows with the
index: dense search (`SignMatrix`, ragline/adapters/local/index/signs.py) and BM25 (`Bm25Postings.score`).

Said plainly, what differs from the real index:
* vectors: bench/latency.py's own (`Synthetic`: 384-d unit vectors around 200 centres), queries a vector plus
  noise as there; the float32 vectors the finalists are confirmed with are read from this process's array,
  not from SQLite (bench/latency.py measures that read);
* keyword postings: each chunk is 90-150 draws from the same Zipf law over the same vocabulary, but a term is
  a word's rank, with no FTS5 tokenizing or stemming; questions are 8-14 draws without stopwords.

Measured: p50/p99 of dense top 100 (what the hybrid default takes a list) and top 10, their recall against
an exact float32 search, BM25 top 100 as the index computes it (`Bm25Postings.top`) beside the selection it
replaced (the best 100 among every matching chunk), alternating question by question, and the memory of each
structure (numpy arrays' bytes and the process's RSS growth while building it).

Usage:
    nice -n 10 .venv/bin/python -m bench.scale --size 1000000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np

from bench.common import run_main, write_result
from bench.latency import Synthetic, summary, timed
from ragline.adapters.local.index.bm25 import Bm25Postings, top_k
from ragline.adapters.local.index.signs import SignMatrix
from ragline.text import STOPWORDS

_BLOCK = 100_000  # chunks drawn at once for the postings, so the draws never take gigabytes


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def dense(synthetic: Synthetic, queries: int) -> dict[str, object]:
    vectors = synthetic.vectors
    before = _rss_mb()
    started = time.perf_counter()
    batches = (vectors[start : start + 16384] for start in range(0, len(vectors), 16384))
    matrix = SignMatrix.build(np.arange(len(vectors), dtype=np.int64), batches, vectors.shape[1], lambda r: vectors[r])
    built = time.perf_counter() - started
    grown = _rss_mb() - before
    asked = [vector for _, vector in synthetic.queries(queries)]
    recalls: dict[int, list[float]] = {10: [], 100: []}
    for query in asked[:100]:
        ranked = np.argsort(-(vectors @ query))
        for k, found in recalls.items():  # hybrid takes 100 a list: its candidates must be the true top 100 too
            found.append(len(set(ranked[:k].tolist()) & set(matrix.top_k(query, k)[0].tolist())) / k)
    return {
        "dense_build_seconds": round(built, 1),
        "dense_arrays_mb": round(matrix.nbytes / 2**20),
        "dense_rss_growth_mb": round(grown),
        "dense_top100": timed([lambda q=q: matrix.top_k(q, 100) for q in asked]),
        "dense_top10": timed([lambda q=q: matrix.top_k(q, 10) for q in asked]),
        "dense_recall@10_vs_exact": round(float(np.mean(recalls[10])), 4),
        "dense_recall@100_vs_exact": round(float(np.mean(recalls[100])), 4),
    }


def keyword(synthetic: Synthetic, queries: int) -> dict[str, object]:
    rng = np.random.default_rng(3)
    size, vocabulary = synthetic.size, len(synthetic.words)
    before = _rss_mb()
    started = time.perf_counter()
    term_ids: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    for first in range(0, size, _BLOCK):
        lengths = rng.integers(90, 150, min(_BLOCK, size - first))
        draws = synthetic.cdf.searchsorted(rng.random(int(lengths.sum())), side="right").astype(np.int64)
        chunk = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        keys, tf = np.unique(chunk * vocabulary + draws, return_counts=True)
        splits = np.searchsorted(keys // vocabulary, np.arange(1, len(lengths)))
        term_ids += np.split((keys % vocabulary).astype(np.int32), splits)
        counts += np.split(tf.astype(np.int32), splits)
    postings = Bm25Postings.build(np.arange(1, size + 1, dtype=np.int64), term_ids, counts)
    del term_ids, counts
    built = time.perf_counter() - started
    grown = _rss_mb() - before
    stop = np.array([word in STOPWORDS for word in synthetic.words])
    asked = []
    for _ in range(queries):
        drawn = synthetic.cdf.searchsorted(rng.random(int(rng.integers(8, 15))), side="right")
        asked.append([int(term) for term in dict.fromkeys(drawn.tolist()) if not stop[term]])

    def every_match_sorted(terms: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The selection before `Bm25Postings.top`: the best k among every matching chunk."""
        scores, matched = postings.score(terms)
        positions = top_k(scores, np.flatnonzero(matched), postings.rowids, 100)
        return positions, scores[positions]

    # The two selections alternate question by question, so that a change of load falls on both.
    for terms in asked[:5]:  # warm-up
        postings.top(terms, 100), every_match_sorted(terms)
    samples: dict[str, list[float]] = {"keyword_top100": [], "keyword_top100_every_match_sorted": []}
    for number, terms in enumerate(asked):
        calls = [
            ("keyword_top100", lambda t=terms: postings.top(t, 100)),
            ("keyword_top100_every_match_sorted", lambda t=terms: every_match_sorted(t)),
        ]
        for name, call in calls if number % 2 else calls[::-1]:
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    same = all(np.array_equal(postings.top(terms, 100)[0], every_match_sorted(terms)[0]) for terms in asked[:50])
    return {
        "keyword_build_seconds": round(built, 1),
        "keyword_postings": len(postings.rows),
        "keyword_arrays_mb": round(postings.nbytes / 2**20),
        "keyword_rss_growth_mb": round(grown),
        **{name: summary(values) for name, values in samples.items()},
        "keyword_top100_same_as_every_match_sorted": same,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    synthetic = Synthetic(args.size)
    row: dict[str, object] = {"chunks": args.size, "queries": args.queries, "corpus": "synthetic (see bench/scale.py)"}
    row.update(dense(synthetic, args.queries))
    row.update(keyword(synthetic, args.queries))
    row["rss_mb"] = round(_rss_mb())
    write_result("scale", row)
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    raise SystemExit(run_main(main))
