"""Retrieval quality on BEIR SciFact through the engine's own index and retriever.

Each abstract becomes one chunk of the engine's `SqliteIndex`: ``embedding_text`` is ``title + "\\n" + text``
(what BM25 indexes and what the model embeds), exactly the shape the chunker gives a chunk with a
contextual header. MiniLM reads at most 256 tokens, so the vector of an abstract is computed from its first 254
WordPiece tokens (plus [CLS]/[SEP]) — what sentence-transformers does, and what the published 0.645 used.

Modes: keyword (BM25 with FTS5's tokenizer and formula), dense (exact cosine), hybrid (the engine's
`Retriever` with the configured fusion, RRF by default), and hybrid_convex (the same `Retriever` with
``retrieval.fusion = "convex"`` at the setting chosen on train: dense weight 0.5, 100 candidates).
nDCG@10 is computed on a k=10 request and Recall@100 on a k=100 request, so hybrid runs with the configured
``candidates`` depth exactly as `ask` would. Levers (``--levers``) are computed from the engine's own dense and
keyword lists (depth 1000) and chosen on the 809 *train* queries; the test split is only reported.

Usage:
    nice -n 5 .venv/bin/python -m bench.scifact --precision fp32,int8 [--levers]
    .venv/bin/python -m bench.scifact --smoke        # 20 queries over a few hundred abstracts
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import OUT_DIR, DataMissingError, data_dir, fmt, mean, ndcg_at_k, recall_at_k, run_main, write_result
from ragline.adapters.local.embedding import MiniLMOnnxEmbedder, packaged_model_dir
from ragline.adapters.local.index.sqlite import SqliteIndex
from ragline.config import RetrievalSettings, SearchMode, Settings
from ragline.model import Chunk, EmbeddedChunk
from ragline.retrieval import RetrievalRequest, Retriever, convex_fusion, reciprocal_rank_fusion
from ragline.text import LUCENE_ENGLISH_STOPWORDS as LUCENE_STOPWORDS

PUBLISHED = [
    ("BM25 (BEIR paper)", 0.665),
    ("BM25 (Anserini flat)", 0.679),
    ("all-MiniLM-L6-v2", 0.645),
    ("bge-small-en-v1.5", 0.713),
    ("BM25 + cross-encoder (ms-marco-MiniLM-L-6-v2)", 0.688),
]


@dataclass
class SciFact:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load(split: str = "test", *, limit_queries: int | None = None, limit_docs: int | None = None) -> SciFact:
    root = data_dir("scifact")
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels" / f"{split}.tsv").open() as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    queries = {}
    with (root / "queries.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    corpus = {}
    with gzip.open(root / "corpus.jsonl.gz", "rt") as handle:
        for line in handle:
            row = json.loads(line)
            corpus[row["_id"]] = (row.get("title", ""), row["text"])
    if limit_queries:
        kept = sorted(queries, key=int)[:limit_queries]
        queries = {query_id: queries[query_id] for query_id in kept}
        qrels = {query_id: qrels[query_id] for query_id in kept}
    if limit_docs:
        # A small corpus that still holds every judged document of the kept queries, plus distractors.
        judged = {doc for rels in qrels.values() for doc in rels}
        others = sorted(doc for doc in corpus if doc not in judged)[: max(0, limit_docs - len(judged))]
        corpus = {doc: corpus[doc] for doc in sorted(judged | set(others)) if doc in corpus}
    return SciFact(corpus, queries, qrels)


def chunk_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title else text


def make_embedder(precision: str) -> MiniLMOnnxEmbedder:
    return MiniLMOnnxEmbedder(packaged_model_dir(), Settings().embedding.onnx_cache_dir, precision=precision)


def embed_truncated(embedder: MiniLMOnnxEmbedder, texts: Sequence[str], cache: Path | None = None) -> np.ndarray:
    """Embed texts cut to the model's 256-token window (the engine's embedder refuses longer input)."""
    if cache and cache.is_file():
        vectors = np.load(cache)
        if vectors.shape[0] == len(texts):
            return vectors
    limit = embedder.tokens.max_tokens
    counts = embedder.tokens.count_many(list(texts))
    cut = [
        text if count <= limit else embedder.tokens.split(text, limit)[0]
        for text, count in zip(texts, counts, strict=True)
    ]
    vectors = embedder.embed(cut)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors


def _cache_path(kind: str, precision: str, texts: Sequence[str]) -> Path:
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12]
    return OUT_DIR / "cache" / f"scifact_{kind}_{precision}_{len(texts)}_{digest}.npy"


def build_index(path: Path, data: SciFact, vectors: np.ndarray) -> SqliteIndex:
    index = SqliteIndex(path, dimension=vectors.shape[1])
    for (doc_id, (title, text)), vector in zip(data.corpus.items(), vectors, strict=True):
        body = chunk_text(title, text)
        chunk = Chunk(
            id=doc_id,
            document_id=doc_id,
            source=doc_id,
            title=title,
            position=0,
            text=text,
            pages=(1,),
            heading_path=(),
            token_count=0,
            embedding_text=body,
        )
        index.replace_document(doc_id, doc_id, [EmbeddedChunk(chunk, vector)])
    return index


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    return {
        "ndcg@10": mean(ndcg_at_k(runs.get(q, []), rels, 10) for q, rels in qrels.items()),
        "recall@100": mean(recall_at_k(runs.get(q, []), rels, 100) for q, rels in qrels.items()),
    }


#: The convex setting the lever search picked on the 809 train queries (bench/RESULTS.md, section 1).
CONVEX_CHOSEN_ON_TRAIN = {"fusion": "convex", "dense_weight": 0.5, "candidates": 100}
#: Fusions measured beside the engine's modes, through the `Retriever`, as on FinanceBench (bench/financebench.py).
FUSIONS: dict[str, dict[str, object]] = {
    "hybrid_rrf_60_50": {"fusion": "rrf", "rrf_k": 60, "candidates": 50},
    **{
        f"hybrid_convex_{weight}_100": {"fusion": "convex", "dense_weight": weight, "candidates": 100}
        for weight in (0.3, 0.5, 0.6, 0.7)
    },
}


def engine_modes(
    index: SqliteIndex,
    data: SciFact,
    query_vectors: np.ndarray,
    retrieval: RetrievalSettings,
    fusions: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, dict[str, float]]:
    """The modes as the engine runs them, through the `Retriever` and its settings (or the `fusions` given)."""
    ids = list(data.queries)
    results: dict[str, dict[str, float]] = {}
    convex = retrieval.model_copy(update=CONVEX_CHOSEN_ON_TRAIN)
    runs = [
        ("keyword", SearchMode.KEYWORD, retrieval),
        ("dense", SearchMode.DENSE, retrieval),
        ("hybrid", SearchMode.HYBRID, retrieval),
        ("hybrid_convex", SearchMode.HYBRID, convex),
    ]
    if fusions is not None:
        runs = [(name, SearchMode.HYBRID, retrieval.model_copy(update=dict(over))) for name, over in fusions.items()]
    for name, mode, settings in runs:
        retriever = Retriever(index, settings)
        top10: dict[str, list[str]] = {}
        top100: dict[str, list[str]] = {}
        started = time.perf_counter()
        for query_id, vector in zip(ids, query_vectors, strict=True):
            text = data.queries[query_id]
            top10[query_id] = [h.chunk.id for h in retriever.retrieve(RetrievalRequest(text, vector, 10, mode))]
            top100[query_id] = [h.chunk.id for h in retriever.retrieve(RetrievalRequest(text, vector, 100, mode))]
        seconds = time.perf_counter() - started
        results[name] = {
            "ndcg@10": evaluate(top10, data.qrels)["ndcg@10"],
            "recall@100": evaluate(top100, data.qrels)["recall@100"],
            "ms_per_query_pair": round(seconds / max(1, len(ids)) * 1000, 2),
        }
    return results


# --- levers: computed from the engine's own ranked lists -----------------------------------------

Ranked = list[tuple[str, float]]


def ranked_lists(
    index: SqliteIndex, data: SciFact, query_vectors: np.ndarray, depth: int = 1000
) -> tuple[dict[str, Ranked], dict[str, Ranked]]:
    dense, keyword = {}, {}
    for query_id, vector in zip(data.queries, query_vectors, strict=True):
        dense[query_id] = [(c.id, s) for c, s in index.dense_search(vector, depth)]
        keyword[query_id] = [(c.id, s) for c, s in index.keyword_search(data.queries[query_id], depth)]
    return dense, keyword


def rrf_run(dense: Ranked, keyword: Ranked, *, rrf_k: int, candidates: int, k: int = 100) -> list[str]:
    """The engine's fusion (same function, same tie-break) at a given depth."""
    depth = max(candidates, k)
    fused = reciprocal_rank_fusion([[d for d, _ in dense[:depth]], [d for d, _ in keyword[:depth]]], rrf_k)
    return [doc for doc, _ in sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]]


