"""The ArchiveSink port on Kinesis Data Firehose: one stream for chunk embeddings, one for prompts.

Each record is the archive JSON of `ragline.records` followed by a newline, exactly the lines
the local archive writes, so the drift jobs read S3 objects as JSON Lines. `PutRecordBatch`
takes at most 500 records and 4 MiB per call, and can accept some records and refuse others
(`FailedPutCount`): only the refused ones are sent again, after a jittered back-off, and if
some are still refused the write raises, so that no embedding is lost silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from ragline.errors import ConfigurationError, RaglineError
from ragline.records import EmbeddingRecord, RecordKind

log = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 4 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1000 * 1024


class ArchiveWriteError(RaglineError):
    """Firehose kept refusing some records."""


class _RefusedError(Exception):
    def __init__(self, pending: list[bytes], error: str) -> None:
        super().__init__(error)
        self.pending = pending


def batches(lines: list[bytes]) -> Iterator[list[bytes]]:
    """Consecutive groups within Firehose's per-call limits."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > MAX_BYTES_PER_RECORD:
            raise ArchiveWriteError(f"an archive record of {len(line)} bytes exceeds Firehose's 1,000 KiB limit")
        if batch and (len(batch) == MAX_RECORDS_PER_CALL or size + len(line) > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += len(line)
    if batch:
        yield batch


class FirehoseArchive:
    def __init__(
        self,
        firehose: Any,
        *,
        embedding_stream: str | None,
        prompt_stream: str | None,
        attempts: int = 5,
        wait: Any = None,
    ) -> None:
        self._firehose = firehose
        self._streams = {RecordKind.CHUNK: embedding_stream, RecordKind.PROMPT: prompt_stream}
        self._attempts = attempts
        self._wait = wait or wait_random_exponential(multiplier=0.2, max=5)

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        by_stream: dict[str, list[bytes]] = {}
        for record in records:
            by_stream.setdefault(self._stream_for(record.kind), []).append((record.to_json() + "\n").encode())
        written = 0
        for stream, lines in by_stream.items():
            for batch in batches(lines):
                self._put(stream, batch)
                written += len(batch)
        return written

    def _stream_for(self, kind: RecordKind) -> str:
        stream = self._streams[kind]
        if not stream:
            setting = "embedding_stream" if kind is RecordKind.CHUNK else "prompt_stream"
            raise ConfigurationError(f"archive.backend is 'firehose' but archive.{setting} is not set")
        return stream

    def _put(self, stream: str, batch: list[bytes]) -> None:
        pending = batch
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_RefusedError),
                wait=self._wait,
                stop=stop_after_attempt(self._attempts),
                reraise=True,
            ):
                with attempt:
                    pending, reason = self._put_once(stream, pending)
                    if pending:
                        raise _RefusedError(pending, reason)
        except _RefusedError as refused:
            raise ArchiveWriteError(
                f"Firehose stream {stream} refused {len(refused.pending)} of {len(batch)} records "
                f"after {self._attempts} attempts: {refused}"
            ) from refused

    def _put_once(self, stream: str, pending: list[bytes]) -> tuple[list[bytes], str]:
        """Send the records; return those refused, and why."""
        response = self._firehose.put_record_batch(
            DeliveryStreamName=stream, Records=[{"Data": data} for data in pending]
        )
        if not response.get("FailedPutCount"):
            return [], ""
        results = response["RequestResponses"]
        refused = [data for data, result in zip(pending, results, strict=True) if result.get("ErrorCode")]
        first_error = next(result for result in results if result.get("ErrorCode"))
        reason = f"{first_error['ErrorCode']}: {first_error.get('ErrorMessage', '')}"
        log.warning("Firehose %s refused %d of %d records (%s)", stream, len(refused), len(pending), reason)
        return refused, reason
