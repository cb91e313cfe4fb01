"""What every handler shares: settings and services built on first use, AWS clients, dead-lettering.

Each handler asks `services()` only for what its use case touches, so a function builds only the
adapters its own packages and permissions allow; every backend must be named in its environment
(`World.AWS`): an unset one fails at the first call, naming the variable.

Failure policy for queue consumers (SQS event sources with `ReportBatchItemFailures`):
- a DocumentError or a malformed message can never succeed: the registry records the failure
  and the message goes straight to the dead-letter queue, its reason in a message attribute;
- anything else may be transient (throttling that outlasted botocore's retries, an outage):
  the record is reported as a batch item failure, so SQS delivers it again after the
  visibility timeout; on its `aws.max_receive_count`-th delivery it goes to the dead-letter
  queue with its reason instead. Without `aws.dead_letter_queue_url`, every failure is
  reported and the queue's own redrive policy moves it; the reason is then in the registry
  and in the logs.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from ragline.adapters.aws.clients import aws_client
from ragline.bootstrap import Services, World
from ragline.config import Settings, load_settings
from ragline.errors import DocumentError

log = logging.getLogger(__name__)

# SQS message attribute values are limited to 256 KiB; a reason is a sentence, keep it short.
MAX_REASON_CHARS = 1000


class MalformedMessageError(ValueError):
    """A message this handler cannot read; retrying will not help."""


class RecordedFailureError(DocumentError):
    """A bad document whose failure the ingestion service has already recorded in the registry."""


@cache
def settings() -> Settings:
    return load_settings()


@cache
def services() -> Services:
    return Services(settings(), world=World.AWS)


@cache
def client(service: str) -> Any:
    return aws_client(service, settings().aws)


def reset() -> None:
    """Forget the cached settings, services and clients (tests change the environment between cases)."""
    for cached in (settings, services, client):
        cached.cache_clear()


def object_exists(bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def is_permanent(error: BaseException) -> bool:
    return isinstance(error, DocumentError | MalformedMessageError | ValidationError)


def reason_of(error: BaseException) -> str:
    reason = error.reason if isinstance(error, DocumentError) else f"{type(error).__name__}: {error}"
    return reason[:MAX_REASON_CHARS]


def dead_letter_or_raise(record: Any, error: Exception, *, handler: str, source: str | None = None) -> None:
    """Send a failed SQS record to the dead-letter queue with its reason, or re-raise it for a retry."""
    reason = reason_of(error)
    if source and not isinstance(error, RecordedFailureError):
        services().ingestion.record_failure(source, reason)
    aws = settings().aws
    receive_count = int(record.attributes.ApproximateReceiveCount)
    if not aws.dead_letter_queue_url or not (is_permanent(error) or receive_count >= aws.max_receive_count):
        log.warning("%s: will be retried (delivery %d): %s", handler, receive_count, reason)
        _count("MessagesRetried")
        raise error
    client("sqs").send_message(
        QueueUrl=aws.dead_letter_queue_url,
        MessageBody=record.body,
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason},
            "handler": {"DataType": "String", "StringValue": handler},
            "source_queue": {"DataType": "String", "StringValue": record.eventSourceARN},
            "receive_count": {"DataType": "Number", "StringValue": str(receive_count)},
            **({"source": {"DataType": "String", "StringValue": source}} if source else {}),
        },
    )
    log.error("%s: sent to the dead-letter queue after %d deliveries: %s", handler, receive_count, reason)
    _count("MessagesDeadLettered")


def _count(name: str) -> None:
    # Powertools Metrics instances share one metric set: the handler's `log_metrics` flushes this too.
    Metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)
