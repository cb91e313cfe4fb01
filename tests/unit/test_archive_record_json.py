"""The archive record's JSON line is what the drift jobs and Firehose read (ragline/records.py): its fields, their
order and their JSON types are a format, whatever builds the line."""

from __future__ import annotations

import json

import numpy as np

from ragline.records import EmbeddingRecord, RecordKind, archived_vector


def test_a_chunk_record_is_one_compact_json_object_with_the_documented_fields():
    record = EmbeddingRecord(
        id="c1",
        kind=RecordKind.CHUNK,
        time="2026-12-01T10:00:00.000+00:00",
        source="/docs/pumps.pdf",
        model="sentence-transformers/all-MiniLM-L6-v2:int8",
        vector=[0.25, -0.5, 0.1234567],
        document_id="d" * 64,
        pages=(3, 4),
    )
    line = record.to_json()
    assert "\n" not in line and ", " not in line and ": " not in line
    assert list(json.loads(line).items()) == [
        ("id", "c1"),
        ("kind", "chunk"),
        ("time", "2026-12-01T10:00:00.000+00:00"),
        ("source", "/docs/pumps.pdf"),
        ("model", "sentence-transformers/all-MiniLM-L6-v2:int8"),
        ("vector", [0.25, -0.5, 0.1234567]),
        ("document_id", "d" * 64),
        ("pages", [3, 4]),
    ]
    assert EmbeddingRecord.from_json(line) == record


def test_a_prompt_record_has_no_document_and_no_pages():
    record = EmbeddingRecord.now(id="q1", kind=RecordKind.PROMPT, source="cli", model="m", vector=[1.0])
    payload = json.loads(record.to_json())
    assert (payload["kind"], payload["document_id"], payload["pages"]) == ("prompt", None, [])


def _rounded_one_by_one(values) -> list[float]:
    return [round(float(value), 7) for value in values]


def test_a_float32_vector_is_archived_as_python_s_round_would_round_each_value():
    rng = np.random.default_rng(15)
    # Random model-like values, values near the seventh decimal, and exact ties (odd multiples of 1/256 times
    # 10**7 end in .5): the fast path must round each of them to the very double `round` gives.
    samples = [
        rng.standard_normal(384).astype(np.float32) * 0.1,
        (rng.integers(-(10**6), 10**6, 384) * 1e-7 + rng.uniform(-6e-8, 6e-8, 384)).astype(np.float32),
        (np.arange(-383, 385, 2) / 256).astype(np.float32),
        np.array([0.0, -0.0, 1.0, -1.0, 3.4e-38, 1e-45, 0.00390625, -0.01171875], dtype=np.float32),
    ]
    for vector in samples:
        archived = archived_vector(vector)
        assert all(type(value) is float for value in archived)
        assert archived == _rounded_one_by_one(vector)


def test_a_remote_model_s_vector_of_doubles_is_archived_value_by_value():
    doubles = [0.123456749999999, 0.12345675000000001, -2.5e-8, 1 / 3]
    assert archived_vector(doubles) == _rounded_one_by_one(doubles)
    assert archived_vector(np.array(doubles)) == _rounded_one_by_one(doubles)  # float64: no shortcut taken
