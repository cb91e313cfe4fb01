"""Firehose calls carry up to its limits, the limits included, and refused records are sent again
only after a back-off (moto's Firehose; the back-off's sleeps recorded, never waited)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.firehose.models import FirehoseBackend

from ragline.adapters.aws.firehose_archive import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    ArchiveWriteError,
    FirehoseArchive,
    batches,
)
from ragline.records import EmbeddingRecord, RecordKind
from tests.aws.conftest import create_stack


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The back-off's sleeps, recorded instead of waited."""
    recorded: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", recorded.append)
    return recorded


def _chunk_record() -> EmbeddingRecord:
    return EmbeddingRecord.now(id="d:0", kind=RecordKind.CHUNK, source="s3://b/k.pdf", model="m", vector=[1.0])


def _refuse_every_record(monkeypatch, code: str, message: str) -> None:
    """moto's Firehose refusing every record of every call, each with `code`."""

    def refuse_all(backend, delivery_stream_name, records):
        error = {"ErrorCode": code, "ErrorMessage": message}
        return {"FailedPutCount": len(records), "Encrypted": False, "RequestResponses": [error] * len(records)}

    monkeypatch.setattr(FirehoseBackend, "put_record_batch", refuse_all)


def test_a_call_carries_exactly_4_mib_and_the_next_byte_starts_another():
    record = b"x" * (MAX_BYTES_PER_CALL // 8)  # 512 KiB, under the 1,000 KiB of one record
    assert [len(batch) for batch in batches([record] * 8)] == [8]
    assert [len(batch) for batch in batches([record] * 8 + [b"y"])] == [8, 1]
    assert [len(batch) for batch in batches([record] * 16)] == [8, 8]  # the second call counts from zero too


def test_a_record_of_exactly_1000_kib_is_sent_and_one_byte_more_is_refused_by_name():
    assert [len(batch) for batch in batches([b"x" * MAX_BYTES_PER_RECORD])] == [1]
    with pytest.raises(ArchiveWriteError) as raised:
        list(batches([b"x" * (MAX_BYTES_PER_RECORD + 1)]))
    assert str(raised.value) == "an archive record of 1024001 bytes exceeds Firehose's 1,000 KiB limit"


def test_the_back_off_doubles_from_0_2_s_and_stops_growing_at_5_s(aws, monkeypatch, sleeps):
    """Full jitter: each wait is drawn below a ceiling that doubles; the ceilings are read by drawing the top."""
    create_stack()
    monkeypatch.setattr("tenacity.wait.random.uniform", lambda low, high: high)

    _refuse_every_record(monkeypatch, "ServiceUnavailableException", "Slow down.")
    archive = FirehoseArchive(boto3.client("firehose"), embedding_stream="ragline-embeddings", prompt_stream=None,
                              attempts=7)  # fmt: skip
    with pytest.raises(ArchiveWriteError):
        archive.write([_chunk_record()])
    assert sleeps == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0])


def test_records_still_refused_after_the_retries_raise_with_the_count_and_firehose_s_reason(aws, monkeypatch, sleeps):
    create_stack()
    _refuse_every_record(monkeypatch, "InternalFailure", "boom")
    archive = FirehoseArchive(boto3.client("firehose"), embedding_stream="ragline-embeddings", prompt_stream=None)
    with pytest.raises(ArchiveWriteError) as raised:
        archive.write([_chunk_record(), _chunk_record(), _chunk_record()])
    assert str(raised.value).endswith("refused 3 of 3 records after 5 attempts: InternalFailure: boom")
    assert len(sleeps) == 4  # a back-off between each of the 5 attempts


def test_refused_records_are_sent_again_after_a_back_off(aws, monkeypatch, sleeps):
    create_stack()
    original = FirehoseBackend.put_record_batch
    calls: list[int] = []

    def refuse_first_call(backend, delivery_stream_name, records):
        calls.append(len(records))
        if len(calls) > 1:
            return original(backend, delivery_stream_name, records)
        refused = {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
        return {"FailedPutCount": len(records), "Encrypted": False, "RequestResponses": [refused] * len(records)}

    monkeypatch.setattr(FirehoseBackend, "put_record_batch", refuse_first_call)
    archive = FirehoseArchive(boto3.client("firehose"), embedding_stream="ragline-embeddings", prompt_stream=None)
    assert archive.write([_chunk_record()]) == 1
    assert calls == [1, 1]
    assert len(sleeps) == 1 and sleeps[0] > 0  # Firehose asked to slow down: not at once


def test_an_error_that_is_not_a_refusal_is_raised_at_once_without_a_back_off(aws, sleeps):
    """A stream that does not exist (or a denied call) is no refused record: another try cannot help, and
    botocore already retried what is transient. It reaches the caller at once, as the service named it."""
    create_stack()
    archive = FirehoseArchive(boto3.client("firehose"), embedding_stream="no-such-stream", prompt_stream=None)
    with pytest.raises(ClientError) as raised:
        archive.write([_chunk_record()])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert sleeps == []
