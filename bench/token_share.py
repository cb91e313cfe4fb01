"""What chunking's overlap and contextual header cost in embedded tokens (issue 15, item 2), before any quality trial.

Each FinanceBench PDF is ingested by the engine once per chunking setting, with the embedder replaced by a constant
(the vectors do not matter here, only the texts), and the chunks' own `token_count`s are summed: the exact count of
what the model reads. Embedding cost grows with the tokens (bench/RESULTS.md section 3.2), so the shares are the
embedding time each lever costs. Needs ../shared/data.

Usage:
    .venv/bin/python -m bench.token_share [--limit-files 10]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import run_main, write_result
from bench.financebench import bench_settings, pdf_files
from ragline.bootstrap import build_engine

SETTINGS = {
    "default": {},
    "no overlap": {"overlap_tokens": 0},
    "no header": {"contextual_header": False},
    "neither": {"overlap_tokens": 0, "contextual_header": False},
}


def constant_vectors(count: int, dimension: int) -> np.ndarray:
    """`count` equal unit vectors: the texts are what is measured here, not what they embed to."""
    vectors = np.ones((count, dimension), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunk_tokens(files: Sequence[Path], chunking: dict[str, object]) -> list[int]:
    """The token count of every chunk the engine makes of `files` with these chunking settings."""
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(Path(folder) / "data", "fp32")
        settings = settings.model_copy(update={"chunking": settings.chunking.model_copy(update=chunking)})
        engine = build_engine(settings)
        try:
            dimension = engine.embedder.dimension
            engine.embedder.embed = lambda texts: constant_vectors(len(texts), dimension)  # type: ignore[method-assign]
            engine.ingest(files)
            connection = engine.index._connection  # a benchmark may look inside; the engine never does
            return [row[0] for row in connection.execute("SELECT token_count FROM chunks")]
        finally:
            engine.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-files", type=int, default=10)
    args = parser.parse_args(argv)
    files = pdf_files(args.limit_files)
    rows = {name: chunk_tokens(files, chunking) for name, chunking in SETTINGS.items()}
    default = sum(rows["default"])
    summary = {
        name: {"chunks": len(counts), "tokens": sum(counts), "against_default": round(sum(counts) / default - 1, 4)}
        for name, counts in rows.items()
    }
    for name, row in summary.items():
        print(f"{name:12s} {row['chunks']:7,d} chunks {row['tokens']:10,d} tokens {row['against_default']:+.1%}")
    write_result("token_share", {"files": [file.name for file in files], "settings": summary})


if __name__ == "__main__":
    run_main(main)
