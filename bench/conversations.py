"""Does rewriting a follow-up find the right page more often than the follow-up as asked? (issue 14)

    python -m bench.conversations [--set bench/conversations_demo.json] [--k 5]

Each dialogue of the set has a first question and a follow-up that leans on it, the follow-up written out
by hand (`standalone`), and the file and page that answer it. The demo corpus is ingested into a temporary
folder; each dialogue runs as a conversation of its own through `Engine.converse` (the first turn answered
and stored, then the follow-up rewritten by the configured rewriter: the deterministic `ContextRewriter` with
the extractive default). Then three questions are searched with the same settings: the follow-up as asked,
its rewrite, and the hand-written standalone question. A hit is the right file and page among the top k
sources. Rows go to bench/out/conversations.jsonl, with every rewrite, so a reader can judge them.

    python -m bench.conversations --financebench [--k 5]

runs the same on FinanceBench's `multi` subset (bench/financebench.py: 19 filings, companies with several), its
dialogues derived on the fly from ../shared/data (never written into the repository): the first turn names the
company and the filing ("What did Amcor report in its Q2 2023 10-Q?"), the follow-up is a FinanceBench question
that names the company with the name replaced by "the company" (questions naming no company are left out), and
the standalone question is FinanceBench's own. Chunks' vectors come from bench/out/cache (fp32). Skipped, exit 0,
when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import uuid
from pathlib import Path

from bench.common import REPO_ROOT, data_dir, machine, run_main, write_result
from ragline.bootstrap import Engine, build_engine
from ragline.config import Settings

DEMO_SET = REPO_ROOT / "bench" / "conversations_demo.json"
DEMO_CORPUS = REPO_ROOT / "demo" / "corpus"


def hit(engine: Engine, question: str, gold: list[tuple[str, int]], k: int) -> bool:
    """The right file and page among the top k sources (any of the gold pages)."""
    sources = engine.search(question, k=k).citations
    return any((Path(source.source).name, page) in gold for source in sources for page in source.pages)


def run(engine: Engine, dialogues: list[dict], k: int) -> list[dict]:
    rows = []
    for dialogue in dialogues:
        session = f"bench-{uuid.uuid4().hex[:12]}"  # a new conversation per dialogue
        engine.converse(session, dialogue["first"], k=k)
        rewritten = engine.converse(session, dialogue["follow_up"], k=k).standalone
        gold = (
            [tuple(item) for item in dialogue["gold"]] if "gold" in dialogue else [(dialogue["file"], dialogue["page"])]
        )
        rows.append(
            {
                "id": dialogue["id"],
                "follow_up": dialogue["follow_up"],
                "rewritten": rewritten,
                "raw_hit": hit(engine, dialogue["follow_up"], gold, k),
                "rewritten_hit": hit(engine, rewritten, gold, k),
                "standalone_hit": hit(engine, dialogue["standalone"], gold, k),
            }
        )
    return rows


def summary(rows: list[dict]) -> dict[str, float]:
    count = len(rows)
    return {
        name: round(sum(row[f"{name}_hit"] for row in rows) / count, 3) for name in ("raw", "rewritten", "standalone")
    }


# --- FinanceBench ------------------------------------------------------------------------------

#: How FinanceBench's questions name the companies of the `multi` subset, besides the company field.
ALIASES = {"Johnson & Johnson": ("JnJ",), "Foot Locker": ("Footlocker",), "MGM Resorts": ("MGM",)}
FORMS = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K", "EARNINGS": "earnings release"}


def filing_label(doc_name: str) -> str:
    """ "AMCOR_2023Q2_10Q" -> "Q2 2023 10-Q", "PEPSICO_2023_8K_dated-2023-05-05" -> "2023 8-K dated 2023-05-05"."""
    match = re.search(r"_((?:19|20)\d{2})(Q[1-4])?_(10K|10Q|8K|EARNINGS)(?:_dated[-_](.+))?$", doc_name)
    if not match:
        raise ValueError(f"{doc_name}: not a FinanceBench document name")
    year, quarter, form, dated = match.groups()
    label = f"{quarter + ' ' if quarter else ''}{year} {FORMS[form]}"
    return f"{label} dated {dated}" if dated else label


def without_company(question: str, company: str) -> str | None:
    """The question with the company's name replaced by "the company"; None when it does not name it."""
    names = sorted({company, *ALIASES.get(company, ())}, key=len, reverse=True)
    pattern = re.compile(rf"\b(?:{'|'.join(re.escape(name) for name in names)})(['’]s)?\b", re.I)
    if not pattern.search(question):
        return None
    replaced = pattern.sub(lambda match: "the company" + (match.group(1) or ""), question)
    return re.sub(r"\bthe the company", "the company", replaced)


def financebench_dialogues() -> tuple[list[Path], list[dict]]:
    from bench.financebench import SUBSETS, pdf_files

    files = pdf_files(names=SUBSETS["multi"])
    wanted = {file.stem for file in files}
    dialogues = []
    with (data_dir("financebench") / "questions_with_pdfs.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            follow_up = without_company(row["question"], row["company"]) if row["doc_name"] in wanted else None
            if follow_up is None:
                continue
            gold = [(f"{item['doc_name']}.pdf", int(item["evidence_page_num"]) + 1) for item in row["evidence"]]
            dialogues.append(
                {
                    "id": row["financebench_id"],
                    "first": f"What did {row['company']} report in its {filing_label(row['doc_name'])}?",
                    "follow_up": follow_up,
                    "standalone": row["question"],
                    "gold": gold,
                }
            )
    return files, dialogues


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEMO_SET, help="JSON file of dialogues")
    parser.add_argument("--financebench", action="store_true", help="FinanceBench's multi subset instead (see above)")
    parser.add_argument("--k", type=int, default=5, help="sources searched per question")
    args = parser.parse_args(argv)
    embedder = None
    if args.financebench:
        from bench.embedding_cache import CachedEmbedder
        from bench.scifact import make_embedder

        inputs, dialogues = financebench_dialogues()
        embedder = CachedEmbedder(make_embedder("fp32"), "fp32")
        label = "financebench-multi"
    else:
        inputs, dialogues = [DEMO_CORPUS], json.loads(args.set.read_text(encoding="utf-8"))["dialogues"]
        label = str(args.set.relative_to(REPO_ROOT)) if args.set.is_relative_to(REPO_ROOT) else str(args.set)
    with tempfile.TemporaryDirectory() as folder:
        engine = build_engine(Settings(data_dir=Path(folder)), embedder=embedder)
        try:
            report = engine.ingest(inputs, sync=True)
            if report.failed:
                raise SystemExit(f"the corpus did not ingest: {report.failed}")
            rows = run(engine, dialogues, args.k)
            rewriter = engine.services.rewriter.name
        finally:
            engine.close()
    rates = summary(rows)
    for row in rows:
        marks = "".join("x" if row[f"{name}_hit"] else "." for name in ("raw", "rewritten", "standalone"))
        print(f"{marks}  {row['id']:<36} {row['follow_up']!r} -> {row['rewritten']!r}")
    print(f"hit rate@{args.k} over {len(rows)} follow-ups (raw / rewritten / standalone): {rates}")
    print(f"rewriter {rewriter}; machine {machine()}")
    write_result(
        "conversations",
        {"set": label, "k": args.k, "rewriter": rewriter, "hit_rate": rates, "dialogues": rows},
    )


if __name__ == "__main__":
    raise SystemExit(run_main(main))
