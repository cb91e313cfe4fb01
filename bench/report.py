"""Print the latest result rows of ``bench/out/*.jsonl`` as Markdown tables (pasted into bench/RESULTS.md).

Usage:
    .venv/bin/python -m bench.report
"""

from __future__ import annotations

import json

from bench.common import OUT_DIR


def _rows(name: str) -> list[dict]:
    path = OUT_DIR / f"{name}.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _f(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}f}"


def scifact() -> None:
    rows = [row for row in _rows("scifact") if row.get("label") == "full"]
    if not rows:
        return
    print("| mode | precision | nDCG@10 | Recall@100 |\n|---|---|---|---|")
    for row in rows:
        for mode, scores in row["modes"].items():
            print(f"| {mode} | {row['precision']} | {_f(scores['ndcg@10'])} | {_f(scores['recall@100'])} |")
    print()
    for row in rows:
        if "chosen_on_train" not in row:
            continue
        print(f"Levers, {row['precision']}: best setting on train, then test")
        print("| lever | setting | train nDCG@10 | test nDCG@10 | test Recall@100 |\n|---|---|---|---|---|")
        for name, best in row["chosen_on_train"].items():
            setting = ", ".join(f"{k}={v}" for k, v in best.items() if k != "lever" and "@" not in k)
            print(
                f"| {name} | {setting} | {best['train_ndcg@10']} | {best['test_ndcg@10']} | {best['test_recall@100']} |"
            )
        print()


def financebench() -> None:
    for row in _rows("financebench"):
        if row.get("label") == "smoke":
            continue
        ours = row["ragline_ingest"]
        context = row["machine"]
        print(f"### {row['label']} [{row['precision']}] {context['date_utc']} load {context['load_average']}")
        print(
            f"ragline: {ours['files']} PDFs, {ours['pages']} pages, {ours['chunks']} chunks, {ours['seconds']} s, "
            f"{ours['pages_per_second']} pages/s, failed {ours['failed']}, stages {ours['stage_seconds']}"
        )
        print("| mode | questions | page-hit@5 | page-hit@10 | doc-hit@5 | doc-hit@10 |\n|---|---|---|---|---|---|")
        for mode, s in row["retrieval"].items():
            print(
                f"| {mode} | {s['questions']} | {_f(s['page_hit@5'], 3)} | {_f(s['page_hit@10'], 3)} | "
                f"{_f(s['doc_hit@5'], 3)} | {_f(s['doc_hit@10'], 3)} |"
            )
        if "langchain" in row:
            lang = row["langchain"]
            s = lang["retrieval_dense"]
            print(
                f"| LangChain (dense, Chroma) | {s['questions']} | {_f(s['page_hit@5'], 3)} | "
                f"{_f(s['page_hit@10'], 3)} | {_f(s['doc_hit@5'], 3)} | {_f(s['doc_hit@10'], 3)} |"
            )
            print(f"\nfloor: {row['embedding_floor']}\nlangchain: {json.dumps(lang)}\nratios: {row['ratios']}")
        print()


def latency() -> None:
    rows = _rows("latency")
    if not rows:
        return
    keys = [
        "ragline_retrieve_dense",
        "ragline_retrieve_keyword",
        "ragline_retrieve_hybrid",
        "ragline_ask_extractive_hybrid",
        "ragline_embed_question",
        "chroma_similarity_search_by_vector",
        "chroma_similarity_search_text",
    ]
    print("| chunks | path | p50 ms | p99 ms | n |\n|---|---|---|---|---|")
    for row in rows:
        for key in keys:
            if key in row:
                print(f"| {row['chunks']} | {key} | {row[key]['p50_ms']} | {row[key]['p99_ms']} | {row[key]['n']} |")
    for row in rows:
        extra = {k: v for k, v in row.items() if k.endswith("seconds") or "recall" in k}
        print(f"{row['chunks']}: {extra} load {row['machine']['load_average']} {row['machine']['date_utc']}")


if __name__ == "__main__":
    scifact()
    financebench()
    latency()
