"""Textract completion (SNS -> SQS) -> the document's chunks indexed, its embeddings archived.

The message names the job, the S3 object, and (as the job tag) the SHA-256 of the content
Textract read. The whole result is read (every NextToken page), parsed, and handed to the
shared ingestion service, which skips content already indexed for the source (a redelivered
message costs nothing), replaces the source's chunks, archives the vectors and records the
status. A job that ended FAILED, or a document with nothing to index, is recorded as failed
with its reason, counted once as `DocumentsFailed` and acknowledged (`runtime`'s failure policy).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from ragline.adapters.aws.textract import s3_source
from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.runtime import MalformedMessageError
from ragline.model import DocumentState

logger = Logger(service=runtime.SERVICE)
tracer = Tracer()
metrics = runtime.metrics
# A batch whose every record failed is still answered record by record: SQS retries each one alike.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DocumentLocation(BaseModel):
    S3Bucket: str
    S3ObjectName: str  # as given to StartDocumentAnalysis: not URL-encoded


class TextractCompletion(BaseModel):
    """The notification Textract publishes to SNS when an asynchronous job ends."""

    JobId: str
    Status: str
    API: str = ""
    JobTag: str = Field(default="", description="ragline sets it to the content hash (the document id)")
    Timestamp: int | None = None
    DocumentLocation: DocumentLocation

    @property
    def source(self) -> str:
        return s3_source(self.DocumentLocation.S3Bucket, self.DocumentLocation.S3ObjectName)


def completion_of(body: str) -> TextractCompletion:
    """Textract's message, in the SNS envelope the completion queue receives (or delivered raw)."""
    try:
        payload = json.loads(body)
        if isinstance(payload, dict) and payload.get("Type") == "Notification":
            payload = json.loads(payload["Message"])
        return TextractCompletion.model_validate(payload)
    except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
        raise MalformedMessageError(f"not a Textract completion message: {error}") from error


@tracer.capture_method
def index_completed_job(completion: TextractCompletion) -> None:
    source = completion.source
    if not _SHA256.match(completion.JobTag):
        raise MalformedMessageError(f"job {completion.JobId} has no content hash as its job tag: {completion.JobTag!r}")
    if not runtime.object_exists(completion.DocumentLocation.S3Bucket, completion.DocumentLocation.S3ObjectName):
        # Deleted while Textract was reading it: indexing it now would bring back a deleted document.
        logger.info("object deleted since extraction started: not indexed", extra={"source": source})
        metrics.add_metric(name="DocumentsGoneBeforeIndexing", unit=MetricUnit.Count, value=1)
        return
    # A FAILED job raises DocumentError here, with Textract's StatusMessage as the reason.
    document = runtime.services().extractor.document(completion.JobId, source=source, document_id=completion.JobTag)
    # A bad document comes back FAILED, already recorded; anything unexpected is recorded, then raised.
    status = runtime.services().ingestion.ingest_extracted(document, reraise_unexpected=True)
    if status.state is DocumentState.FAILED:
        runtime.document_failed("index_document", source, status.reason or "failed")
        return
    logger.info(
        "document indexed" if status.state is DocumentState.INDEXED else "content already indexed",
        extra={"source": source, "state": status.state.value, "chunks": status.chunk_count, "job_id": completion.JobId},
    )
    metrics.add_metric(name=f"Documents{status.state.value.capitalize()}", unit=MetricUnit.Count, value=1)


def handle_record(record: SqsRecordModel) -> None:
    source = None
    try:
        completion = completion_of(record.body)
        source = completion.source
        index_completed_job(completion)
    except Exception as error:
        runtime.settle_failure(error, handler="index_document", source=source)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
