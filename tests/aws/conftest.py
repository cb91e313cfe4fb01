"""Fixtures for the AWS runtime: fake credentials, moto, the two doubles, and a whole stack.

No test here needs an AWS account or the network: moto serves S3, SQS, SNS, EventBridge,
DynamoDB, Firehose and Textract in-process; the OpenSearch data plane and the model endpoint
are the only test doubles (`fake_opensearch`, `fake_endpoint`).

Each function gets exactly the variables it needs (`FUNCTION_ENVIRONMENTS`), never the union of
all of them: a handler that reads a variable its function is not given fails its tests. A test
that drives several functions switches between them with `Stack.as_function`, as the separate
Lambdas of one deployment would each run with their own environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ragline.entrypoints.lambdas import index_bootstrap, runtime
from tests.aws.api_events import sqs_event
from tests.aws.fake_endpoint import FakeEndpoint
from tests.aws.fake_opensearch import FakeOpenSearch
from tests.aws.textract_recorder import TextractRecorder

REGION = "us-east-1"


class LambdaContext:
    function_name = "ragline-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ragline-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


CONTEXT = LambdaContext()


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
    """The OpenSearch data plane: every client the production builder makes talks to this one fake."""
    fake = FakeOpenSearch()
    monkeypatch.setattr("ragline.adapters.aws.clients.http_connection_class", fake.connection_class)
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
    conversation_table: str = "ragline-conversations"
    queues: dict[str, str] = field(default_factory=dict)
    topic_arn: str = ""
    monkeypatch: pytest.MonkeyPatch | None = None

    def as_function(self, function: str) -> None:
        """Run the next handler calls with exactly `function`'s environment, as its Lambda would."""
        assert self.monkeypatch is not None, "as_function needs the `stack` fixture"
        for name in list(os.environ):
            if name.startswith("RAGLINE_"):
                self.monkeypatch.delenv(name)
        for name, value in FUNCTION_ENVIRONMENTS[function](self).items():
            self.monkeypatch.setenv(name, value)
        runtime.reset()

    def sqs_event(self, queue: str, *, wait: bool = True) -> dict:
        """The Lambda SQS event for the messages waiting in a queue, as the event source mapping builds it."""
        url = self.queues[queue]
        messages = self.sqs.receive_message(
            QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
        ).get("Messages", [])
        return sqs_event(messages, queue_arn(self.sqs, url), REGION)

    def deliver(self, queue: str, handler: Callable[[dict, Any], dict], context: Any) -> dict:
        """One poll of the Lambda event source mapping: receive a batch, invoke, delete what succeeded.

        Records reported as batch item failures stay in the queue, visible again at once (the
        visibility timeout is 0 here); once received `MAX_RECEIVE_COUNT` times, the queue's
        redrive policy moves them to its dead-letter queue on the next receive.
        """
        event = self.sqs_event(queue)
        assert event["Records"], f"no message in the {queue} queue"
        response = handler(event, context)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=record["receiptHandle"])
        return response

    def dead_letters(self, queue: str) -> list[dict]:
        """What SQS's redrive policy moved from `queue` to its dead-letter queue."""
        return self.sqs.receive_message(
            QueueUrl=self.queues[f"{queue}-dlq"], AttributeNames=["All"], MaxNumberOfMessages=10
        ).get("Messages", [])

    def waiting(self, queue: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queues[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

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
    # Each work queue has its own dead-letter queue and redrive policy, as stacks/components/queues.py builds them.
    for name in ("ingest", "completion", "window", "delete"):
        dead = stack.sqs.create_queue(QueueName=f"ragline-{name}-dlq")["QueueUrl"]
        stack.queues[f"{name}-dlq"] = dead
        redrive = {"deadLetterTargetArn": queue_arn(stack.sqs, dead), "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        stack.queues[name] = stack.sqs.create_queue(
            QueueName=f"ragline-{name}", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
    route_object_events_through_eventbridge(stack)
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
    # As stacks/components/tables.py keys it (TTL is not enforced by moto; the store filters expired turns).
    stack.dynamodb.create_table(
        TableName=stack.conversation_table,
        KeySchema=[{"AttributeName": "conversation", "KeyType": "HASH"}, {"AttributeName": "turn", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "conversation", "AttributeType": "S"},
            {"AttributeName": "turn", "AttributeType": "N"},
        ],
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


def route_object_events_through_eventbridge(stack: Stack) -> None:
    """As the stacks deliver S3 events: bucket -> EventBridge -> one rule per change -> its queue."""
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.ingest_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = boto3.client("events")
    for detail_type, queue in (("Object Created", "ingest"), ("Object Deleted", "delete")):
        rule = f"ragline-{queue}"
        pattern = {
            "source": ["aws.s3"],
            "detail-type": [detail_type],
            "detail": {"bucket": {"name": [stack.ingest_bucket]}, "object": {"key": PDF_KEY_FILTER}},
        }
        events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, Targets=[{"Id": queue, "Arn": queue_arn(stack.sqs, stack.queues[queue])}])


# --- the environment of each function: the smallest set its tests pass with -------------------

MAX_RECEIVE_COUNT = 3
INDEX_NAME = "ragline-test-chunks"  # not the default name: a function that is not told the name fails
PDF_KEY_FILTER = [{"suffix": {"equals-ignore-case": ".pdf"}}]  # as the stacks' rules filter keys


def _search(stack: Stack) -> dict[str, str]:
    return {
        "RAGLINE_INDEX__BACKEND": "opensearch",
        "RAGLINE_INDEX__OPENSEARCH_ENDPOINT": "https://search-ragline.test",
        "RAGLINE_INDEX__OPENSEARCH_INDEX": INDEX_NAME,
        "RAGLINE_INDEX__REGISTRY_TABLE": stack.registry_table,
    }


def _embedding() -> dict[str, str]:
    return {
        "RAGLINE_EMBEDDING__BACKEND": "sagemaker",
        "RAGLINE_EMBEDDING__ENDPOINT_NAME": "ragline-embedder",
        "RAGLINE_EMBEDDING__DIMENSION": "384",
    }


def ingest_start_environment(stack: Stack) -> dict[str, str]:
    return {
        **_search(stack),
        "RAGLINE_EXTRACTION__BACKEND": "textract",
        "RAGLINE_EXTRACTION__TEXTRACT_TOPIC_ARN": stack.topic_arn,
        "RAGLINE_EXTRACTION__TEXTRACT_ROLE_ARN": "arn:aws:iam::123456789012:role/textract-publish",
        **_textract_output(stack),
    }


def _textract_output(stack: Stack) -> dict[str, str]:
    return {
        "RAGLINE_EXTRACTION__OUTPUT_BUCKET": stack.archive_bucket,
        "RAGLINE_EXTRACTION__OUTPUT_PREFIX": "textract-output",
    }


def index_document_environment(stack: Stack) -> dict[str, str]:
    return {
        **_search(stack),
        **_embedding(),
        "RAGLINE_EXTRACTION__BACKEND": "textract",
        **_textract_output(stack),
        "RAGLINE_WINDOWS__QUEUE_URL": stack.queues["window"],
        "RAGLINE_WINDOWS__MAX_RECEIVES": str(MAX_RECEIVE_COUNT),
        "RAGLINE_ARCHIVE__BACKEND": "firehose",
        "RAGLINE_ARCHIVE__EMBEDDING_STREAM": "ragline-embeddings",
    }


def delete_document_environment(stack: Stack) -> dict[str, str]:
    return _search(stack)


def query_environment(stack: Stack) -> dict[str, str]:
    return {
        **_search(stack),
        **_embedding(),
        "RAGLINE_GENERATION__BACKEND": "sagemaker",
        "RAGLINE_GENERATION__ENDPOINT_NAME": "ragline-generator",
        "RAGLINE_ARCHIVE__BACKEND": "firehose",
        "RAGLINE_ARCHIVE__PROMPT_STREAM": "ragline-prompts",
        "RAGLINE_METRICS__BACKEND": "emf",
        "RAGLINE_CONVERSATION__TABLE": stack.conversation_table,
    }


def index_bootstrap_environment(stack: Stack) -> dict[str, str]:
    return {
        "RAGLINE_INDEX__OPENSEARCH_ENDPOINT": "https://search-ragline.test",
        "RAGLINE_INDEX__OPENSEARCH_INDEX": INDEX_NAME,
    }


FUNCTION_ENVIRONMENTS: dict[str, Callable[[Stack], dict[str, str]]] = {
    "ingest_start": ingest_start_environment,
    "index_document": index_document_environment,
    "delete_document": delete_document_environment,
    "query": query_environment,
    "index_bootstrap": index_bootstrap_environment,
}


@pytest.fixture
def stack(aws, monkeypatch: pytest.MonkeyPatch, endpoint, opensearch, textract) -> Stack:
    """The resources of a deployment; no function's environment is set until `as_function` names one."""
    built = create_stack()
    built.monkeypatch = monkeypatch
    runtime.reset()
    return built


# The properties the stack gives the index custom resource (stacks/components/search.py).
INDEX_RESOURCE = {"IndexName": INDEX_NAME, "Dimension": "384", "Engine": "lucene", "SpaceType": "cosinesimil"}


@pytest.fixture
def bootstrapped(stack: Stack) -> Stack:
    """The index exists, created by the bootstrap function as the custom resource would create it."""
    stack.as_function("index_bootstrap")
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::RaglineSearchIndex",
        "ResourceProperties": INDEX_RESOURCE,
    }
    index_bootstrap.lambda_handler(event, CONTEXT)
    return stack
