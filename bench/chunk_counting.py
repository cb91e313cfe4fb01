"""Chunking's CPU with each chunk's tokens counted again against its pieces' counts added (issue 15).

The chunker needs each chunk's exact token count. It used to tokenize every chunk's final text again; for a
tokenizer that cuts at whitespace first (`TokenCounter.additive`), the count is the header's plus the pieces',
already known. During ingestion chunking runs beside the embedder on the same two cores, so its CPU, not its wall
time, is what the embedder loses: CPU seconds of this process (every thread) are measured.

The PDFs are extracted once; then, in interleaved rounds whose order reverses every round, the same documents are
chunked by the packaged counter and by the same counter declared not additive (the old way). Both must give the
same chunks (texts, counts, pages): a difference stops the run. Needs ../shared/data, or `--files`.

Usage:
    .venv/bin/python -m bench.chunk_counting [--limit-files 10] [--rounds 6]
    .venv/bin/python -m bench.chunk_counting --files demo/corpus/*.pdf --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import median_and_range, run_main, write_result
from bench.financebench import pdf_files
from ragline.adapters.local.embedding import packaged_model_dir
from ragline.adapters.local.extraction import LocalExtractor
from ragline.cards import with_card
from ragline.chunking import Chunker
from ragline.config import Settings
from ragline.model import Chunk, Document
from ragline.tokens import WordPieceTokenCounter


class RecountingCounter(WordPieceTokenCounter):
    """The packaged counter, declared not additive: the chunker counts every chunk's text again."""

    additive = False  # type: ignore[assignment]


def documents(files: Sequence[Path]) -> list[Document]:
    """The files as the engine reads them locally: their pages' text and their card (for the chunks' header)."""
    extractor = LocalExtractor()
    return [with_card(extractor.extract(str(file), file.read_bytes())) for file in files]


def chunk_all(counter: WordPieceTokenCounter, docs: Sequence[Document]) -> list[Chunk]:
    chunking = Settings().chunking
    chunker = Chunker(
        counter,
        max_tokens=chunking.max_tokens,
        overlap_tokens=chunking.overlap_tokens,
        contextual_header=chunking.contextual_header,
    )
    return [chunk for document in docs for chunk in chunker.chunk(document)]


def fingerprint(chunks: Sequence[Chunk]) -> str:
    """One hash over what the embedder reads and what the index keeps of each chunk."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(repr((chunk.embedding_text, chunk.token_count, chunk.pages)).encode())
    return digest.hexdigest()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread, the tokenizer's own included
    return usage.ru_utime + usage.ru_stime


def measure(docs: Sequence[Document], rounds: int) -> dict[str, object]:
    model_dir = packaged_model_dir()
    counters = {
        "added": WordPieceTokenCounter.for_model(model_dir),
        "recounted": RecountingCounter.for_model(model_dir),
    }
    chunks = {name: chunk_all(counter, docs) for name, counter in counters.items()}  # also a warm-up
    prints = {name: fingerprint(made) for name, made in chunks.items()}
    if prints["added"] != prints["recounted"]:
        raise SystemExit("the two ways of counting gave different chunks: nothing measured")
    cpu: dict[str, list[float]] = {name: [] for name in counters}
    for number in range(rounds):
        for name in list(counters) if number % 2 == 0 else list(counters)[::-1]:
            started, began = cpu_seconds(), time.perf_counter()
            chunk_all(counters[name], docs)
            cpu[name].append(round(cpu_seconds() - started, 3))
            print(f"round {number}: {name:9s} {cpu[name][-1]:7.2f} CPU-s  {time.perf_counter() - began:6.2f} s")
    ratios = [added / recounted for added, recounted in zip(cpu["added"], cpu["recounted"], strict=True)]
    return {
        "chunks": len(chunks["added"]),
        "cpu_seconds": cpu,
        "added_over_recounted": median_and_range(ratios),
        "fingerprint": prints["added"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--limit-files", type=int, default=10, help="FinanceBench's first N PDFs")
    source.add_argument("--files", type=Path, nargs="+", help="these PDFs instead of FinanceBench's")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1: the ratios are taken over rounds")
    files = args.files or pdf_files(args.limit_files)
    docs = documents(files)
    row = measure(docs, args.rounds)
    pages = sum(len(document.pages) for document in docs)
    print(f"{len(files)} files, {pages:,d} pages: added / recounted CPU, median {row['added_over_recounted']}")
    write_result("chunk_counting", {"files": [file.name for file in files], "pages": pages, **row})


if __name__ == "__main__":
    run_main(main)
