"""Fixtures for the AWS runtime: fake credentials, moto, the two doubles, and a whole stack.

No test here needs an AWS account or the network: moto serves S3, SQS, SNS, EventBridge,
DynamoDB, Firehose and Textract in-process; the OpenSearch data plane and the model endpoint
are the only test doubles (`fake_opensearch`, `fake_endpoint`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ragline.adapters.local.embedding import packaged_model_dir
from ragline.entrypoints.lambdas import runtime
from tests.aws.fake_endpoint import FakeEndpoint
from tests.aws.fake_opensearch import FakeOpenSearch, fake_client
from tests.aws.textract_recorder import TextractRecorder

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Fake credentials and a region; none of the user's RAGLINE_ or AWS_ settings leak in."""
    for name in list(os.environ):
        if name.startswith(("RAGLINE_", "AWS_", "POWERTOOLS_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ragline.toml from the working directory
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "ragline-test",
    }.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture(autouse=True)
def no_backoff_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries with its jittered back-off; the tests just do not wait for it."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda seconds: None)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> FakeEndpoint:
    fake = FakeEndpoint()
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def opensearch(monkeypatch: pytest.MonkeyPatch) -> FakeOpenSearch:
    """The OpenSearch data plane: every client the factories build talks to this one fake."""
    fake = FakeOpenSearch()
    monkeypatch.setattr("ragline.adapters.aws.factories.opensearch_client", lambda index, aws: fake_client(fake))
    return fake


@pytest.fixture
def textract(monkeypatch: pytest.MonkeyPatch) -> TextractRecorder:
    recorder = TextractRecorder()
    recorder.install(monkeypatch)
    return recorder


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@dataclass
class Stack:
    """The deployed resources, as moto serves them, and the helpers a test drives them with."""

    s3: Any
    sqs: Any
    sns: Any
    dynamodb: Any
    ingest_bucket: str = "ragline-ingest"
    archive_bucket: str = "ragline-archive"
    registry_table: str = "ragline-registry"
    queues: dict[str, str] = field(default_factory=dict)
    topic_arn: str = ""

    def sqs_event(self, queue: str, *, wait: bool = True) -> dict:
        """The Lambda SQS event for the messages waiting in a queue, as the event source mapping builds it."""
        url = self.queues[queue]
        messages = self.sqs.receive_message(
            QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
        ).get("Messages", [])
        arn = queue_arn(self.sqs, url)
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
                for message in messages
            ]
        }

    def dead_letters(self) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.queues["dlq"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
        ).get("Messages", [])

    def archive_records(self, prefix: str) -> list[dict]:
        listed = self.s3.list_objects_v2(Bucket=self.archive_bucket, Prefix=f"{prefix}/").get("Contents", [])
        lines = []
        for item in listed:
            body = self.s3.get_object(Bucket=self.archive_bucket, Key=item["Key"])["Body"].read().decode()
            lines += [json.loads(line) for line in body.splitlines() if line.strip()]
        return lines


def create_stack() -> Stack:
    stack = Stack(
        s3=boto3.client("s3"), sqs=boto3.client("sqs"), sns=boto3.client("sns"), dynamodb=boto3.client("dynamodb")
    )
    for bucket in (stack.ingest_bucket, stack.archive_bucket):
        stack.s3.create_bucket(Bucket=bucket)
    for name in ("ingest", "completion", "delete", "dlq"):
        stack.queues[name] = stack.sqs.create_queue(QueueName=f"ragline-{name}", Attributes={"VisibilityTimeout": "0"})[
            "QueueUrl"
        ]
    # S3 event notifications straight to the queues: URL-encoded keys, as S3 sends them.
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.ingest_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": queue_arn(stack.sqs, stack.queues["ingest"]), "Events": ["s3:ObjectCreated:*"]},
                {"QueueArn": queue_arn(stack.sqs, stack.queues["delete"]), "Events": ["s3:ObjectRemoved:*"]},
            ]
        },
    )
    stack.sqs.purge_queue(QueueUrl=stack.queues["ingest"])  # the s3:TestEvent S3 sends on configuration
    stack.topic_arn = stack.sns.create_topic(Name="ragline-textract")["TopicArn"]
    stack.sns.subscribe(
        TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=queue_arn(stack.sqs, stack.queues["completion"])
    )
    stack.dynamodb.create_table(
        TableName=stack.registry_table,
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "source", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    firehose = boto3.client("firehose")
    for name, prefix in (("ragline-embeddings", "embeddingarchive/"), ("ragline-prompts", "promptarchive/")):
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "BucketARN": f"arn:aws:s3:::{stack.archive_bucket}",
                "Prefix": prefix,
            },
        )
    return stack


def stack_environment(stack: Stack) -> dict[str, str]:
    """The RAGLINE_ variables a deployment gives the Lambdas (see the handler table in the report)."""
    return {
        "RAGLINE_INDEX__BACKEND": "opensearch",
        "RAGLINE_INDEX__OPENSEARCH_ENDPOINT": "https://search-ragline.test",
        "RAGLINE_INDEX__OPENSEARCH_INDEX": "ragline-chunks",
        "RAGLINE_INDEX__REGISTRY_TABLE": stack.registry_table,
        "RAGLINE_EMBEDDING__BACKEND": "sagemaker",
        "RAGLINE_EMBEDDING__ENDPOINT_NAME": "ragline-embedder",
        "RAGLINE_EMBEDDING__PAYLOAD_FORMAT": "tei",
        "RAGLINE_EMBEDDING__DIMENSION": "384",
        "RAGLINE_EMBEDDING__TOKENIZER_FILE": str(packaged_model_dir() / "tokenizer.json"),
        "RAGLINE_EMBEDDING__MAX_INPUT_TOKENS": "256",
        "RAGLINE_GENERATION__BACKEND": "sagemaker",
        "RAGLINE_GENERATION__ENDPOINT_NAME": "ragline-generator",
        "RAGLINE_ARCHIVE__BACKEND": "firehose",
        "RAGLINE_ARCHIVE__EMBEDDING_STREAM": "ragline-embeddings",
        "RAGLINE_ARCHIVE__PROMPT_STREAM": "ragline-prompts",
        "RAGLINE_EXTRACTION__BACKEND": "textract",
        "RAGLINE_EXTRACTION__TEXTRACT_TOPIC_ARN": stack.topic_arn,
        "RAGLINE_EXTRACTION__TEXTRACT_ROLE_ARN": "arn:aws:iam::123456789012:role/textract-publish",
        "RAGLINE_METRICS__BACKEND": "emf",
        "RAGLINE_AWS__DEAD_LETTER_QUEUE_URL": stack.queues["dlq"],
        "RAGLINE_AWS__MAX_RECEIVE_COUNT": "3",
        "RAGLINE_AWS__MAX_ATTEMPTS": "4",
    }


@pytest.fixture
def stack(aws, monkeypatch: pytest.MonkeyPatch, endpoint, opensearch, textract) -> Stack:
    built = create_stack()
    for name, value in stack_environment(built).items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    return built
