"""The physical limit of local embedding (issue 15, item 4): the model's arithmetic per token, and the fastest this
machine multiplies matrices of the model's shapes, in fp32 and in int8.

Arithmetic: a BERT layer does, per token, 4·h² multiply-adds for the query, key, value and output projections,
2·h·i for the feed-forward block, and 2·n·h for attention over a text of n tokens (scores and weighted sum); a
multiply-add is two operations. Layer norms, softmax, GELU and the embedding lookup are left out: they are a few
percent, so the floor is a little optimistic, never pessimistic.

Peak: onnxruntime, the engine's runtime, multiplying a (256 × h) input by the model's largest weight (h × i), the
way the engine runs (one single-threaded session per core, all cores at once), as `MatMul` in fp32 and as
`MatMulInteger` (uint8 activations, int8 weights, what dynamic quantization runs) in int8. The best of several
repetitions counts: a peak, not a typical rate.

    .venv/bin/python -m bench.peak            # both peaks, and the floor of a sample of chunk-sized texts
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROWS = 256  # tokens multiplied at once: about one chunk


def model_shape(model_dir: Path) -> dict[str, int]:
    config = json.loads((model_dir / "config.json").read_text())
    return {
        "layers": int(config["num_hidden_layers"]),
        "hidden": int(config["hidden_size"]),
        "intermediate": int(config["intermediate_size"]),
    }


def operations_per_text(tokens: int, shape: dict[str, int]) -> float:
    """Multiply-add operations (×2) of one text of `tokens` tokens (special tokens included) through the encoder."""
    hidden, intermediate = shape["hidden"], shape["intermediate"]
    per_token = 4 * hidden * hidden + 2 * hidden * intermediate + 2 * tokens * hidden
    return 2.0 * shape["layers"] * tokens * per_token


def operations(token_counts: Sequence[int], shape: dict[str, int]) -> float:
    return sum(operations_per_text(tokens, shape) for tokens in token_counts)


def _matmul_model(precision: str, hidden: int, intermediate: int) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if precision == "fp32":
        weight = numpy_helper.from_array(rng.standard_normal((hidden, intermediate)).astype(np.float32), "weight")
        node = helper.make_node("MatMul", ["input", "weight"], ["output"])
        input_type, output_type = TensorProto.FLOAT, TensorProto.FLOAT
        initializers = [weight]
    else:
        weight = numpy_helper.from_array(rng.integers(-127, 128, (hidden, intermediate), dtype=np.int8), "weight")
        node = helper.make_node("MatMulInteger", ["input", "weight"], ["output"])
        input_type, output_type = TensorProto.UINT8, TensorProto.INT32
        initializers = [weight]
    graph = helper.make_graph(
        [node],
        "peak",
        [helper.make_tensor_value_info("input", input_type, [ROWS, hidden])],
        [helper.make_tensor_value_info("output", output_type, [ROWS, intermediate])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads, whatever the onnx package writes by default
    return model.SerializeToString()


def matmul_peak(precision: str, shape: dict[str, int], cores: int, repetitions: int = 5, calls: int = 200) -> float:
    """Operations per second of the model's largest product on every core at once, best of `repetitions`."""
    hidden, intermediate = shape["hidden"], shape["intermediate"]
    model = _matmul_model("int8" if precision == "int8" else "fp32", hidden, intermediate)
    sessions = [_session(model, precision) for _ in range(cores)]
    rng = np.random.default_rng(1)
    if precision == "int8":
        data = rng.integers(0, 256, (ROWS, hidden), dtype=np.uint8)
    else:
        data = rng.standard_normal((ROWS, hidden)).astype(np.float32)

    def work(session) -> None:  # type: ignore[no-untyped-def]
        for _ in range(calls):
            session.run(None, {"input": data})

    best = float("inf")
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(work, sessions))  # warm-up
        for _ in range(repetitions):
            started = time.perf_counter()
            list(pool.map(work, sessions))
            best = min(best, time.perf_counter() - started)
    return 2.0 * ROWS * hidden * intermediate * calls * cores / best


def _session(model: bytes, precision: str):  # type: ignore[no-untyped-def]
    """One single-threaded runner of the product, as the embedder runs the model at this precision."""
    if precision == "bf16":  # the embedder's own OpenVINO runner, reading the fp32 product from a file
        from ragline.adapters.local.embedding import _OpenVinoBf16Session

        with tempfile.NamedTemporaryFile(suffix=".onnx", delete=False) as handle:
            handle.write(model)
        try:
            return _OpenVinoBf16Session(Path(handle.name))
        finally:
            os.unlink(handle.name)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def floor(token_counts: Sequence[int], pages: int, precision: str, peak: float, shape: dict[str, int]) -> dict:
    """The least time the model's arithmetic on these texts takes at the measured peak, in seconds and pages/s."""
    seconds = operations(token_counts, shape) / peak
    return {
        "precision": precision,
        "texts": len(token_counts),
        "tokens": int(sum(token_counts)),
        "operations": operations(token_counts, shape),
        "peak_operations_per_second": peak,
        "seconds": round(seconds, 2),
        "pages_per_second": round(pages / seconds, 2) if pages else None,
    }


def main(argv: Sequence[str] | None = None) -> None:
    from bench.common import write_result
    from ragline.adapters.local.embedding import packaged_model_dir
    from ragline.errors import ConfigurationError

    shape = model_shape(packaged_model_dir())
    cores = len(os.sched_getaffinity(0))
    peaks = {precision: matmul_peak(precision, shape, cores) for precision in ("fp32", "int8")}
    try:
        peaks["bf16"] = matmul_peak("bf16", shape, cores)
    except ConfigurationError as unsupported:  # a CPU without bfloat16 instructions: say so, measure the rest
        print(f"bf16 not measured: {unsupported}")
    row = {
        "cores": cores,
        "load": round(os.getloadavg()[0], 2),
        "shape": shape,
        "peak_giga_operations_per_second": {name: round(value / 1e9, 1) for name, value in peaks.items()},
        "operations_per_200_token_text": operations_per_text(200, shape),
    }
    print(row)
    write_result("peak", row)


if __name__ == "__main__":
    from bench.common import run_main

    raise SystemExit(run_main(main))
