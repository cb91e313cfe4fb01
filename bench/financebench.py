"""FinanceBench through the real ingestion path: page-hit, document-hit, and ingestion throughput.

The PDFs are ingested with ``engine.ingest`` (extract with pypdfium2, structure-aware chunking, MiniLM on
onnxruntime, SQLite index, local archive) into a scratch data folder. Each of the questions whose gold
document was ingested is then retrieved with the engine's own `Retriever` at k=10:

* page-hit@k: a retrieved chunk among the first k comes from the gold document and covers the gold page.
  FinanceBench's ``evidence_page_num`` is zero-indexed, ragline's pages are 1-based: gold page = num + 1.
* doc-hit@k (k = 1, 5, 10): a chunk among the first k comes from the gold document.
A question with several evidence items counts as a hit when any of them is hit. A question is a *table question*
when one of its evidence texts is a statement table (`is_table_evidence`: at least 5 of its lines, and 40% of
them, are bare figures); its page-hits are also reported apart.

With ``--variants named,anonymized`` the same files also run as the *anonymized* variant: copies in a scratch
folder named by random ids, with the PDF's document information (title, subject, keywords, dates) removed, so only
the content can say which filing a chunk comes from. Nothing is written into the repository. An fp32 run of
``--variants`` reads and fills the embedding cache (`bench.embedding_cache`, under bench/out/cache/): a second run
embeds only the chunks whose text changed, and its ingestion timings are not throughput (the row says how many
vectors came from the cache); ``--no-cache`` embeds everything.

With ``--compare`` the same files are also run, in the same process and run, through
* the embedding-only floor: the same model and precision on the very chunks the engine made, at its best batch
  size (picked on a sample of the chunks); nothing but ``embed`` is timed;
* the classic LangChain pipeline (`bench.langchain_pipeline`), whose page-hit@5 is reported too.

Usage:
    nice -n 5 .venv/bin/python -m bench.financebench [--precision fp32] [--limit-files N] [--compare]
    nice -n 15 .venv/bin/python -m bench.financebench --subset multi --variants named,anonymized --langchain
    .venv/bin/python -m bench.financebench --smoke       # 2 small PDFs, engine only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.common import chunking_overrides, data_dir, fmt, mean, run_main, write_result
from bench.scifact import CONVEX_CHOSEN_ON_TRAIN
from ragline.bootstrap import Engine, build_engine
from ragline.config import RetrievalSettings, SearchMode, Settings

SMOKE_FILES = ("PEPSICO_2023_8K_dated-2023-05-05.pdf", "FOOTLOCKER_2022_8K_dated-2022-05-20.pdf")
#: Companies with several filings among the 50 (the hard case: which of AMCOR's four documents?), plus small
#: single filings; 19 PDFs, 945 pages, 36 questions: a run that fits a shared 2-core machine in minutes.
SUBSETS = {
    "multi": tuple(
        f"{name}.pdf"
        for name in (
            "AMCOR_2022_8K_dated-2022-07-01", "AMCOR_2023Q2_10Q", "AMCOR_2023Q4_EARNINGS", "AMCOR_2023_10K",
            "BESTBUY_2017_10K", "BESTBUY_2019_10K", "BESTBUY_2023_10K", "BESTBUY_2024Q2_10Q",
            "MGMRESORTS_2022Q4_EARNINGS", "MGMRESORTS_2023Q2_10Q", "JOHNSON_JOHNSON_2022Q4_EARNINGS",
            "JOHNSON_JOHNSON_2023_8K_dated-2023-08-30", "NETFLIX_2015_10K", "NETFLIX_2017_10K",
            "FOOTLOCKER_2022_8K_dated-2022-05-20", "FOOTLOCKER_2022_8K_dated_2022-08-19",
            "PEPSICO_2023Q1_EARNINGS", "PEPSICO_2023_8K_dated-2023-05-05", "ULTABEAUTY_2023Q4_EARNINGS",
        )
    )
}  # fmt: skip
_FIGURE_LINE = re.compile(r"^[($€£+-]*\$?\s*\(?\d[\d,.]*\)?%?$|^[-–—$]$")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    doc_name: str
    gold: frozenset[tuple[str, int]]  # (doc_name, 1-based page)
    table: bool = False  # an evidence text is a statement table


def is_table_evidence(text: str) -> bool:
    """A statement table's extracted text is mostly bare figures, one a line; prose has none alone on a line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    figures = sum(1 for line in lines if _FIGURE_LINE.match(line))
    return figures >= 5 and figures >= 0.4 * len(lines)


