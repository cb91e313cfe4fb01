"""Query latency at 10k to 1M chunks: the engine's retrieval alone, `ask` (extractive), and Chroma.

The corpus is synthetic, and says so: N chunks of ~120 words drawn with a Zipf law from the model's own
WordPiece vocabulary (whole words only), in documents of 100 chunks, and 384-d unit vectors drawn around 200
random centres (clustered, like real embeddings, which matters for HNSW). Query texts are 8-14 words from
the same law; query vectors are a chunk vector plus noise. Embedding a question with the real model is part of
`ask` and of Chroma's `similarity_search(text)`, and is excluded from "retrieval alone".

Measured, each after a warm-up, over ``--queries`` questions (p50 and p99 in milliseconds):
* ragline `Retriever.retrieve` in dense, keyword and hybrid modes (k=5, candidates=50, the defaults);
* ragline `engine.ask` with the extractive answerer (embed + retrieve + quote sentences), hybrid mode;
  ``generation.min_similarity`` is set to -1 so the answerer always runs (synthetic vectors are not similar
  to real questions, and a refusal would skip the generation cost);
* Chroma (HNSW, default settings, cosine space) on the same vectors: ``similarity_search_by_vector`` (retrieval
  alone) and LangChain's ``similarity_search(text)`` with HuggingFaceEmbeddings (embed + search).

Also per size: the index's memory once loaded (`load_index`: RSS delta and the arrays' bytes) and recall@10
of dense and hybrid retrieval against the same index searched exactly (`recall_against_exact`; below
`APPROXIMATE_FROM` chunks both are exact, so 1.0).

Usage:
    nice -n 5 .venv/bin/python -m bench.latency --sizes 10000,100000 [--no-chroma]
    nice -n 10 .venv/bin/python -m bench.latency --sizes 1000000 --no-chroma --keep DIR   # index kept in DIR
    .venv/bin/python -m bench.latency --smoke          # 2,000 chunks, 20 queries, no Chroma
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from bench.common import percentile, run_main, write_result
from ragline.bootstrap import build_engine
from ragline.config import SearchMode
from ragline.model import Chunk, EmbeddedChunk
from ragline.retrieval import RetrievalRequest, Retriever

DIMENSION = 384
CHUNKS_PER_DOCUMENT = 100


def vocabulary() -> list[str]:
    from ragline.adapters.local.embedding import packaged_model_dir

    vocab = json.loads((packaged_model_dir() / "tokenizer.json").read_text())["model"]["vocab"]
    words = [w for w, _ in sorted(vocab.items(), key=lambda item: item[1]) if w.isalpha() and len(w) > 2]
    return words  # WordPiece ids are roughly ordered by frequency: a Zipf law over this order is plausible


class Synthetic:
    def __init__(self, size: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary())
        ranks = np.arange(1, len(self.words) + 1)
        self.p = (1 / ranks) / (1 / ranks).sum()
        # What `rng.choice(words, p=p)` computes on every call (its cumulative distribution), computed once: the
        # same draws from the same stream, at 1M chunks minutes faster.
        self.cdf = self.p.cumsum()
        self.cdf /= self.cdf[-1]
        centres = self.rng.standard_normal((200, DIMENSION)).astype(np.float32)
        assignment = self.rng.integers(0, 200, size)
        vectors = centres[assignment] + 0.9 * self.rng.standard_normal((size, DIMENSION)).astype(np.float32)
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.size = size

    def text(self, words: int) -> str:
        chosen = self.words[self.cdf.searchsorted(self.rng.random(words), side="right")]
        sentences, start = [], 0
        while start < words:
            end = min(words, start + int(self.rng.integers(8, 20)))
            sentence = " ".join(chosen[start:end])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            start = end
        return " ".join(sentences)

    def chunks(self) -> Iterator[tuple[str, list[EmbeddedChunk]]]:
        """One document at a time: at 1M chunks the whole corpus as objects would take gigabytes."""
        for doc in range(0, self.size, CHUNKS_PER_DOCUMENT):
            document_id = f"doc{doc // CHUNKS_PER_DOCUMENT:05d}"
            source = f"/synthetic/{document_id}.pdf"
            embedded = []
            for position, row in enumerate(range(doc, min(self.size, doc + CHUNKS_PER_DOCUMENT))):
                text = self.text(int(self.rng.integers(90, 150)))
                chunk = Chunk(
                    id=Chunk.make_id(document_id, position),
                    document_id=document_id,
                    source=source,
                    title=document_id,
                    position=position,
                    text=text,
                    pages=(position // 4 + 1,),
                    heading_path=(),
                    token_count=0,
                    embedding_text=f"{document_id}\n{text}",
                )
                embedded.append(EmbeddedChunk(chunk, self.vectors[row]))
            yield source, embedded

    def queries(self, count: int) -> list[tuple[str, np.ndarray]]:
        out = []
        for _ in range(count):
            row = int(self.rng.integers(0, self.size))
            noisy = self.vectors[row] + 0.05 * self.rng.standard_normal(DIMENSION).astype(np.float32)
            out.append((self.text(int(self.rng.integers(8, 15))).rstrip("."), noisy / np.linalg.norm(noisy)))
        return out


def timed(calls: Sequence[Callable[[], object]], warmup: int = 5) -> dict[str, float]:
    for call in calls[:warmup]:
        call()
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


def summary(samples: Sequence[float]) -> dict[str, float]:
    """p50, p99 and mean of timings in milliseconds, and their count."""
    return {
        "p50_ms": round(percentile(samples, 50), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "mean_ms": round(sum(samples) / len(samples), 2),
        "n": len(samples),
    }


def _profile(name: str, calls: Sequence[Callable[[], object]]) -> None:
    from pyinstrument import Profiler

    from bench.common import OUT_DIR

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for call in calls:
        call()
    profiler.stop()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"profile_{name}.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"profile written to bench/out/profile_{name}.txt")


HYBRID_BEFORE_ISSUE_12 = {"fusion": "rrf", "rrf_k": 60, "candidates": 50, "card_boost": 0.0}


def run_size(
    size: int,
    queries: int,
    chroma: bool,
    scratch: Path,
    embedder=None,
    record: bool = True,
    profile: bool = False,
    keep: Path | None = None,
) -> dict[str, object]:
    from bench.financebench import bench_settings

    synthetic = Synthetic(size)
    row: dict[str, object] = {"chunks": size, "queries": queries, "corpus": "synthetic (see bench/latency.py)"}
    folder = (keep or scratch) / f"ragline{size}"
    complete = folder / "synthetic-corpus-complete"  # written after the last document: the index can be reused
    reused = complete.exists()
    settings = bench_settings(folder, "fp32", generation={"min_similarity": -1.0}, archive={"backend": "none"})
    engine = build_engine(settings, embedder=embedder)
    started = time.perf_counter()
    documents = list(synthetic.chunks()) if chroma else synthetic.chunks()  # Chroma reads them a second time
    for source, embedded in documents:
        if not reused:  # a reused index still draws the texts, so the questions drawn next are the same
            engine.index.replace_document(source, embedded[0].chunk.document_id, embedded)
    complete.touch()
    row["ragline_index_reused" if reused else "ragline_build_seconds"] = round(time.perf_counter() - started, 1)
    asked = synthetic.queries(queries)
    retriever = Retriever(engine.index, settings.retrieval)
    row["index_memory"] = load_index(engine.index, asked[0])
    for mode in (SearchMode.DENSE, SearchMode.KEYWORD, SearchMode.HYBRID):
        row[f"ragline_retrieve_{mode.value}"] = timed(
            [lambda q=q, v=v, m=mode: retriever.retrieve(RetrievalRequest(q, v, 5, m)) for q, v in asked]
        )
    # The hybrid default before issue 12 (RRF over 50 candidates a list, no card boost), in the same run.
    before = Retriever(engine.index, settings.retrieval.model_copy(update=HYBRID_BEFORE_ISSUE_12))
    row["ragline_retrieve_hybrid_rrf_50"] = timed(
        [lambda q=q, v=v: before.retrieve(RetrievalRequest(q, v, 5, SearchMode.HYBRID)) for q, v in asked]
    )
    if profile:
        _profile(
            f"retrieve_hybrid_{size}",
            [lambda q=q, v=v: retriever.retrieve(RetrievalRequest(q, v, 5, SearchMode.HYBRID)) for q, v in asked],
        )
        _profile(f"ask_extractive_{size}", [lambda q=q: engine.ask(q) for q, _ in asked[:20]])
    row.update(recall_against_exact(engine.index, settings, asked[:100]))
    row["ragline_ask_extractive_hybrid"] = timed([lambda q=q: engine.ask(q) for q, _ in asked[: max(20, queries // 4)]])
    row["ragline_embed_question"] = timed([lambda q=q: engine.embedder.embed([q]) for q, _ in asked[:50]])
    engine.close()
    if chroma:
        row.update(chroma_latency(synthetic, documents, asked, scratch / f"chroma{size}"))
    if record:
        write_result("latency", row)
    print(json.dumps(row, indent=1))
    return row


def load_index(index, first: tuple[str, np.ndarray]) -> dict[str, float]:
    """Load the index's in-memory copies, as the first question of a server would, and measure them: the
    process's resident memory before and after (its delta is the index's, plus allocator slack) and the
    numpy arrays the copies hold. Both in MB."""
    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    index.dense_search(first[1], 1)
    index.keyword_search(first[0], 1)
    seconds = time.perf_counter() - started
    after = process.memory_info().rss
    arrays = index.memory()
    return {
        "load_seconds": round(seconds, 1),
        "rss_before_mb": round(before / 2**20),
        "rss_after_mb": round(after / 2**20),
        "rss_delta_mb": round((after - before) / 2**20),
        "arrays_dense_mb": round(arrays["dense"] / 2**20),
        "arrays_keyword_mb": round(arrays["keyword"] / 2**20),
    }


def recall_against_exact(index, settings, asked: Sequence[tuple[str, np.ndarray]], k: int = 10) -> dict[str, float]:
    """Recall@k of dense and hybrid retrieval against the same index searched exactly (a second copy of the
    index with no sign-bit pass, loaded after the timings and closed here). 1.0 below the approximate size."""
    from ragline.adapters.local.index.sqlite import SqliteIndex

    exact_index = SqliteIndex(settings.index_path, dimension=DIMENSION, approximate_from=None)
    try:
        out = {}
        for mode in (SearchMode.DENSE, SearchMode.HYBRID):
            found = Retriever(index, settings.retrieval)
            exact = Retriever(exact_index, settings.retrieval)
            recalls = []
            for question, vector in asked:
                request = RetrievalRequest(question, vector, k, mode)
                truth = {hit.chunk.id for hit in exact.retrieve(request)}
                recalls.append(len(truth & {hit.chunk.id for hit in found.retrieve(request)}) / max(len(truth), 1))
            out[f"recall@{k}_{mode.value}_vs_exact"] = round(sum(recalls) / len(recalls), 4)
        return out
    finally:
        exact_index.close()


def chroma_latency(synthetic: Synthetic, documents, asked, folder: Path) -> dict[str, object]:
    from langchain_chroma import Chroma

    from bench.langchain_pipeline import chroma_client_settings, make_embeddings

    embeddings = make_embeddings()
    store = Chroma(
        collection_name="latency",
        embedding_function=embeddings,
        persist_directory=str(folder),
        client_settings=chroma_client_settings(),
        collection_metadata={"hnsw:space": "cosine"},
    )
    started = time.perf_counter()
    batch: list = []  # (row of synthetic.vectors, embedded chunk)

    def flush() -> None:
        store._collection.add(
            ids=[e.chunk.id for _, e in batch],
            embeddings=np.stack([np.asarray(e.vector, dtype=np.float32) for _, e in batch]),
            documents=[e.chunk.text for _, e in batch],
            metadatas=[{"source": e.chunk.source, "page": e.chunk.pages[0], "row": row} for row, e in batch],
        )
        batch.clear()

    row = 0
    for _, embedded in documents:
        for item in embedded:
            batch.append((row, item))
            row += 1
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    build = round(time.perf_counter() - started, 1)
    # Recall@5 of HNSW against exact search on the same vectors, so speed is not bought silently with recall.
    recall = []
    for _, vector in asked[:100]:
        exact = set(np.argsort(-(synthetic.vectors @ vector))[:5].tolist())
        found = store.similarity_search_by_vector(vector.tolist(), k=5)
        recall.append(len(exact & {int(d.metadata["row"]) for d in found}) / 5)
    result = {
        "chroma_build_seconds": build,
        "chroma_recall@5_vs_exact": round(sum(recall) / len(recall), 3),
        "chroma_similarity_search_by_vector": timed(
            [lambda v=v: store.similarity_search_by_vector(v.tolist(), k=5) for _, v in asked]
        ),
        "chroma_similarity_search_text": timed(
            [lambda q=q: store.similarity_search(q, k=5) for q, _ in asked[: max(20, len(asked) // 4)]]
        ),
    }
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-chroma", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles of hybrid retrieval and ask")
    parser.add_argument(
        "--keep", type=Path, help="keep each size's index in this folder, and reuse one a previous run wrote in full"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        if args.smoke:
            run_size(2000, 20, chroma=False, scratch=Path(scratch))
            return
        for size in (int(s) for s in args.sizes.split(",")):
            run_size(
                size,
                args.queries,
                chroma=not args.no_chroma,
                scratch=Path(scratch),
                profile=args.profile,
                keep=args.keep,
            )


if __name__ == "__main__":
    raise SystemExit(run_main(main))
