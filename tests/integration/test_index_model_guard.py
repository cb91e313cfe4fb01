"""An index holds the vectors of one embedding model and precision. A question embedded by another (even the same
model in int8 against fp32) would be ranked against them on noise, and a re-ingest would mix the two silently:
the embedded index records its model on first use and refuses another, naming both and the way out."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from ragline.adapters.local.index.sqlite import UNRECORDED_MODEL, SqliteIndex
from ragline.bootstrap import build_engine
from ragline.config import Settings
from ragline.errors import ConfigurationError
from tests.contracts.index_contract import DIMENSION, PUMPS

FP32 = "sentence-transformers/all-MiniLM-L6-v2"
INT8 = f"{FP32}:int8"
DEMO_PDFS = sorted((Path(__file__).resolve().parents[2] / "demo" / "corpus").glob("*.pdf"))


def _written(path: Path, model: str | None) -> None:
    index = SqliteIndex(path, dimension=DIMENSION, model=model)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.close()


def _searched(path: Path, model: str) -> None:
    index = SqliteIndex(path, dimension=DIMENSION, model=model)
    try:
        index.dense_search(PUMPS[0].vector, k=1)
    finally:
        index.close()


def test_the_model_that_wrote_the_index_searches_it_and_another_is_refused_by_name(tmp_path):
    path = tmp_path / "index.sqlite3"
    _written(path, FP32)
    _searched(path, FP32)
    _written(path, FP32)
    with pytest.raises(ConfigurationError) as refused:
        _searched(path, INT8)
    message = str(refused.value)
    assert str(path) in message and f"holds vectors of {FP32}," in message and f"embeds with {INT8}" in message
    assert "embedding.precision" in message


def test_the_refusal_names_ways_out_that_work(tmp_path, monkeypatch):
    """The message is all a user has after changing the settings: the environment variable it names must be the one
    that sets the precision, and the other way out, a fresh data_dir, must be there to read."""
    path = tmp_path / "index.sqlite3"
    _written(path, FP32)
    with pytest.raises(ConfigurationError) as refused:
        _searched(path, INT8)
    message = str(refused.value)
    named = re.search(r"RAGLINE_[A-Z_]+", message)
    assert named, f"no environment variable named in: {message}"
    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv(named.group(), "int8")
    assert Settings().embedding.precision == "int8"
    assert "or use another data_dir and ingest again" in message


def test_writing_is_refused_too_and_leaves_the_index_as_it_was(tmp_path):
    path = tmp_path / "index.sqlite3"
    _written(path, INT8)
    index = SqliteIndex(path, dimension=DIMENSION, model=FP32)
    with pytest.raises(ConfigurationError, match=r"holds vectors of .*:int8"):
        index.replace_document("/docs/other.pdf", "o" * 64, [])
    assert index.count() == len(PUMPS)  # listing and counting still work under the new settings
    index.close()


def test_a_first_write_that_is_rolled_back_leaves_the_next_write_to_record_the_model(tmp_path):
    """The model is recorded inside the first write's transaction. When that write is rolled back (here: a document
    whose two chunks share an id; in ingestion, a failed archive write), the record goes with it, so the next write
    must record the model again: an index holding int8 vectors and no record would be taken for one from before
    (fp32 MiniLM) and ranked against fp32 questions."""
    path = tmp_path / "index.sqlite3"
    index = SqliteIndex(path, dimension=DIMENSION, model=INT8)
    with pytest.raises(sqlite3.IntegrityError):
        index.replace_document("/docs/pumps.pdf", "p" * 64, [PUMPS[0], PUMPS[0]])
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.close()
    with pytest.raises(ConfigurationError, match=r"holds vectors of .*:int8"):
        _searched(path, FP32)


def test_an_empty_index_is_searched_by_any_model_and_taken_by_the_first_that_writes(tmp_path):
    path = tmp_path / "index.sqlite3"
    _searched(path, FP32)
    _written(path, INT8)
    with pytest.raises(ConfigurationError, match=r"holds vectors of .*:int8"):
        _searched(path, FP32)


def test_an_index_written_before_models_were_recorded_is_taken_as_fp32_minilm(tmp_path):
    legacy, empty_legacy = tmp_path / "legacy.sqlite3", tmp_path / "empty.sqlite3"
    _written(legacy, None)  # what an index of an earlier version looks like: chunks, no model recorded
    SqliteIndex(empty_legacy, dimension=DIMENSION).close()
    with pytest.raises(ConfigurationError, match=f"holds vectors of {UNRECORDED_MODEL},"):
        _searched(legacy, INT8)
    _searched(legacy, UNRECORDED_MODEL)
    _written(empty_legacy, INT8)  # nothing in it to mix with


def test_an_engine_switched_to_int8_refuses_to_add_to_or_search_the_fp32_index(tmp_path, monkeypatch):
    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    pdf, another = (tmp_path / "docs" / source.name for source in DEMO_PDFS[:2])
    pdf.parent.mkdir()
    for source in DEMO_PDFS[:2]:
        shutil.copy(source, pdf.parent / source.name)
    fp32 = build_engine(Settings(data_dir=tmp_path / "data", embedding={"precision": "fp32"}))
    assert fp32.ingest([pdf]).chunks > 0
    chunks = fp32.index.count()
    fp32.close()
    int8 = build_engine(Settings(data_dir=tmp_path / "data", embedding={"precision": "int8"}))
    with pytest.raises(ConfigurationError, match=r"holds vectors of sentence-transformers/all-MiniLM-L6-v2,"):
        int8.ingest([another])
    with pytest.raises(ConfigurationError, match=r"embeds with sentence-transformers/all-MiniLM-L6-v2:int8"):
        int8.search("What did Northwind earn?")
    assert len(int8.status()) == 1  # the registry still lists what is there
    int8.close()
    again = build_engine(Settings(data_dir=tmp_path / "data", embedding={"precision": "fp32"}))
    assert again.index.count() == chunks
    again.close()


BF16 = f"{FP32}:bf16"
AUTO = {"precision": "auto"}


@pytest.mark.parametrize("machine_has_bf16", [True, False])
def test_auto_keeps_an_existing_index_and_gives_a_new_one_the_machines_best(tmp_path, monkeypatch, machine_has_bf16):
    """`embedding.precision = "auto"`: an index made at fp32 keeps working on a machine with bfloat16 instructions
    without a word of configuration, and one made at bf16 keeps its precision on a machine without them (embedding
    at bf16 is then refused by name, not emulated); a new index takes the machine's best."""
    from ragline.adapters.local import embedding

    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setattr(embedding, "cpu_has_bf16", lambda: machine_has_bf16)
    for held in (FP32, INT8, BF16):
        data = tmp_path / held.rpartition("/")[2].replace(":", "-")
        _written(Settings(data_dir=data).index_path, held)
        assert build_engine(Settings(data_dir=data, embedding=AUTO)).services.embedding_model() == held
    fresh = build_engine(Settings(data_dir=tmp_path / "fresh", embedding=AUTO))
    assert fresh.services.embedding_model() == (BF16 if machine_has_bf16 else FP32)
    explicit = build_engine(Settings(data_dir=tmp_path / "fresh", embedding={"precision": "int8"}))
    assert explicit.services.embedding_model() == INT8


