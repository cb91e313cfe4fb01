"""S3 "Object Deleted" -> every chunk of the source removed from the index, and its registry entry.

Idempotent: deleting a source twice removes nothing the second time. If the object exists
again by the time the event is handled (deleted, then uploaded anew), nothing is removed:
the newer upload's own event decides what is indexed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from ragline.entrypoints.lambdas import runtime
from ragline.entrypoints.lambdas.s3_events import Change, ObjectEvent, handle_object_record

logger = Logger(service=runtime.SERVICE)
tracer = Tracer()
metrics = runtime.metrics
# A batch whose every record failed is still answered record by record: SQS retries each one alike.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)


@tracer.capture_method
def delete_source(event: ObjectEvent) -> None:
    for key in event.candidate_keys:  # the decoded key, and the raw one if it differs
        source = event.with_key(key).source
        if runtime.object_exists(event.bucket, key):
            logger.info("object was uploaded again: not deleted", extra={"source": source})
            continue
        removed = runtime.services().ingestion.delete(source)
        logger.info("document removed", extra={"source": source, "chunks": removed})
        metrics.add_metric(name="ChunksDeleted", unit=MetricUnit.Count, value=removed)


def handle_record(record: SqsRecordModel) -> None:
    handle_object_record(
        record, wanted=Change.REMOVED, act=delete_source, handler="delete_document", record_failure=False
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