def convex_run(dense: Ranked, keyword: Ranked, *, alpha: float, candidates: int, k: int = 100) -> list[str]:
    """The engine's convex fusion (same function, same tie-break) at a given depth and weight."""
    depth = max(candidates, k)
    fused = convex_fusion(dense[:depth], keyword[:depth], alpha)
    return [doc for doc, _ in sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]]


def _scores(make_run: Callable[[str, int], list[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """nDCG@10 from a k=10 request and Recall@100 from a k=100 one, as `engine_modes` does (the fusion depth
    is max(candidates, k), so the two requests may fuse different depths, exactly as the engine would)."""
    return {
        "ndcg@10": evaluate({q: make_run(q, 10) for q in qrels}, qrels)["ndcg@10"],
        "recall@100": evaluate({q: make_run(q, 100) for q in qrels}, qrels)["recall@100"],
    }


EXTRA_STOPWORDS = frozenset(
    (
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "any",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "during",
        "each",
        "few",
        "further",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "into",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "only",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "then",
        "them",
        "themselves",
        "they",
        "through",
        "too",
        "under",
        "until",
        "up",
        "very",
        "we",
        "what",
        "while",
        "whom",
    )
)


class FieldedBm25:
    """A second FTS5 table (title, text) to test BM25 column weights and query stop-word lists."""

    def __init__(self, data: SciFact) -> None:
        self._connection = sqlite3.connect(":memory:")
        self._connection.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, title, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        self._connection.executemany(
            "INSERT INTO docs (doc_id, title, body) VALUES (?, ?, ?)",
            [(doc_id, title, text) for doc_id, (title, text) in data.corpus.items()],
        )

    def search(self, query: str, *, title_weight: float, stopwords: frozenset[str] | None, k: int) -> Ranked:
        words = re.findall(r"\w+", query.lower())
        if stopwords is not None:
            words = [w for w in words if w not in stopwords]
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        if not match:
            return []
        rows = self._connection.execute(
            "SELECT doc_id, -bm25(docs, 0, ?, 1.0) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, ?, 1.0) LIMIT ?",
            (title_weight, match, title_weight, k),
        ).fetchall()
        return [(doc_id, float(score)) for doc_id, score in rows]


def levers(
    train: tuple[SciFact, np.ndarray, SqliteIndex], test: tuple[SciFact, np.ndarray, SqliteIndex]
) -> list[dict[str, object]]:
    """Each lever's best setting on train, then its test score; every grid point is kept in the rows."""
    rows: list[dict[str, object]] = []
    lists = {}
    for split, (data, vectors, index) in (("train", train), ("test", test)):
        lists[split] = ranked_lists(index, data, vectors)

    def both(name: str, setting: dict[str, object], run_for: Callable[[str, str, int], list[str]]) -> dict[str, object]:
        row: dict[str, object] = {"lever": name, **setting}
        for split, (data, _, _) in (("train", train), ("test", test)):
            scores = _scores(lambda q, k, split=split: run_for(split, q, k), data.qrels)
            row[f"{split}_ndcg@10"] = round(scores["ndcg@10"], 4)
            row[f"{split}_recall@100"] = round(scores["recall@100"], 4)
        rows.append(row)
        print(json.dumps(row))
        return row

    # RRF constant and candidate depth.
    for rrf_k in (5, 10, 20, 40, 60, 100):
        for candidates in (20, 50, 100, 200, 1000):
            both(
                "rrf",
                {"rrf_k": rrf_k, "candidates": candidates},
                lambda s, q, k, rrf_k=rrf_k, c=candidates: rrf_run(
                    lists[s][0][q], lists[s][1][q], rrf_k=rrf_k, candidates=c, k=k
                ),
            )
    # Convex combination of min-max normalized scores.
    for alpha in (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        for candidates in (20, 50, 100, 200, 1000):
            both(
                "convex",
                {"alpha_dense": alpha, "candidates": candidates},
                lambda s, q, k, a=alpha, c=candidates: convex_run(
                    lists[s][0][q], lists[s][1][q], alpha=a, candidates=c, k=k
                ),
            )
    # BM25 variants: title weight and query stop-words (keyword alone, then fused with dense by RRF k=60, c=50).
    fielded = {"train": FieldedBm25(train[0]), "test": FieldedBm25(test[0])}
    queries = {"train": train[0].queries, "test": test[0].queries}
    from ragline.text import STOPWORDS

    stoplists: dict[str, frozenset[str] | None] = {
        "engine": STOPWORDS,
        "none": None,
        "lucene": LUCENE_STOPWORDS,
        "engine+extra": STOPWORDS | EXTRA_STOPWORDS,
    }
    for title_weight in (1.0, 2.0, 3.0):
        for stop_name, stoplist in stoplists.items():
            cache: dict[tuple[str, str], Ranked] = {}

            def bm25(s: str, q: str, w=title_weight, sl=stoplist, cache=cache) -> Ranked:
                if (s, q) not in cache:
                    cache[(s, q)] = fielded[s].search(queries[s][q], title_weight=w, stopwords=sl, k=1000)
                return cache[(s, q)]

            both(
                "bm25_fielded",
                {"title_weight": title_weight, "stopwords": stop_name},
                lambda s, q, k, bm25=bm25: [d for d, _ in bm25(s, q)[:k]],
            )
            both(
                "rrf_with_fielded_bm25",
                {"title_weight": title_weight, "stopwords": stop_name, "rrf_k": 60, "candidates": 50},
                lambda s, q, k, bm25=bm25: rrf_run(lists[s][0][q], bm25(s, q), rrf_k=60, candidates=50, k=k),
            )
            for alpha in (0.4, 0.5, 0.6):
                both(
                    "convex_with_fielded_bm25",
                    {"title_weight": title_weight, "stopwords": stop_name, "alpha_dense": alpha, "candidates": 50},
                    lambda s, q, k, bm25=bm25, a=alpha: convex_run(
                        lists[s][0][q], bm25(s, q), alpha=a, candidates=50, k=k
                    ),
                )
    return rows


def best_by_train(rows: Sequence[Mapping[str, object]], lever: str) -> Mapping[str, object]:
    return max((row for row in rows if row["lever"] == lever), key=lambda row: row["train_ndcg@10"])


def run(
    *,
    precisions: Sequence[str] = ("fp32",),
    limit_queries: int | None = None,
    limit_docs: int | None = None,
    with_levers: bool = False,
    retrieval: RetrievalSettings | None = None,
    record: bool = True,
    label: str = "full",
    embedder: MiniLMOnnxEmbedder | None = None,
    cache: bool = True,
) -> list[dict[str, object]]:
    retrieval = retrieval or RetrievalSettings()
    test = load("test", limit_queries=limit_queries, limit_docs=limit_docs)
    train = load("train", limit_queries=limit_queries, limit_docs=limit_docs) if with_levers else None
    rows: list[dict[str, object]] = []
    for precision in precisions:
        model = embedder if embedder is not None and len(precisions) == 1 else make_embedder(precision)
        doc_texts = [chunk_text(t, x) for t, x in test.corpus.values()]
        started = time.perf_counter()
        doc_vectors = embed_truncated(model, doc_texts, _cache_path("corpus", precision, doc_texts) if cache else None)
        embed_seconds = time.perf_counter() - started
        query_vectors = model.embed(list(test.queries.values()))
        with tempfile.TemporaryDirectory() as scratch:
            index = build_index(Path(scratch) / "scifact.sqlite3", test, doc_vectors)
            modes = engine_modes(index, test, query_vectors, retrieval)
            fusions = engine_modes(index, test, query_vectors, retrieval, FUSIONS)
            row: dict[str, object] = {
                "label": label,
                "precision": precision,
                "queries": len(test.queries),
                "documents": len(test.corpus),
                "rrf_k": retrieval.rrf_k,
                "candidates": retrieval.candidates,
                "corpus_embed_seconds_or_cache": round(embed_seconds, 1),
                "modes": modes,
                "fusions": fusions,
            }
            if with_levers and train is not None:
                train_vectors = model.embed(list(train.queries.values()))
                same_corpus = train.corpus.keys() == test.corpus.keys()
                train_index = (
                    index
                    if same_corpus
                    else build_index(
                        Path(scratch) / "scifact_train.sqlite3",
                        train,
                        embed_truncated(model, [chunk_text(t, x) for t, x in train.corpus.values()]),
                    )
                )
                lever_rows = levers((train, train_vectors, train_index), (test, query_vectors, index))
                row["levers"] = lever_rows
                row["chosen_on_train"] = {
                    name: best_by_train(lever_rows, name)
                    for name in ("rrf", "convex", "bm25_fielded", "rrf_with_fielded_bm25", "convex_with_fielded_bm25")
                }
                if train_index is not index:
                    train_index.close()
            index.close()
        rows.append(row)
        if record:
            write_result("scifact", row)
        print(f"SciFact test [{precision}] {len(test.queries)} queries over {len(test.corpus)} abstracts")
        for mode, scores in {**modes, **fusions}.items():
            print(f"  {mode:8s} nDCG@10 {fmt(scores['ndcg@10'])}  Recall@100 {fmt(scores['recall@100'])}")
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="fp32", help="comma-separated: fp32,int8,bf16")
    parser.add_argument("--levers", action="store_true", help="tune fusion/BM25 levers on train, report test")
    parser.add_argument("--rrf-k", type=int, default=None)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--smoke", action="store_true", help="20 test queries over ~300 abstracts")
    args = parser.parse_args(argv)
    retrieval = RetrievalSettings(
        **{key: value for key, value in (("rrf_k", args.rrf_k), ("candidates", args.candidates)) if value}
    )
    if args.smoke:
        run(precisions=["fp32"], limit_queries=20, limit_docs=300, retrieval=retrieval, label="smoke")
    else:
        run(precisions=args.precision.split(","), with_levers=args.levers, retrieval=retrieval)


if __name__ == "__main__":
    raise SystemExit(run_main(main))

__all__ = ["PUBLISHED", "DataMissingError", "load", "run"]