def load_questions() -> list[Question]:
    path = data_dir("financebench") / "questions_with_pdfs.jsonl"
    questions = []
    with path.open() as handle:
        for line in handle:
            row = json.loads(line)
            gold = frozenset((item["doc_name"], int(item["evidence_page_num"]) + 1) for item in row["evidence"])
            table = any(is_table_evidence(item["evidence_text"]) for item in row["evidence"])
            questions.append(Question(row["financebench_id"], row["question"], row["doc_name"], gold, table))
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
    tables = [q for q in questions if q.table]
    return {
        "questions": len(questions),
        "page_hit@5": mean(hits_at(q, runs[q.id], 5)[0] for q in questions),
        "page_hit@10": mean(hits_at(q, runs[q.id], 10)[0] for q in questions),
        "doc_hit@1": mean(hits_at(q, runs[q.id], 1)[1] for q in questions),
        "doc_hit@5": mean(hits_at(q, runs[q.id], 5)[1] for q in questions),
        "doc_hit@10": mean(hits_at(q, runs[q.id], 10)[1] for q in questions),
        "table_questions": len(tables),
        "table_page_hit@5": mean(hits_at(q, runs[q.id], 5)[0] for q in tables),
        "table_page_hit@10": mean(hits_at(q, runs[q.id], 10)[0] for q in tables),
    }


def anonymize(files: Sequence[Path], folder: Path) -> dict[str, str]:
    """Copies of `files` in `folder`, each named by a random id and without its document information (title,
    subject, keywords, dates): only the content says whose filing it is. Returns {random id: original stem}.

    pypdf decrypts the owner-password files and rewrites each one, copying the page content streams as they
    are (on the 19-PDF subset both variants give the same number of chunks, 4,698).
    """
    from pypdf import PdfReader, PdfWriter

    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for file in files:
        reader = PdfReader(file)
        if reader.is_encrypted:
            reader.decrypt("")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        if "/Metadata" in writer._root_object:  # XMP metadata may repeat the title
            del writer._root_object["/Metadata"]
        anonymous = secrets.token_hex(8)
        with (folder / f"{anonymous}.pdf").open("wb") as handle:
            writer.write(handle)
        names[anonymous] = file.stem
    return names


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
    engine: Engine,
    questions: Sequence[Question],
    mode: SearchMode,
    k: int = 10,
    retrieval=None,
    names: dict[str, str] | None = None,
) -> dict[str, list[Retrieved]]:
    """Each question's top-k as (gold-comparable doc name, pages); `names` maps an anonymized stem back."""
    from ragline.retrieval import RetrievalRequest, Retriever

    retriever = Retriever(engine.index, retrieval or engine.settings.retrieval)
    vectors = engine.embedder.embed([q.text for q in questions])
    runs = {}
    for question, vector in zip(questions, vectors, strict=True):
        hits = retriever.retrieve(RetrievalRequest(question.text, vector, k, mode))
        runs[question.id] = [Retrieved(_doc_name(h.chunk.source, names), tuple(h.chunk.pages)) for h in hits]
    return runs


def _doc_name(source: str, names: dict[str, str] | None) -> str:
    stem = Path(source).stem
    return (names or {}).get(stem, stem)


def engine_chunk_texts(engine: Engine) -> list[str]:
    """The exact texts the engine embedded, in index order (read back from the index)."""
    connection = engine.index._connection  # a benchmark may look inside; the engine never does
    return [row[0] for row in connection.execute("SELECT embedding_text FROM chunks ORDER BY rowid")]


