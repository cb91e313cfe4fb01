"""S3 "Object Created" -> Textract document analysis started (or skipped: content already indexed).

Unchanged content is recognised by its SHA-256, the same document id the local engine uses,
not by the ETag: an ETag is the MD5 of the bytes only for single-part uploads (multipart
ETags depend on the part size), so it cannot tell whether the content is already indexed.
The object is streamed through the hash (constant memory), and the registry answers whether
this source, or another one, already holds that content.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from ragline.adapters.aws.textract import check_readable
from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.s3_events import Change, ObjectEvent, handle_object_record
from ragline.file_types import HEAD_BYTES

logger = Logger(service=runtime.SERVICE)
tracer = Tracer()
metrics = runtime.metrics
# A batch whose every record failed is still answered record by record: SQS retries each one alike.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

READ_CHUNK_BYTES = 1 << 20


def content_hash_of_object(bucket: str, key: str, version: str | None) -> tuple[str, bytes]:
    """SHA-256 of an S3 object, streamed; and its first bytes, to refuse non-documents early."""
    params = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
    body = runtime.client("s3").get_object(**params)["Body"]
    digest, head = hashlib.sha256(), b""
    for chunk in body.iter_chunks(READ_CHUNK_BYTES):
        head = head or chunk[:HEAD_BYTES]
        digest.update(chunk)
    return digest.hexdigest(), head


def request_token(event: ObjectEvent, document_id: str) -> str:
    """Idempotent on redelivery of the same S3 event; a new upload (new sequencer) starts a new job."""
    return hashlib.sha256(f"{event.source}\n{document_id}\n{event.sequencer}".encode()).hexdigest()[:64]


def hash_existing_object(event: ObjectEvent) -> tuple[ObjectEvent, str, bytes] | None:
    """The event with the key the object really has, its content hash and first bytes; None if gone."""
    for key in event.candidate_keys:
        try:
            document_id, head = content_hash_of_object(event.bucket, key, event.version)
        except runtime.client("s3").exceptions.NoSuchKey:
            continue
        return event.with_key(key), document_id, head
    return None


@tracer.capture_method
def start_extraction(event: ObjectEvent) -> None:
    found = hash_existing_object(event)
    if found is None:
        logger.info("object already gone; its deletion event will follow", extra={"source": event.source})
        return
    event, document_id, head = found
    check_readable(event.source, head)
    # Unchanged, or a copy of another source's content: recorded, and what this source held before
    # is released (handed to a copy of it, or removed), so its old content stops being served.
    if known := runtime.services().ingestion.skip_known(event.source, document_id):
        logger.info("content already indexed", extra={"source": event.source, "state": known.state.value})
        metrics.add_metric(name="DocumentsSkipped", unit=MetricUnit.Count, value=1)
        return
    # This content is now the version of the source being indexed: a result for any other version
    # (an older upload whose job finishes late) will be dropped, and this one's chunks stay hidden
    # until its last page window is in.
    runtime.services().ledger.begin(event.source, document_id)
    job_id = runtime.services().extractor.start(
        event.bucket,
        event.key,
        document_id=document_id,
        version=event.version,
        request_token=request_token(event, document_id),
    )
    logger.info("extraction started", extra={"source": event.source, "job_id": job_id, "document_id": document_id})
    metrics.add_metric(name="ExtractionsStarted", unit=MetricUnit.Count, value=1)


def handle_record(record: SqsRecordModel) -> None:
    handle_object_record(
        record, wanted=Change.CREATED, act=start_extraction, handler="ingest_start", record_failure=True
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
