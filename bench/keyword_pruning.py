"""Experiment: drop query terms that occur in most chunks before the FTS5 BM25 query (an engine-change proposal).

FTS5 scores every row that matches the OR query before it can sort and cut to the candidate depth, so a question
holding one very common word ("company", "million", "patients") costs a pass over most of the index. Such a term's
IDF is near zero: it barely moves the ranking. This measures, for a few document-frequency cut-offs,
* the quality on SciFact test (keyword alone, and fused with dense by the engine's RRF 60/50 and by convex 0.5/100);
* the keyword latency on the synthetic 100k-chunk index of `bench.latency`.
Terms are stemmed by FTS5 itself (a scratch FTS5 table with the engine's tokenizer), and their document frequency
is read from an `fts5vocab` table over the engine's `chunks_fts`; both live in SQLite's temp schema (no write to
the index file).

Usage:
    nice -n 5 .venv/bin/python -m bench.keyword_pruning [--latency-size 100000]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import percentile, run_main, write_result
from ragline.index.sqlite import SqliteIndex
from ragline.text import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
CUTOFFS = (None, 0.5, 0.2, 0.1, 0.05)


class PrunedKeyword:
    def __init__(self, index: SqliteIndex) -> None:
        self._index = index
        self._db = index._connection  # a benchmark may look inside; the engine never does
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch USING fts5(x, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_terms USING fts5vocab(temp, scratch, instance)"
        )
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, chunks_fts, row)")
        self._total = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        self._df: dict[str, int] = {}

    def terms(self, question: str) -> list[str]:
        words = list(dict.fromkeys(w for w in _WORD.findall(question.lower()) if w not in STOPWORDS))
        self._db.execute("DELETE FROM temp.scratch")
        self._db.executemany("INSERT INTO temp.scratch (rowid, x) VALUES (?, ?)", list(enumerate(words, 1)))
        rows = self._db.execute("SELECT DISTINCT term FROM temp.scratch_terms").fetchall()
        return [row[0] for row in rows]

    def document_fraction(self, term: str) -> float:
        if term not in self._df:
            row = self._db.execute("SELECT doc FROM temp.vocab WHERE term = ?", (term,)).fetchone()
            self._df[term] = row[0] if row else 0
        return self._df[term] / max(1, self._total)

    def search(self, question: str, k: int, max_fraction: float | None) -> list[tuple[str, float]]:
        terms = self.terms(question)
        if max_fraction is not None:
            kept = [t for t in terms if self.document_fraction(t) <= max_fraction]
            terms = kept or sorted(terms, key=self.document_fraction)[:1]  # never an empty query
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self._db.execute(
            "SELECT c.chunk_id, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
            "WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
            (match, k),
        ).fetchall()
        return [(chunk_id, float(score)) for chunk_id, score in rows]


def quality() -> list[dict[str, object]]:
    from bench import scifact

    data = scifact.load("test")
    embedder = scifact.make_embedder("int8")
    texts = [scifact.chunk_text(t, x) for t, x in data.corpus.values()]
    vectors = scifact.embed_truncated(embedder, texts, scifact._cache_path("corpus", "int8", texts))
    query_vectors = embedder.embed(list(data.queries.values()))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        index = scifact.build_index(Path(scratch) / "s.sqlite3", data, vectors)
        pruned = PrunedKeyword(index)
        dense = {
            q: [(c.id, s) for c, s in index.dense_search(v, 1000)]
            for q, v in zip(data.queries, query_vectors, strict=True)
        }
        for cutoff in CUTOFFS:
            keyword = {q: pruned.search(text, 1000, cutoff) for q, text in data.queries.items()}
            row = {"cutoff_df_fraction": cutoff}
            for name, run in (
                ("keyword", lambda q, k, keyword=keyword: [d for d, _ in keyword[q][:k]]),
                (
                    "rrf60_50",
                    lambda q, k, keyword=keyword: scifact.rrf_run(dense[q], keyword[q], rrf_k=60, candidates=50, k=k),
                ),
                (
                    "convex05_100",
                    lambda q, k, keyword=keyword: scifact.convex_run(
                        dense[q], keyword[q], alpha=0.5, candidates=100, k=k
                    ),
                ),
            ):
                scores = scifact._scores(run, data.qrels)
                row[f"{name}_ndcg@10"] = round(scores["ndcg@10"], 4)
                row[f"{name}_recall@100"] = round(scores["recall@100"], 4)
            rows.append(row)
            print(json.dumps(row))
        index.close()
    return rows


def latency(size: int, queries: int = 200) -> list[dict[str, object]]:
    from bench.latency import Synthetic

    synthetic = Synthetic(size)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        index = SqliteIndex(Path(scratch) / "l.sqlite3", dimension=384)
        for source, embedded in synthetic.chunks():
            index.replace_document(source, embedded[0].chunk.document_id, embedded)
        asked = [q for q, _ in synthetic.queries(queries)]
        pruned = PrunedKeyword(index)
        for cutoff in CUTOFFS:
            for question in asked[:5]:
                pruned.search(question, 50, cutoff)
            samples = []
            for question in asked:
                started = time.perf_counter()
                pruned.search(question, 50, cutoff)
                samples.append((time.perf_counter() - started) * 1000)
            row = {
                "chunks": size,
                "cutoff_df_fraction": cutoff,
                "keyword_top50_p50_ms": round(percentile(samples, 50), 2),
                "keyword_top50_p99_ms": round(percentile(samples, 99), 2),
            }
            rows.append(row)
            print(json.dumps(row))
        index.close()
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-size", type=int, default=100_000)
    args = parser.parse_args(argv)
    write_result("keyword_pruning", {"quality_scifact_int8": quality(), "latency": latency(args.latency_size)})


if __name__ == "__main__":
    raise SystemExit(run_main(main))
