"""Do two precisions rank alike? FinanceBench's questions, the default hybrid retrieval, at each precision.

Why: a retrieval metric over 105 questions moves in steps of 0.0095, one question, coarser than issue 15's bound of
0.005. When a precision change moves a metric by one question, this says whether rankings changed, or a near-tie at
the cut-off (rank 5 against rank 6) fell the other way: for each question, the top-k chunks (document, pages, score)
under each precision, the first rank where they differ, the score gap there, and the questions whose page or
document hits changed.

Both ingestions read and write the embedding cache (bench/out/cache): at any precision the local model runs each text
alone, so a cached vector is the one the model would give.

Usage:
    .venv/bin/python -m bench.rank_agreement --precisions fp32,bf16 [--limit-files N]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import run_main, write_result
from bench.financebench import Question, Retrieved, bench_settings, hits_at, load_questions, pdf_files

K = 10


@dataclass(frozen=True)
class Ranked:
    doc_name: str
    pages: tuple[int, ...]
    chunk_id: str
    score: float


def ranked_at(precision: str, files: Sequence[Path], questions: Sequence[Question], scratch: Path) -> dict:
    """Each question's top K under the default settings at `precision`, after ingesting `files` afresh."""
    from bench.embedding_cache import CachedEmbedder
    from bench.scifact import make_embedder
    from ragline.bootstrap import build_engine
    from ragline.config import SearchMode
    from ragline.retrieval import RetrievalRequest, Retriever

    embedder = CachedEmbedder(make_embedder(precision), precision)
    engine = build_engine(bench_settings(scratch / f"data-{precision}", precision), embedder=embedder)
    try:
        report = engine.ingest(files)
        if report.failed:
            failed = [(item.source, item.reason) for item in report.failed]
            raise RuntimeError(f"{precision}: failed to ingest {failed}")
        retriever = Retriever(engine.index, engine.settings.retrieval)
        vectors = engine.embedder.embed([question.text for question in questions])
        ranked = {}
        for question, vector in zip(questions, vectors, strict=True):
            hits = retriever.retrieve(RetrievalRequest(question.text, vector, K, SearchMode.HYBRID))
            ranked[question.id] = [
                Ranked(Path(hit.chunk.source).stem, tuple(hit.chunk.pages), hit.chunk.id, hit.score) for hit in hits
            ]
        return ranked
    finally:
        engine.close()


def compare(question: Question, first: Sequence[Ranked], second: Sequence[Ranked]) -> dict[str, object] | None:
    """Where two rankings of one question part, and whether its hits changed; None when they agree to the K-th."""
    first_ids, second_ids = [item.chunk_id for item in first], [item.chunk_id for item in second]
    if first_ids == second_ids:
        return None
    rank = next(
        (i for i, (a, b) in enumerate(zip(first_ids, second_ids, strict=False)) if a != b),
        min(len(first_ids), len(second_ids)),
    )
    gap = None
    if rank < len(first) and rank < len(second):
        # The scores at the parting rank, under each precision: how far from a tie the swap was.
        gap = abs(first[rank].score - second[rank].score)
    changed = {}
    for k in (1, 5, 10):
        before = hits_at(question, [Retrieved(item.doc_name, item.pages) for item in first], k)
        after = hits_at(question, [Retrieved(item.doc_name, item.pages) for item in second], k)
        if before != after:
            changed[f"@{k}"] = {"page_hit": [before[0], after[0]], "doc_hit": [before[1], after[1]]}
    return {
        "question": question.id,
        "first_differing_rank": rank + 1,
        "score_gap_there": gap,
        "scores_there": [
            round(first[rank].score, 6) if rank < len(first) else None,
            round(second[rank].score, 6) if rank < len(second) else None,
        ],
        "same_chunks_in_top5": set(first_ids[:5]) == set(second_ids[:5]),
        "hits_changed": changed,
    }


def run(precisions: Sequence[str], limit_files: int | None = None, record: bool = True) -> dict[str, object]:
    files = pdf_files(limit_files)
    wanted = {file.stem for file in files}
    questions = [question for question in load_questions() if question.doc_name in wanted]
    with tempfile.TemporaryDirectory() as scratch:
        first, second = (ranked_at(precision, files, questions, Path(scratch)) for precision in precisions)
    differences = [
        difference
        for question in questions
        if (difference := compare(question, first[question.id], second[question.id])) is not None
    ]
    row: dict[str, object] = {
        "precisions": list(precisions),
        "pdfs": len(files),
        "questions": len(questions),
        "identical_top10": len(questions) - len(differences),
        "same_chunks_in_top5": len(questions) - sum(not item["same_chunks_in_top5"] for item in differences),
        "differences": differences,
    }
    if record:
        write_result("rank_agreement", row)
    return row


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", default="fp32,bf16", help="two, comma-separated")
    parser.add_argument("--limit-files", type=int, default=None, help="the first N PDFs by file name")
    args = parser.parse_args(argv)
    precisions = [name.strip() for name in args.precisions.split(",")]
    if len(precisions) != 2:
        parser.error(f"--precisions {args.precisions!r}: name exactly two")
    row = run(precisions, args.limit_files)
    print(
        f"{row['questions']} questions: top-{K} identical for {row['identical_top10']}, "
        f"the same chunks in the top 5 for {row['same_chunks_in_top5']}"
    )
    for difference in row["differences"]:
        print(difference)


if __name__ == "__main__":
    raise SystemExit(run_main(main))
