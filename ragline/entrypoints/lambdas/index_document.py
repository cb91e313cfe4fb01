"""Textract completion, then each page window -> the document's chunks indexed, its embeddings archived.

Two queues feed this function. From the completion queue (SNS -> SQS), Textract's message
names the job, the S3 object and (as the job tag) the SHA-256 of the content Textract read;
the document's first page window is sent to the window queue. From the window queue, each
message is a window of a document (`ragline.windows.Window`), and only these runs embed: the
window queue's maximum concurrency is the embedding endpoint's back-pressure. A window reads
its pages from Textract's result files, chunks, embeds and writes them hidden, then queues the
next window or, after the last, publishes the version: the new one appears and the old one
disappears for readers at once.

A result for a version that is no longer the one being indexed (the object was overwritten
or deleted since) is dropped with what it wrote. A bad document (a FAILED job, no text) is
recorded as failed with its reason, its previous version still served, counted once as
`DocumentsFailed` and acknowledged. Anything else is retried by SQS, that window alone; on
its last delivery the document is recorded as failed too and the message goes on to the DLQ.
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

from ragline.adapters.aws.textract import s3_source, title_from
from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.runtime import MalformedMessageError
from ragline.windows import DOCUMENT_ID, InvalidWindowError, Outcome, Window

logger = Logger(service=runtime.SERVICE)
tracer = Tracer()
metrics = runtime.metrics
# A batch whose every record failed is still answered record by record: SQS retries each one alike.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

_SHA256 = re.compile(f"^{DOCUMENT_ID}$")


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


def first_window(completion: TextractCompletion) -> Window | None:
    """The first page window of a finished job; None when its version is no longer wanted."""
    if not _SHA256.match(completion.JobTag):
        raise MalformedMessageError(f"job {completion.JobId} has no content hash as its job tag: {completion.JobTag!r}")
    # A FAILED job raises DocumentError here, with Textract's StatusMessage as the reason.
    return runtime.services().windowed.first_window(
        source=completion.source,
        document_id=completion.JobTag,
        job_id=completion.JobId,
        title=title_from(completion.source),
    )


def queue_first_window(completion: TextractCompletion) -> None:
    window = first_window(completion)
    if window is None:
        logger.info("version superseded or deleted before indexing: dropped", extra={"source": completion.source})
        metrics.add_metric(name="VersionsDropped", unit=MetricUnit.Count, value=1)
        return
    runtime.services().window_queue.send(window)
    logger.info("document queued in page windows", extra={"source": window.source, "pages": window.total_pages})


@tracer.capture_method
def run_window(window: Window) -> None:
    result = runtime.services().windowed.run(window)
    log_fields = {"source": window.source, "window": window.number, "pages": f"{window.first_page}-{window.last_page}"}
    logger.info(f"window {result.outcome.value}", extra={**log_fields, "chunks": result.chunks})
    metrics.add_metric(name="WindowsIndexed", unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.INDEXED:
        metrics.add_metric(name="DocumentsIndexed", unit=MetricUnit.Count, value=1)
    elif result.outcome is Outcome.DROPPED:
        metrics.add_metric(name="VersionsDropped", unit=MetricUnit.Count, value=1)


def handle_record(record: SqsRecordModel) -> None:
    source = version = None
    try:
        try:
            window = Window.from_message(record.body)  # None for any other message (Textract's completion)
        except InvalidWindowError as error:
            # What the message names validly is given up, so the version does not wait in "indexing" for ever.
            source, version = error.source, error.document_id
            raise MalformedMessageError(str(error)) from error
        if window is not None:
            source, version = window.source, window.document_id
            run_window(window)
            return
        # Textract's completion: its first window joins the window queue, so that only that queue's
        # consumers embed, and its maximum concurrency alone caps the load on the embedding model.
        completion = completion_of(record.body)
        source, version = completion.source, completion.JobTag
        queue_first_window(completion)
    except Exception as error:
        settle_window_failure(error, record, source=source, version=version)


def settle_window_failure(error: Exception, record: SqsRecordModel, *, source: str | None, version: str | None) -> None:
    """Permanent, or out of retries: the version is given up (previous one still served); else SQS retries."""
    reason = runtime.reason_of(error)
    last_delivery = int(record.attributes.ApproximateReceiveCount) >= runtime.settings().windows.max_receives
    if runtime.is_permanent(error) or last_delivery:
        if source and version and _SHA256.match(version):
            if not runtime.is_permanent(error):
                reason = f"gave up after {record.attributes.ApproximateReceiveCount} attempts: {reason}"
            runtime.services().windowed.fail(source, version, reason)
        runtime.document_failed("index_document", source, reason)
        if runtime.is_permanent(error):
            return  # acknowledged: retrying cannot help
        raise error  # out of retries: on to the dead-letter queue, kept for a replay
    logger.warning("window will be retried by SQS", extra={"source": source, "reason": reason})
    runtime.count("DocumentsRetried")
    raise error


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
