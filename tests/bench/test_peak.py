"""The physical floor's arithmetic (bench/peak.py) checked against the exported model itself, not against the
formula: the weights the graph multiplies per token are counted from its MatMul initializers."""

from __future__ import annotations

import pytest

from bench.peak import matmul_peak, model_shape, operations_per_text
from ragline.adapters.local.embedding import cpu_has_bf16, packaged_model_dir
from ragline.adapters.local.onnx_export import ONNX_FILE_NAME
from ragline.config import Settings


def test_the_per_token_arithmetic_equals_the_weights_the_exported_graph_multiplies():
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(Settings().embedding.onnx_cache_dir / ONNX_FILE_NAME))
    weights = {initializer.name: initializer.dims for initializer in model.graph.initializer}
    multiplied = sum(
        weights[name][0] * weights[name][1]
        for node in model.graph.node
        if node.op_type == "MatMul"
        for name in node.input
        if len(weights.get(name, ())) == 2
    )
    shape = model_shape(packaged_model_dir())
    one_token_without_attention = operations_per_text(1, shape) - 2 * shape["layers"] * 2 * shape["hidden"]
    assert one_token_without_attention == 2 * multiplied


def test_attention_grows_with_the_square_of_the_text():
    shape = {"layers": 1, "hidden": 2, "intermediate": 3}
    linear = 2 * (4 * 2 * 2 + 2 * 2 * 3)
    assert operations_per_text(10, shape) == 10 * linear + 2 * 10 * 10 * 2 * 2


@pytest.mark.parametrize(
    "precision",
    [
        "fp32",
        "int8",
        pytest.param(
            "bf16", marks=pytest.mark.skipif(not cpu_has_bf16(), reason="the CPU has no bfloat16 instructions")
        ),
    ],
)
def test_a_peak_is_measured_in_each_precision(precision):
    peak = matmul_peak(precision, {"layers": 1, "hidden": 64, "intermediate": 128}, cores=1, repetitions=1, calls=2)
    assert peak > 1e6
