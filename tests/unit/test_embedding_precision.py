"""`embedding.precision = "auto"`, the default: which precision it stands for, decided in one place."""

from __future__ import annotations

import pytest

from ragline.adapters.local import embedding
from ragline.adapters.local.embedding import MODEL_NAME, resolve_precision


@pytest.mark.parametrize("explicit", ["fp32", "int8", "bf16"])
def test_an_explicit_precision_is_kept_whatever_the_index_or_the_machine(explicit, monkeypatch):
    monkeypatch.setattr(embedding, "cpu_has_bf16", lambda: True)
    assert resolve_precision(explicit, held_model=f"{MODEL_NAME}:int8") == explicit


@pytest.mark.parametrize(
    ("held", "expected"),
    [(MODEL_NAME, "fp32"), (f"{MODEL_NAME}:int8", "int8"), (f"{MODEL_NAME}:bf16", "bf16")],
)
@pytest.mark.parametrize("machine_has_bf16", [True, False])
def test_auto_follows_the_precision_the_index_holds(held, expected, machine_has_bf16, monkeypatch):
    monkeypatch.setattr(embedding, "cpu_has_bf16", lambda: machine_has_bf16)
    assert resolve_precision("auto", held_model=held) == expected


@pytest.mark.parametrize("held", [None, "local:my-model:0123456789ab", f"{MODEL_NAME}:fp16", f"x{MODEL_NAME}"])
def test_auto_with_no_index_of_this_model_takes_the_machines_best(held, monkeypatch):
    monkeypatch.setattr(embedding, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto", held_model=held) == "bf16"
    monkeypatch.setattr(embedding, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto", held_model=held) == "fp32"


def test_a_machine_without_openvino_has_no_bf16(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    embedding.cpu_has_bf16.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_openvino)
    try:
        assert embedding.cpu_has_bf16() is False
    finally:
        embedding.cpu_has_bf16.cache_clear()  # the next caller asks the real machine again
