"""A model of one's own (`embedding.model_dir`): a name of its own in the index and the archive, and never run on
another model's ONNX export. The default export folder holds the packaged model's export: before, a model of one's
own with that folder ran the packaged weights under its own tokenizer, under the packaged model's name, without a
word."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragline.adapters.local.embedding import (
    EXPORT_SOURCE_FILE,
    MODEL_NAME,
    MiniLMOnnxEmbedder,
    local_model_name,
    packaged_model_dir,
)
from ragline.adapters.local.onnx_export import ONNX_FILE_NAME
from ragline.bootstrap import build_engine
from ragline.config import Settings
from ragline.errors import ConfigurationError


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


def own_model(folder: Path, note: str) -> Path:
    """The packaged model's files with another configuration: to every file but the weights, another model."""
    shutil.copytree(packaged_model_dir(), folder, copy_function=_link_or_copy)
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text())
    config_file.unlink()  # a hard link: writing through it would change the packaged model
    config_file.write_text(json.dumps({**config, "ragline_test_note": note}))
    return folder


def packaged_export(folder: Path) -> Path:
    """The export `make setup` made of the packaged model, as a folder from before exports recorded their model."""
    folder.mkdir()
    _link_or_copy(str(Settings().embedding.onnx_cache_dir / ONNX_FILE_NAME), str(folder / ONNX_FILE_NAME))
    return folder


def test_a_model_of_ones_own_is_named_by_its_folder_and_its_files(tmp_path):
    mine = own_model(tmp_path / "my-encoder", "fine-tuned on pumps")
    other = own_model(tmp_path / "other" / "my-encoder", "fine-tuned on birds")
    assert local_model_name("fp32") == local_model_name("fp32", packaged_model_dir()) == MODEL_NAME
    name = local_model_name("fp32", mine)
    assert name.startswith("local:my-encoder:") and name != local_model_name("fp32", other)
    assert local_model_name("int8", mine) == f"{name}:int8"
    assert MiniLMOnnxEmbedder(mine, tmp_path / "onnx", precision="int8").model_name == f"{name}:int8"


def test_the_packaged_models_export_is_refused_to_another_model_naming_both(tmp_path):
    mine = own_model(tmp_path / "my-encoder", "fine-tuned on pumps")
    export = packaged_export(tmp_path / "onnx")
    with pytest.raises(ConfigurationError) as refused:
        MiniLMOnnxEmbedder(mine, export, threads=1).embed(["pumps move water"])
    message = str(refused.value)
    assert f"{export} holds the ONNX export of {MODEL_NAME}, not of {local_model_name('fp32', mine)}" in message
    assert "embedding.onnx_cache_dir" in message
    # The packaged model itself still runs on it: an export that records nothing is the packaged model's.
    (vector,) = MiniLMOnnxEmbedder(packaged_model_dir(), export, threads=1).embed(["pumps move water"])
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_an_export_records_its_model_and_serves_no_other(tmp_path):
    pytest.importorskip("torch", reason="exporting needs the export extra (torch)")
    mine = own_model(tmp_path / "my-encoder", "fine-tuned on pumps")
    export = tmp_path / "my-encoder-onnx"
    (vector,) = MiniLMOnnxEmbedder(mine, export, threads=1).embed(["pumps move water"])
    assert (export / EXPORT_SOURCE_FILE).read_text().strip() == local_model_name("fp32", mine)
    # Same weights as the packaged model (only the configuration's note differs): the same vector.
    (packaged,) = MiniLMOnnxEmbedder(packaged_model_dir(), packaged_export(tmp_path / "onnx"), threads=1).embed(
        ["pumps move water"]
    )
    assert float(vector @ packaged) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigurationError, match=f"holds the ONNX export of {local_model_name('fp32', mine)}"):
        MiniLMOnnxEmbedder(packaged_model_dir(), export, threads=1).embed(["pumps move water"])


def test_the_engine_records_the_own_models_name_in_its_index(tmp_path, monkeypatch):
    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    mine = own_model(tmp_path / "my-encoder", "fine-tuned on pumps")
    # fp32 named: the default (auto) would follow the machine, and the names below with it.
    packaged = build_engine(Settings(data_dir=tmp_path / "data", embedding={"precision": "fp32"}))
    packaged.index.replace_document("/docs/birds.pdf", "b" * 64, [])  # the first to write: the index is its
    packaged.close()
    engine = build_engine(
        Settings(
            data_dir=tmp_path / "data",
            embedding={"model_dir": mine, "onnx_cache_dir": tmp_path / "onnx", "precision": "fp32"},
        )
    )
    with pytest.raises(ConfigurationError) as refused:
        engine.index.replace_document("/docs/pumps.pdf", "p" * 64, [])
    message, own_name = str(refused.value), local_model_name("fp32", mine)
    assert f"holds vectors of {MODEL_NAME}, but this configuration embeds with {own_name}:" in message
    assert "embedding.model_dir" in message
    engine.close()
