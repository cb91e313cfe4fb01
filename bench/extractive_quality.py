"""What embedding fewer sentences costs the extractive answerer: answers and time per question.

    python -m bench.extractive_quality [--embedded 60,8,4,2,0]

`embedded` is how many sentences, ranked by the question's words and the passage's similarity, are
then embedded and ranked by meaning; 60 embeds every candidate (the answerer before issue 13).

Two sets, the real model throughout:
* demo: the three demo questions over the ingested demo corpus (engine.search gives the sources);
  a hit is the expected evidence (questions_expected.json) quoted in the answer;
* FinanceBench (when ../shared/data is present): each question's sources are the 5 passages, of all
  the evidence pages FinanceBench gives for that filing, most similar to the question (dense, as
  retrieval would rank them); a hit is a figure of the gold answer ("$1577.00" -> 1577) quoted in the
  answer, on the questions whose gold answer has one.

"same" is the share of answers identical to those of embedded=60, "same first" of first sentences.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import SHARED_DATA, machine, write_result
from ragline.adapters.local.extractive import ExtractiveAnswerer
from ragline.bootstrap import build_engine
from ragline.config import Settings
from ragline.model import Citation

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "demo"
PASSAGE_CHARS = 1000
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def figures(text: str) -> set[str]:
    found = set()
    for raw in _NUMBER.findall(text):
        number = raw.replace(",", "")
        number = number.rstrip("0").rstrip(".") if "." in number else number
        # Years (2022) are in most answers whatever they say: they are not the answer's figure.
        if len(number.replace(".", "")) >= 2 and not re.fullmatch(r"(19|20)\d\d", number):
            found.add(number)
    return found


def passages(text: str) -> list[str]:
    pieces, current = [], ""
    for line in text.splitlines():
        if current and len(current) + len(line) > PASSAGE_CHARS:
            pieces.append(current)
            current = ""
        current += line + "\n"
    return [*pieces, current] if current.strip() else pieces


def citation(number: int, text: str, similarity: float, source: str = "doc") -> Citation:
    return Citation(number, source, source, (1,), similarity, similarity, text, f"{source}#{number}")


def demo_cases(engine) -> list[tuple[str, list[Citation], str]]:
    expected = json.loads((DEMO / "questions_expected.json").read_text())
    engine.ingest([DEMO / "corpus"])
    return [(q, list(engine.search(q).citations), want["evidence"]) for q, want in expected.items()]


def financebench_cases(embedder) -> list[tuple[str, list[Citation], set[str]]]:
    path = SHARED_DATA / "financebench" / "questions_with_pdfs.jsonl"
    if not path.is_file():
        print(f"SKIPPED FinanceBench: {path} is absent", file=sys.stderr)
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    pool: dict[str, list[str]] = {}
    for row in rows:
        for evidence in row.get("evidence", []):
            pool.setdefault(row["doc_name"], []).extend(passages(evidence["evidence_text"]))
    vectors = {doc: np.asarray(embedder.embed(texts), np.float32) for doc, texts in pool.items()}
    cases = []
    for row in rows:
        gold = figures(row["answer"])
        if not gold:
            continue
        [question] = np.asarray(embedder.embed([row["question"]]), np.float32)
        similarity = vectors[row["doc_name"]] @ question
        top = np.argsort(-similarity)[:5]
        sources = [citation(n + 1, pool[row["doc_name"]][i], float(similarity[i])) for n, i in enumerate(top)]
        cases.append((row["question"], sources, gold))
    return cases


def run(answerer: ExtractiveAnswerer, cases) -> tuple[list[str], list[float]]:
    answers, times = [], []
    for question, sources, _ in cases:
        started = time.perf_counter()
        answers.append(answerer.generate(question, sources))
        times.append((time.perf_counter() - started) * 1000)
    return answers, times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedded", default="60,8,4,2,0")
    args = parser.parse_args(argv)
    variants = [int(value) for value in args.embedded.split(",")]
    with tempfile.TemporaryDirectory(prefix="ragline-extractive-") as data_dir:
        engine = build_engine(Settings(data_dir=Path(data_dir)))
        sets = {"demo": demo_cases(engine), "financebench": financebench_cases(engine.embedder)}
        row: dict[str, object] = {"machine": machine(), "variants": {}}
        for name, cases in sets.items():
            if not cases:
                continue
            reference = None
            for embedded in variants:
                answers, times = run(ExtractiveAnswerer(engine.embedder, embedded=embedded), cases)
                if reference is None:
                    reference = answers
                hits = [
                    (want in answer) if isinstance(want, str) else bool(want & figures(answer))
                    for answer, (_, _, want) in zip(answers, cases, strict=True)
                ]
                result = {
                    "questions": len(cases),
                    "hits": sum(hits),
                    "same": round(sum(a == b for a, b in zip(answers, reference, strict=True)) / len(cases), 3),
                    "same_first": round(
                        sum(a.split(" [")[0] == b.split(" [")[0] for a, b in zip(answers, reference, strict=True))
                        / len(cases),
                        3,
                    ),
                    "median_ms": round(statistics.median(times), 1),
                }
                row["variants"][f"{name} embedded={embedded}"] = result  # type: ignore[index]
                print(f"{name:12} embedded={embedded:<3} {result}", flush=True)
        engine.close()
    print("results:", write_result("extractive_quality", row))


if __name__ == "__main__":
    main()