def floor_embedder(precision: str, texts: Sequence[str]):
    """The floor's model with its sessions loaded, so that only `embed(texts)` is timed. It runs the fastest
    way measured here (each text alone, one single-threaded session per core; batched runs were slower:
    bench.precision_speed). bench.throughput's floor uses it too."""
    from bench.scifact import make_embedder

    embedder = make_embedder(precision)
    embedder.embed(list(texts[:8]))
    return embedder


def embedding_floor(precision: str, texts: Sequence[str]) -> dict:
    """The same model on the same chunks, nothing else timed."""
    embedder = floor_embedder(precision, texts)
    started = time.perf_counter()
    embedder.embed(list(texts))
    seconds = time.perf_counter() - started
    return {
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


#: Hybrid fusions measured beside the configured one (`retrieval.*` overrides); a key the settings do not
#: have (an older engine) is left out, so the same command runs before and after an engine change.
FUSIONS: dict[str, dict[str, object]] = {
    **{
        f"hybrid_rrf_60_50_boost{boost}": {"fusion": "rrf", "rrf_k": 60, "candidates": 50, "card_boost": boost}
        for boost in (0.0, 0.1, 0.2, 0.7)
    },
    **{
        f"hybrid_convex_{weight}_100_boost{boost}": {
            "fusion": "convex", "dense_weight": weight, "candidates": 100, "card_boost": boost
        }
        for weight in (0.3, 0.5, 0.6, 0.7)
        for boost in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    },
    # Without the second search inside the documents the question names (`named_documents`, section 6.2).
    **{
        f"hybrid_convex_0.6_100_boost{boost}_named0": {
            "fusion": "convex", "dense_weight": 0.6, "candidates": 100, "card_boost": boost, "named_documents": 0
        }
        for boost in (0.0, 0.2, 0.5, 0.7, 1.0)
    },
    "hybrid_convex_0.6_100_boost0.7_named1": {
        "fusion": "convex", "dense_weight": 0.6, "candidates": 100, "card_boost": 0.7, "named_documents": 1
    },
}  # fmt: skip


def _fusion_settings(engine: Engine, overrides: dict[str, object]) -> RetrievalSettings | None:
    if not set(overrides) <= set(RetrievalSettings.model_fields):
        return None
    return engine.settings.retrieval.model_copy(update=overrides)


def run_variant(
    files: Sequence[Path],
    questions: Sequence[Question],
    *,
    variant: str,
    precision: str,
    scratch: Path,
    langchain: bool,
    fusions: dict[str, dict[str, object]] | None = None,
    embedder=None,
    chunking: dict[str, object] | None = None,
) -> dict[str, object]:
    """One variant (named: the files as they are; anonymized: random names, no metadata) through the engine
    in every mode and fusion, and through LangChain on the very same files when asked."""
    names: dict[str, str] | None = None
    if variant == "anonymized":
        names = anonymize(files, scratch / "anonymized")
        files = sorted((scratch / "anonymized").glob("*.pdf"))
    elif variant != "named":
        raise ValueError(f"variant {variant!r}: expected named or anonymized")
    row: dict[str, object] = {"variant": variant}
    overrides = {"chunking": chunking} if chunking else {}
    engine = build_engine(bench_settings(scratch / f"data-{variant}", precision, **overrides), embedder=embedder)
    try:
        engine.embedder.embed(["warm up the model session outside the timing"])
        row["ragline_ingest"] = ingest(engine, files)
        retrieval = {
            mode.value: score(retrieve_all(engine, questions, mode, names=names), questions) for mode in SearchMode
        }
        for name, overrides in (FUSIONS if fusions is None else fusions).items():
            settings = _fusion_settings(engine, overrides)
            if settings is not None:
                runs = retrieve_all(engine, questions, SearchMode.HYBRID, retrieval=settings, names=names)
                retrieval[name] = score(runs, questions)
        row["retrieval"] = retrieval
        row["cards"] = _cards(engine, names)
        row["default_hybrid_top5"] = _top_documents(
            retrieve_all(engine, questions, SearchMode.HYBRID, names=names), questions
        )
    finally:
        engine.close()
    if langchain:
        from bench.langchain_pipeline import run_pipeline

        row["langchain"] = run_pipeline(files, questions, names=names)
    return row


def _top_documents(runs: dict[str, Sequence[Retrieved]], questions: Sequence[Question]) -> list[dict[str, object]]:
    """Per question: its gold filing and the filings of its first 5 chunks, in order (to read each miss)."""
    return [
        {"id": q.id, "question": q.text, "gold": q.doc_name, "top5": [item.doc_name for item in runs[q.id][:5]]}
        for q in questions
    ]


def _cards(engine: Engine, names: dict[str, str] | None) -> dict[str, object]:
    """What the engine's registry says each document is (when it keeps cards), by gold-comparable name."""
    cards = {}
    for status in engine.status():
        card = getattr(status, "card", None)
        if card is not None:
            cards[_doc_name(status.source, names)] = dataclasses.asdict(card)
    return cards


def run_variants(
    *,
    names: Sequence[str],
    label: str,
    variants: Sequence[str] = ("named", "anonymized"),
    precision: str = "int8",
    langchain: bool = False,
    record: bool = True,
    embedder=None,
    cache: bool = False,
    chunking: dict[str, object] | None = None,
) -> dict[str, object]:
    """Every variant through the engine; LangChain (when asked) on the last variant only: PyPDFLoader and Chroma
    embed page text alone, never the file name or the metadata title, so its rankings are the same on both."""
    files = pdf_files(names=names)
    wanted = {f.stem for f in files}
    questions = [q for q in load_questions() if q.doc_name in wanted]
    row: dict[str, object] = {"label": label, "precision": precision, "pdfs": [f.name for f in files]}
    if chunking:
        row["chunking"] = chunking
    if cache and embedder is None:
        from bench.embedding_cache import CachedEmbedder
        from bench.scifact import make_embedder

        embedder = CachedEmbedder(make_embedder(precision), precision)
    with tempfile.TemporaryDirectory() as scratch:
        for variant in variants:
            row[variant] = run_variant(
                files, questions, variant=variant, precision=precision, scratch=Path(scratch),
                langchain=langchain and variant == variants[-1], embedder=embedder, chunking=chunking,
            )  # fmt: skip
            _print_variant(row[variant])
    if hasattr(embedder, "hits"):  # ingestion timings of a cached run are not throughput
        row["embedding_cache"] = {"hits": embedder.hits, "misses": embedder.misses}
        print(f"embedding cache: {row['embedding_cache']}")
    if record:
        write_result("financebench_variants", row)
    return row


def _print_variant(row: dict) -> None:
    ours = row["ragline_ingest"]
    print(
        f"[{row['variant']}] {ours['files']} PDFs, {ours['pages']} pages, {ours['chunks']} chunks "
        f"in {ours['seconds']} s = {ours['pages_per_second']} pages/s; stages {ours['stage_seconds']}"
    )
    systems = dict(row["retrieval"])
    if "langchain" in row:
        systems["langchain"] = row["langchain"]["retrieval_dense"]
    for name, s in systems.items():
        print(
            f"  {name:24s} doc@1 {fmt(s['doc_hit@1'], 3)} doc@5 {fmt(s['doc_hit@5'], 3)} "
            f"page@5 {fmt(s['page_hit@5'], 3)} page@10 {fmt(s['page_hit@10'], 3)} | tables "
            f"page@5 {fmt(s['table_page_hit@5'], 3)} page@10 {fmt(s['table_page_hit@10'], 3)} "
            f"({s['questions']} q, {s['table_questions']} tables)"
        )


#: FinanceBench's document types, as ragline.cards names them.
FINANCEBENCH_TYPES = {"10k": "10-K", "10q": "10-Q", "8k": "8-K", "earnings": "earnings release"}


def card_accuracy(files: Sequence[Path]) -> dict[str, object]:
    """Cards made as for an anonymized copy (a random file name, no metadata title) against FinanceBench's own
    document information: type, whether an issuer was found, whether the period's calendar year is its
    doc_period, and whether the card's fiscal year is (`ragline.cards.fiscal_year`, each issuer's fiscal
    calendar read from its year-long cards among these files, as retrieval reads it from the corpus): FinanceBench
    labels a filing by its fiscal year, so a quarter or a year ending early in the calendar year is labelled by
    the next or the previous year."""
    import pypdfium2

    from ragline.cards import CARD_PAGES, card_spans, fiscal_year, make_card

    info = {}
    with (data_dir("financebench") / "financebench_document_information.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            info[row["doc_name"]] = row
    cards = {}
    for file in files:
        pdf = pypdfium2.PdfDocument(file.read_bytes())
        try:
            pages = [pdf[index].get_textpage().get_text_bounded() for index in range(min(len(pdf), CARD_PAGES))]
        finally:
            pdf.close()
        cards[file.stem] = make_card(pages, f"/anonymized/{secrets.token_hex(8)}.pdf")
    year_ends = {}
    for card in cards.values():
        if card.issuer and "year" in card_spans(card) and card.period and len(card.period) == 10:
            year_ends.setdefault(card.issuer, date.fromisoformat(card.period))
    misses: dict[str, list[str]] = {"doc_type": [], "issuer": [], "period_year": [], "fiscal_year": []}
    for stem, card in cards.items():
        expected = info[stem]
        if card.doc_type != FINANCEBENCH_TYPES.get(str(expected["doc_type"]).lower()):
            misses["doc_type"].append(f"{stem}: {card.doc_type}")
        if card.issuer is None:
            misses["issuer"].append(stem)
        if not card.period or card.period[:4] != str(expected["doc_period"]):
            misses["period_year"].append(f"{stem}: {card.period_text} (FinanceBench {expected['doc_period']})")
        year = fiscal_year(card, year_ends.get(card.issuer or ""))
        if year != str(expected["doc_period"]):
            wanted = expected["doc_period"]
            misses["fiscal_year"].append(f"{stem}: fiscal {year} of {card.period_text} (FinanceBench {wanted})")
    return {"documents": len(files), **{f"{field}_misses": found for field, found in misses.items()}}


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
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8", "bf16"])
    parser.add_argument("--limit-files", type=int, default=None, help="the first N PDFs by file name")
    parser.add_argument("--compare", action="store_true", help="also the embedding floor and LangChain, same files")
    parser.add_argument("--smoke", action="store_true", help="two small PDFs, engine only")
    parser.add_argument("--subset", choices=sorted(SUBSETS), help="a named subset of the PDFs (see SUBSETS)")
    parser.add_argument("--variants", help="comma-separated: named,anonymized (every mode and fusion, doc-hit@1)")
    parser.add_argument("--langchain", action="store_true", help="with --variants: LangChain on the same files")
    parser.add_argument("--cards", action="store_true", help="card accuracy against FinanceBench's document info")
    parser.add_argument(
        "--no-cache", action="store_true", help="with --variants: embed everything (fp32 runs read bench/out/cache)"
    )
    parser.add_argument(
        "--chunking", help="with --variants: chunking settings on trial, e.g. contextual_header=false,overlap_tokens=0"
    )
    args = parser.parse_args(argv)
    if args.cards:
        result = card_accuracy(pdf_files(args.limit_files))
        write_result("financebench_cards", result)
        print(json.dumps(result, indent=2))
    elif args.variants:
        names = SUBSETS[args.subset] if args.subset else [f.name for f in pdf_files(args.limit_files)]
        label = args.subset or (f"first{args.limit_files}" if args.limit_files else "all50")
        run_variants(
            names=names, label=label, variants=args.variants.split(","), precision=args.precision,
            langchain=args.langchain, cache=args.precision == "fp32" and not args.no_cache,
            chunking=chunking_overrides(args.chunking),
        )  # fmt: skip
    elif args.smoke:
        run(precision=args.precision, names=SMOKE_FILES, label="smoke")
    else:
        label = f"first{args.limit_files}" if args.limit_files else "all50"
        run(precision=args.precision, limit_files=args.limit_files, compare=args.compare, label=label)


if __name__ == "__main__":
    raise SystemExit(run_main(main))

__all__ = ["RetrievalSettings", "load_questions", "run", "score"]
