"""SQS work queues, each with its own dead-letter queue (alarmed in Monitoring)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


@dataclass(frozen=True)
class WorkQueue:
    name: str
    queue: sqs.Queue
    dlq: sqs.Queue
    max_receive_count: int


def work_queue(
    scope: Construct,
    name: str,
    *,
    key: kms.IKey,
    consumer_timeout: Duration,
    max_receive_count: int = 3,
) -> WorkQueue:
    """A KMS-encrypted, TLS-only queue whose visibility is 6x the consumer's timeout (AWS's advice)."""
    dlq = sqs.Queue(
        scope,
        f"{name}Dlq",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=Duration.hours(1),
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    queue = sqs.Queue(
        scope,
        name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=Duration.hours(1),
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * 6),
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
    )
    return WorkQueue(name=name, queue=queue, dlq=dlq, max_receive_count=max_receive_count)