def test_an_engine_on_auto_searches_the_fp32_index_it_finds(tmp_path, monkeypatch):
    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    pdf = tmp_path / "docs" / DEMO_PDFS[0].name
    pdf.parent.mkdir()
    shutil.copy(DEMO_PDFS[0], pdf)
    fp32 = build_engine(Settings(data_dir=tmp_path / "data", embedding={"precision": "fp32"}))
    assert fp32.ingest([pdf]).chunks > 0
    expected = [citation.chunk_id for citation in fp32.search("What did Northwind earn?").citations]
    fp32.close()
    default = build_engine(Settings(data_dir=tmp_path / "data", embedding=AUTO))
    assert [citation.chunk_id for citation in default.search("What did Northwind earn?").citations] == expected
    assert default.embedder.model_name == FP32
    default.close()


def test_reading_the_held_model_changes_nothing_and_creates_nothing(tmp_path):
    missing = tmp_path / "none" / "index.sqlite3"
    assert SqliteIndex.held_model(missing) is None
    assert not missing.parent.exists()
    path = tmp_path / "index.sqlite3"
    SqliteIndex(path, dimension=DIMENSION, model=INT8).close()  # empty: the first write decides
    assert SqliteIndex.held_model(path) is None
    _written(path, INT8)
    before = path.read_bytes()
    assert SqliteIndex.held_model(path) == INT8
    assert path.read_bytes() == before
    legacy = tmp_path / "legacy.sqlite3"
    _written(legacy, None)
    assert SqliteIndex.held_model(legacy) == UNRECORDED_MODEL
    older = tmp_path / "older.sqlite3"  # from before the table of facts existed
    _written(older, None)
    connection = sqlite3.connect(older)
    connection.execute("DROP TABLE index_facts")
    connection.commit()
    connection.close()
    assert SqliteIndex.held_model(older) == UNRECORDED_MODEL
