"""What every handler shares: settings, services and AWS clients built on first use, one metrics
object, and the failure policy of the queue consumers.

Each handler asks `services()` only for what its use case touches, so a function builds only the
adapters its own packages and permissions allow; every backend must be named in its environment
(`World.AWS`): an unset one fails at the first call, naming the variable.

Failure policy of the queue consumers (SQS event sources with `ReportBatchItemFailures`; every
queue has a redrive policy to its dead-letter queue, and the handlers never send to it):
- permanent: a bad document (`DocumentError`) or a message that cannot be read
  (`MalformedMessageError`). Retrying cannot help, so the failure is recorded in the registry
  against its source (when the message names one), counted once as `DocumentsFailed`, logged
  with its reason, and the message is acknowledged.
- transient: anything else (throttling that outlasted botocore's retries, an outage). It is
  recorded in the registry too (so the reason outlives the message) and re-raised: the batch
  processor reports the record as a batch item failure, SQS delivers it again after the
  visibility timeout, and after the queue's `maxReceiveCount` its redrive policy moves it to
  the dead-letter queue. Counted as `DocumentsRetried`, once per delivery.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ragline.adapters.aws.clients import aws_client
from ragline.bootstrap import Services, World
from ragline.config import Settings, load_settings
from ragline.errors import DocumentError

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 1000  # a reason is a sentence; a stack trace belongs in the logs

# What the alarms and the dashboard watch (namespace `rag`, dimension service=ragline) is fixed here,
# in code, not in each function's environment: the deployed-shape suite checks the two agree.
SERVICE = "ragline"
METRIC_NAMESPACE = "rag"

# The one metrics object of every handler: its `log_metrics` decorator flushes it after each invocation.
metrics = Metrics(namespace=METRIC_NAMESPACE, service=SERVICE)


class MalformedMessageError(ValueError):
    """A message this handler cannot read; retrying will not help."""


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
    return isinstance(error, DocumentError | MalformedMessageError)


def reason_of(error: BaseException) -> str:
    reason = error.reason if isinstance(error, DocumentError) else f"{type(error).__name__}: {error}"
    return reason[:MAX_REASON_CHARS]


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def document_failed(handler: str, source: str | None, reason: str) -> None:
    """The one place a failed document is counted: each permanent failure passes here exactly once."""
    log.error("%s: %s failed for good, message acknowledged: %s", handler, source or "a message", reason)
    count("DocumentsFailed")


def settle_failure(error: Exception, *, handler: str, source: str | None, record: bool = True) -> None:
    """Acknowledge a permanent failure (recorded, counted); re-raise a transient one for SQS to retry.

    `record`: keep the reason in the registry against `source` (not for deletions: the source is gone).
    """
    reason = reason_of(error)
    if source and record:
        services().ingestion.record_failure(source, reason)
    if is_permanent(error):
        document_failed(handler, source, reason)
        return
    log.warning("%s: %s will be retried by SQS: %s", handler, source or "a message", reason)
    count("DocumentsRetried")
    raise error
