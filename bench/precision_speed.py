"""fp32 vs int8 MiniLM throughput, alternated in one process on the same texts (load drifts cancel out).

The texts are 256 SciFact abstracts cut to 198 tokens (the size of the engine's chunks), batch size 32 (the
engine's default); each precision is timed twice, alternately, after a warm-up.

Usage:
    nice -n 5 .venv/bin/python -m bench.precision_speed
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.common import run_main, write_result


def main(argv: Sequence[str] | None = None) -> None:
    from bench import scifact

    data = scifact.load("test")
    texts = [scifact.chunk_text(t, x) for t, x in list(data.corpus.values())[:256]]
    embedders = {precision: scifact.make_embedder(precision, batch_size=32) for precision in ("fp32", "int8")}
    cut = [embedders["fp32"].tokens.split(text, 198)[0] for text in texts]
    for embedder in embedders.values():
        embedder.embed(cut[:4])
    rates: dict[str, list[float]] = {precision: [] for precision in embedders}
    for _ in range(2):
        for precision, embedder in embedders.items():
            started = time.perf_counter()
            embedder.embed(cut)
            rates[precision].append(round(len(cut) / (time.perf_counter() - started), 1))
    print({f"{precision}_texts_per_second": values for precision, values in rates.items()})
    write_result("precision_speed", {"texts": len(cut), "texts_per_second": rates})


if __name__ == "__main__":
    raise SystemExit(run_main(main))
