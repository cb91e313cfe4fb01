"""How the local model is run, side by side: each text alone on one session per core (the engine's way) against
sorted batches of 32 on one multi-threaded session (the engine's way until 2026-12-01), in fp32 and int8.

The texts are 256 SciFact abstracts cut to 198 tokens (the size of the engine's chunks). The four ways are timed in
interleaved rounds whose order reverses every round, after a warm-up, and the 1-minute load average is recorded
with each round; the ratios are medians over the rounds. Whether int8 keeps each text's vector apart from its
batch mates is checked on the same texts: the largest difference between a text embedded alone and in its batch.

Usage:
    .venv/bin/python -m bench.precision_speed [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench.common import run_main, write_result

BATCH = 32


class BatchedBaseline:
    """The engine's former way, kept here as the baseline: sorted batches padded to their longest text, on one
    session using onnxruntime's default threads (one per core)."""

    def __init__(self, model_file: str, tokenizer_file: str) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._session = onnxruntime.InferenceSession(model_file, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(tokenizer_file)
        self._tokenizer.no_truncation()
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda position: len(texts[position]))
        vectors = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            vectors[batch] = self._batch([texts[position] for position in batch])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": ids * 0})
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def embedders() -> dict[str, object]:
    from bench import scifact
    from ragline.adapters.local.embedding import packaged_model_dir
    from ragline.adapters.local.onnx_export import INT8_FILE_NAME, ONNX_FILE_NAME
    from ragline.config import Settings

    ways: dict[str, object] = {}
    onnx_dir = Settings().embedding.onnx_cache_dir
    tokenizer_file = str(packaged_model_dir() / "tokenizer.json")
    for precision, file_name in (("fp32", ONNX_FILE_NAME), ("int8", INT8_FILE_NAME)):
        alone = scifact.make_embedder(precision)
        alone.embed(["make the int8 file if it is missing"])
        ways[f"{precision} alone"] = alone
        ways[f"{precision} batched"] = BatchedBaseline(str(onnx_dir / file_name), tokenizer_file)
    return ways


def batch_dependence(embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> float:
    """The largest cosine distance between a text embedded alone and the same text inside the batch."""
    together = embed(texts)
    alone = np.vstack([embed([text]) for text in texts[:BATCH]])
    return float(1.0 - (together[:BATCH] * alone).sum(axis=1).min())


def main(argv: Sequence[str] | None = None) -> None:
    from bench import scifact

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args(argv)
    data = scifact.load("test")
    ways = embedders()
    counter = scifact.make_embedder("fp32").tokens
    texts = [counter.split(scifact.chunk_text(t, x), 198)[0] for t, x in list(data.corpus.values())[:256]]
    for way in ways.values():
        way.embed(texts[:4])  # type: ignore[attr-defined]
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    loads = []
    for number in range(arguments.rounds):
        names = list(ways) if number % 2 == 0 else list(ways)[::-1]
        loads.append(round(os.getloadavg()[0], 2))
        for name in names:
            started = time.perf_counter()
            ways[name].embed(texts)  # type: ignore[attr-defined]
            seconds[name].append(round(time.perf_counter() - started, 2))
    rates = {name: round(len(texts) / statistics.median(values), 1) for name, values in seconds.items()}
    row = {
        "texts": len(texts),
        "cores": len(os.sched_getaffinity(0)),
        "load_at_each_round": loads,
        "seconds": seconds,
        "texts_per_second_median": rates,
        "alone_over_batched": {
            precision: round(rates[f"{precision} alone"] / rates[f"{precision} batched"], 2)
            for precision in ("fp32", "int8")
        },
        "int8_alone_over_fp32_batched": round(rates["int8 alone"] / rates["fp32 batched"], 2),
        "largest_cosine_distance_alone_vs_in_batch": {
            name: batch_dependence(way.embed, texts[:96])  # type: ignore[attr-defined]
            for name, way in ways.items()
        },
    }
    print(row)
    write_result("precision_speed", row)


if __name__ == "__main__":
    raise SystemExit(run_main(main))
