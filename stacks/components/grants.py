"""Explicit, wildcard-free grants for ragline's own roles.

The CDK `grant*` helpers add action groups such as `kms:GenerateDataKey*` and `kms:ReEncrypt*`;
these list exactly the actions each caller uses instead.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable")
TABLE_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)


def _allow(role: iam.IRole, actions: tuple[str, ...] | list[str], resources: list[str]) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))


def grant_table(role: iam.IRole, table: dynamodb.ITable, key: kms.IKey, *, write: bool) -> None:
    _allow(role, TABLE_READ + (TABLE_WRITE if write else ()), [table.table_arn])
    key_actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:Encrypt", "kms:GenerateDataKey"] if write else [])
    _allow(role, key_actions, [key.key_arn])


def grant_conversations(role: iam.IRole, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read a conversation's newest turns (Query) and add one (PutItem): nothing else. Old turns are never
    deleted by the caller (the table's TTL removes them), so no DeleteItem, UpdateItem or Scan."""
    _allow(role, ["dynamodb:Query", "dynamodb:PutItem"], [table.table_arn])
    _allow(role, ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], [key.key_arn])


def grant_index_query(role: iam.IRole, index_arn: str) -> None:
    """Query one secondary index (its ARN is `<table arn>/index/<name>`); the table's key grants decryption."""
    _allow(role, ["dynamodb:Query"], [index_arn])


def grant_table_scan(role: iam.IRole, table: dynamodb.ITable) -> None:
    """Scan the whole table: only for a caller that lists every item (grant_table gives the key)."""
    _allow(role, ["dynamodb:Scan"], [table.table_arn])


def grant_send(role: iam.IRole, queue: sqs.IQueue, key: kms.IKey) -> None:
    _allow(role, ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], [queue.queue_arn])
    _allow(role, ["kms:GenerateDataKey", "kms:Decrypt"], [key.key_arn])


def grant_publish(role: iam.IRole, topic: sns.ITopic, key: kms.IKey) -> None:
    _allow(role, ["sns:Publish"], [topic.topic_arn])
    _allow(role, ["kms:GenerateDataKey", "kms:Decrypt"], [key.key_arn])


def grant_put_records(role: iam.IRole, stream: firehose.IDeliveryStream) -> None:
    _allow(role, ["firehose:PutRecord", "firehose:PutRecordBatch"], [stream.delivery_stream_arn])
