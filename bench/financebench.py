"""FinanceBench through the real ingestion path: page-hit, document-hit, and ingestion throughput.

The PDFs are ingested with ``engine.ingest`` (extract with pypdfium2, structure-aware chunking, MiniLM on
onnxruntime, SQLite index, local archive) into a scratch data folder. Each of the questions whose gold
document was ingested is then retrieved with the engine's own `Retriever` at k=10:

* page-hit@k: a retrieved chunk among the first k comes from the gold document and covers the gold page.
  FinanceBench's ``evidence_page_num`` is zero-indexed, ragline's pages are 1-based: gold page = num + 1.
* doc-hit@5: a chunk among the first 5 comes from the gold document.
A question with several evidence items counts as a hit when any of them is hit.

With ``--compare`` the same files are also run, in the same process and run, through
* the embedding-only floor: the same model and precision on the very chunks the engine made, at its best batch
  size (picked on a sample of the chunks); nothing but ``embed`` is timed;
* the classic LangChain pipeline (`bench.langchain_pipeline`), whose page-hit@5 is reported too.

Usage:
    nice -n 5 .venv/bin/python -m bench.financebench [--precision fp32] [--limit-files N] [--compare]
    .venv/bin/python -m bench.financebench --smoke       # 2 small PDFs, engine only
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import data_dir, fmt, mean, run_main, write_result
from bench.scifact import CONVEX_CHOSEN_ON_TRAIN
from ragline.bootstrap import Engine, build_engine
from ragline.config import RetrievalSettings, SearchMode, Settings

SMOKE_FILES = ("PEPSICO_2023_8K_dated-2023-05-05.pdf", "FOOTLOCKER_2022_8K_dated-2022-05-20.pdf")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    doc_name: str
    gold: frozenset[tuple[str, int]]  # (doc_name, 1-based page)


def load_questions() -> list[Question]:
    path = data_dir("financebench") / "questions_with_pdfs.jsonl"
    questions = []
    with path.open() as handle:
        for line in handle:
            row = json.loads(line)
            gold = frozenset((item["doc_name"], int(item["evidence_page_num"]) + 1) for item in row["evidence"])
            questions.append(Question(row["financebench_id"], row["question"], row["doc_name"], gold))
    return questions


def pdf_files(limit_files: int | None = None, names: Sequence[str] | None = None) -> list[Path]:
    folder = data_dir("financebench") / "pdfs"
    files = sorted(folder.glob("*.pdf"))
    if names:
        files = [folder / name for name in names]
    return files[:limit_files] if limit_files else files


@dataclass(frozen=True)
class Retrieved:
    doc_name: str
    pages: tuple[int, ...]  # 1-based


def hits_at(question: Question, retrieved: Sequence[Retrieved], k: int) -> tuple[bool, bool]:
    """(page hit, document hit) among the first k retrieved chunks."""
    top = retrieved[:k]
    page_hit = any((item.doc_name, page) in question.gold for item in top for page in item.pages)
    gold_docs = {doc for doc, _ in question.gold}
    doc_hit = any(item.doc_name in gold_docs for item in top)
    return page_hit, doc_hit


def score(runs: dict[str, Sequence[Retrieved]], questions: Iterable[Question]) -> dict[str, float]:
    questions = [q for q in questions if q.id in runs]
    return {
        "questions": len(questions),
        "page_hit@5": mean(hits_at(q, runs[q.id], 5)[0] for q in questions),
        "page_hit@10": mean(hits_at(q, runs[q.id], 10)[0] for q in questions),
        "doc_hit@5": mean(hits_at(q, runs[q.id], 5)[1] for q in questions),
        "doc_hit@10": mean(hits_at(q, runs[q.id], 10)[1] for q in questions),
    }


def bench_settings(data: Path, precision: str, **overrides: object) -> Settings:
    # Keep the caller's environment and ragline.toml out of the measurement.
    for variable in [name for name in os.environ if name.startswith("RAGLINE_") and name != "RAGLINE_BENCH_DATA"]:
        del os.environ[variable]
    return Settings(data_dir=data, embedding={"precision": precision}, **overrides)  # type: ignore[arg-type]


def ingest(engine: Engine, files: Sequence[Path]) -> dict[str, object]:
    started = time.perf_counter()
    report = engine.ingest(files)
    seconds = time.perf_counter() - started
    stages = {stage: round(value, 2) for stage, value in report.stage_seconds.items()}
    failed = [{"source": Path(s.source).name, "reason": s.reason} for s in report.failed]
    return {
        "files": len(files),
        "pages": report.pages,
        "chunks": report.chunks,
        "failed": failed,
        "seconds": round(seconds, 2),
        "pages_per_second": round(report.pages / seconds, 2) if seconds else float("nan"),
        "chunks_per_second": round(report.chunks / seconds, 2) if seconds else float("nan"),
        "stage_seconds": stages,
    }


def retrieve_all(
    engine: Engine, questions: Sequence[Question], mode: SearchMode, k: int = 10, retrieval=None
) -> dict[str, list[Retrieved]]:
    from ragline.retrieval import RetrievalRequest, Retriever

    retriever = Retriever(engine.index, retrieval or engine.settings.retrieval)
    vectors = engine.embedder.embed([q.text for q in questions])
    runs = {}
    for question, vector in zip(questions, vectors, strict=True):
        hits = retriever.retrieve(RetrievalRequest(question.text, vector, k, mode))
        runs[question.id] = [Retrieved(Path(h.chunk.source).stem, tuple(h.chunk.pages)) for h in hits]
    return runs


def engine_chunk_texts(engine: Engine) -> list[str]:
    """The exact texts the engine embedded, in index order (read back from the index)."""
    connection = engine.index._connection  # a benchmark may look inside; the engine never does
    return [row[0] for row in connection.execute("SELECT embedding_text FROM chunks ORDER BY rowid")]


def embedding_floor(precision: str, texts: Sequence[str], batch_sizes: Sequence[int] = (16, 32, 64, 128)) -> dict:
    """The same model on the same chunks, nothing else timed, at the best batch size found on a sample."""
    from bench.scifact import make_embedder

    sample = list(texts[:: max(1, len(texts) // 384)])[:384]
    trials = {}
    for batch_size in batch_sizes:
        embedder = make_embedder(precision, batch_size=batch_size)
        embedder.embed(sample[:8])  # load the session outside the timing
        started = time.perf_counter()
        embedder.embed(sample)
        trials[batch_size] = round(len(sample) / (time.perf_counter() - started), 2)
    best = max(trials, key=trials.get)
    embedder = make_embedder(precision, batch_size=best)
    embedder.embed(sample[:8])
    started = time.perf_counter()
    embedder.embed(list(texts))
    seconds = time.perf_counter() - started
    return {
        "batch_size_trials_chunks_per_second": trials,
        "best_batch_size": best,
        "chunks": len(texts),
        "seconds": round(seconds, 2),
        "chunks_per_second": round(len(texts) / seconds, 2),
    }


def run(
    *,
    precision: str = "fp32",
    limit_files: int | None = None,
    names: Sequence[str] | None = None,
    compare: bool = False,
    modes: Sequence[SearchMode] = (SearchMode.HYBRID, SearchMode.DENSE, SearchMode.KEYWORD),
    embedder=None,
    record: bool = True,
    label: str = "full",
    keep_dir: Path | None = None,
) -> dict[str, object]:
    files = pdf_files(limit_files, names)
    questions = load_questions()
    wanted = {f.stem for f in files}
    questions = [q for q in questions if q.doc_name in wanted]
    row: dict[str, object] = {"label": label, "precision": precision, "pdfs": [f.name for f in files]}
    with tempfile.TemporaryDirectory(dir=keep_dir) as scratch:
        settings = bench_settings(Path(scratch) / "data", precision)
        engine = build_engine(settings, embedder=embedder)
        engine.embedder.embed(["warm up the model session outside the timing"])
        row["ragline_ingest"] = ingest(engine, files)
        row["retrieval"] = {mode.value: score(retrieve_all(engine, questions, mode), questions) for mode in modes}
        if SearchMode.HYBRID in modes:
            convex = engine.settings.retrieval.model_copy(update=CONVEX_CHOSEN_ON_TRAIN)
            row["retrieval"]["convex_0.5_100"] = score(
                retrieve_all(engine, questions, SearchMode.HYBRID, retrieval=convex), questions
            )
        if compare:
            texts = engine_chunk_texts(engine)
            row["embedding_floor"] = embedding_floor(precision, texts)
        engine.close()
    if compare:
        from bench.langchain_pipeline import run_pipeline

        lang = run_pipeline(files, questions)
        row["langchain"] = lang
        ours = row["ragline_ingest"]
        row["ratios"] = {
            "ragline_vs_langchain_pages_per_second": round(ours["pages_per_second"] / lang["pages_per_second"], 2),
            "ragline_seconds_over_floor_seconds": round(ours["seconds"] / row["embedding_floor"]["seconds"], 2),
            "ragline_embed_stage_over_floor": round(
                ours["stage_seconds"].get("embed", 0) / row["embedding_floor"]["seconds"], 2
            ),
        }
    if record:
        write_result("financebench", row)
    _print(row)
    return row


def _print(row: dict) -> None:
    ours = row["ragline_ingest"]
    print(
        f"ragline [{row['precision']}] {ours['files']} PDFs, {ours['pages']} pages, {ours['chunks']} chunks in "
        f"{ours['seconds']} s = {ours['pages_per_second']} pages/s; stages {ours['stage_seconds']}"
    )
    for mode, scores in row["retrieval"].items():
        print(
            f"  {mode:8s} page-hit@5 {fmt(scores['page_hit@5'], 3)} page-hit@10 {fmt(scores['page_hit@10'], 3)} "
            f"doc-hit@5 {fmt(scores['doc_hit@5'], 3)} ({scores['questions']} questions)"
        )
    if "embedding_floor" in row:
        print(f"  floor: {row['embedding_floor']}")
    if "langchain" in row:
        print(f"  langchain: {json.dumps(row['langchain'])}")
        print(f"  ratios: {row['ratios']}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    parser.add_argument("--limit-files", type=int, default=None, help="the first N PDFs by file name")
    parser.add_argument("--compare", action="store_true", help="also the embedding floor and LangChain, same files")
    parser.add_argument("--smoke", action="store_true", help="two small PDFs, engine only")
    args = parser.parse_args(argv)
    if args.smoke:
        run(precision=args.precision, names=SMOKE_FILES, label="smoke")
    else:
        label = f"first{args.limit_files}" if args.limit_files else "all50"
        run(precision=args.precision, limit_files=args.limit_files, compare=args.compare, label=label)


if __name__ == "__main__":
    raise SystemExit(run_main(main))

__all__ = ["RetrievalSettings", "load_questions", "run", "score"]
