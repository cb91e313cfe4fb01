"""The archive record's JSON line is what the drift jobs and Firehose read (ragline/records.py): its fields, their
order and their JSON types are a format, whatever builds the line."""

from __future__ import annotations

import json

from ragline.records import EmbeddingRecord, RecordKind


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
