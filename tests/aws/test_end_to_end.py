"""The AWS runtime end to end under moto: real event shapes, handlers invoked in-process.

A real PDF goes into the ingest bucket; S3 notifies the ingest queue; `ingest_start` hashes it
and starts Textract; Textract (moto, given blocks built from the PDF's own text) reports to
SNS, which feeds the completion queue; `index_document` chunks, embeds (SageMaker), indexes
(OpenSearch) and archives (Firehose -> S3); the query API answers with a citation of that PDF
and page, records the `rag` metrics and archives the prompt. Only the OpenSearch data plane
and the model endpoints are doubles.
"""

from __future__ import annotations

import json

import pytest

from ragline.entrypoints.lambdas import delete_document, index_bootstrap, index_document, ingest_start, query, runtime
from ragline.model import DocumentState, content_hash
from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX
from tests import pdf_factory
from tests.aws.api_events import api_event
from tests.aws.textract_responses import analysis_blocks, pages_from_pdf

KEY = "reports/annual report 2024.pdf"  # a space: S3 sends it URL-encoded as '+'


class LambdaContext:
    function_name = "ragline-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ragline-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


CONTEXT = LambdaContext()


def upload(stack, textract, tmp_path, *, key: str = KEY, pages: int = 3, **report) -> pdf_factory.ReportPdf:
    """Write a report PDF, plan Textract's blocks from its real text, and put it into the ingest bucket."""
    folder = tmp_path / content_hash(key.encode())[:8] / str(len(textract.requests))
    folder.mkdir(parents=True)
    written = pdf_factory.write_report_pdf(folder, pages=pages, **report)
    data = written.path.read_bytes()
    textract.plan(key, analysis_blocks(pages_from_pdf(data, pdf_factory.REPORT_TABLE)), pages=pages)
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key=key, Body=data)
    return written


def run(handler, stack, queue: str) -> dict:
    event = stack.sqs_event(queue)
    assert event["Records"], f"no message in the {queue} queue"
    return handler.lambda_handler(event, CONTEXT)


def ingest(stack) -> None:
    """Object created -> extraction started -> Textract completion -> indexed."""
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}


def chunk_count(opensearch, source: str | None = None) -> int:
    docs = opensearch.indices["ragline-chunks"].docs.values()
    return sum(1 for doc in docs if source is None or doc["source"] == source)


def ask(question: str, **fields) -> tuple[int, dict]:
    response = query.lambda_handler(api_event({"question": question, **fields}), CONTEXT)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def bootstrapped(stack):
    """The index exists, created by the bootstrap handler as the custom resource would."""
    index_bootstrap.lambda_handler({"RequestType": "Create", "ResourceProperties": {}}, CONTEXT)
    return stack


@pytest.fixture
def indexed(bootstrapped, opensearch, textract, tmp_path):
    """One report is ingested."""
    stack = bootstrapped
    report = upload(stack, textract, tmp_path)
    ingest(stack)
    return report


SOURCE = "s3://ragline-ingest/reports/annual report 2024.pdf"


def test_a_pdf_put_in_the_bucket_is_indexed_archived_and_cited(stack, opensearch, textract, indexed, capsys):
    started = textract.requests[0]
    assert started["DocumentLocation"]["S3Object"]["Name"] == KEY  # decoded from 'annual+report+2024.pdf'
    assert set(started["FeatureTypes"]) == {"LAYOUT", "TABLES"}
    assert started["JobTag"] == content_hash((indexed.path).read_bytes())

    chunks = chunk_count(opensearch, SOURCE)
    assert chunks > 0
    archived = stack.archive_records(EMBEDDING_ARCHIVE_PREFIX)
    assert len(archived) == chunks
    assert {record["source"] for record in archived} == {SOURCE}
    assert all(len(record["vector"]) == 384 and record["model"] == "sagemaker:ragline-embedder" for record in archived)
    status = runtime.services().registry.get(SOURCE)
    assert (status.state, status.chunk_count, status.page_count) == (DocumentState.INDEXED, chunks, 3)

    capsys.readouterr()
    sentence = indexed.sentences[2][4]  # "The logistics team logged 1246 entries under project sierra-2x4."
    status_code, body = ask(sentence, mode="hybrid", k=3)
    assert status_code == 200, body
    assert body["grounded"] and "[1]" in body["answer"]
    top = body["sources"][0]
    assert (top["source"], top["page"]) == (SOURCE, 2)
    assert sentence in " ".join(top["text"].split())
    assert 0 < top["score"] <= 1 and -1 <= top["similarity"] <= 1

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]
    rag = [blob for blob in emf if blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "rag"]
    assert len(rag) == 1
    definition = rag[0]["_aws"]["CloudWatchMetrics"][0]
    assert definition["Dimensions"] == [["model", "index"]]
    assert {metric["Name"] for metric in definition["Metrics"]} == {"similarity", "mean_similarity"}
    assert rag[0]["similarity"] == [pytest.approx(top["similarity"], abs=1e-5)]
    assert (rag[0]["model"], rag[0]["index"]) == ("sagemaker:ragline-embedder", "ragline-chunks")

    prompts = stack.archive_records(PROMPT_ARCHIVE_PREFIX)
    assert len(prompts) == 1
    assert prompts[0]["kind"] == "prompt" and prompts[0]["source"] == "api" and len(prompts[0]["vector"]) == 384


def test_the_same_object_again_creates_no_chunks_and_no_archive_records(stack, opensearch, textract, indexed):
    chunks_before = dict(opensearch.indices["ragline-chunks"].docs)
    archived_before = len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX))
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key=KEY, Body=indexed.path.read_bytes())

    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert len(textract.requests) == 1  # no second Textract job
    assert opensearch.indices["ragline-chunks"].docs == chunks_before
    assert len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX)) == archived_before
    assert runtime.services().registry.get(SOURCE).state is DocumentState.UNCHANGED


def test_a_redelivered_completion_indexes_nothing_twice(stack, opensearch, textract, indexed):
    archived_before = len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX))
    message = {**textract.requests[0]}
    location = message["DocumentLocation"]["S3Object"]
    completion = {
        "JobId": message["JobId"],
        "Status": "SUCCEEDED",
        "API": "StartDocumentAnalysis",
        "JobTag": message["JobTag"],
        "Timestamp": 0,
        "DocumentLocation": {"S3ObjectName": location["Name"], "S3Bucket": location["Bucket"]},
    }
    stack.sns.publish(TopicArn=stack.topic_arn, Message=json.dumps(completion))
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX)) == archived_before


def test_overwriting_with_changed_content_removes_the_old_chunks(stack, opensearch, textract, indexed, tmp_path):
    old_document = content_hash(indexed.path.read_bytes())
    changed = upload(stack, textract, tmp_path, pages=2)
    ingest(stack)
    new_document = content_hash(changed.path.read_bytes())
    docs = [doc for doc in opensearch.indices["ragline-chunks"].docs.values() if doc["source"] == SOURCE]
    assert docs and {doc["document_id"] for doc in docs} == {new_document} != {old_document}
    assert runtime.services().registry.get(SOURCE).page_count == 2


def test_deleting_the_object_leaves_no_chunks(stack, opensearch, textract, indexed):
    stack.s3.delete_object(Bucket=stack.ingest_bucket, Key=KEY)
    assert run(delete_document, stack, "delete") == {"batchItemFailures": []}
    assert chunk_count(opensearch, SOURCE) == 0
    assert runtime.services().registry.get(SOURCE) is None


def test_throttling_followed_by_success_is_retried(bootstrapped, stack, opensearch, textract, endpoint, tmp_path):
    upload(stack, textract, tmp_path)
    endpoint.errors = ["ThrottlingException", "ThrottlingException"]
    ingest(stack)
    assert endpoint.errors == [] and chunk_count(opensearch, SOURCE) > 0
    assert runtime.services().registry.get(SOURCE).state is DocumentState.INDEXED


def test_a_persistent_failure_ends_in_the_dlq_with_its_reason_and_the_registry_shows_failed(
    bootstrapped, stack, opensearch, textract, endpoint, tmp_path
):
    upload(stack, textract, tmp_path)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    endpoint.errors = ["ThrottlingException"] * 100  # more than every retry of every delivery

    first = run(index_document, stack, "completion")  # delivery 1 of 3: retried by SQS
    assert len(first["batchItemFailures"]) == 1
    failed = runtime.services().registry.get(SOURCE)
    assert failed.state is DocumentState.FAILED and "ThrottlingException" in failed.reason
    assert stack.dead_letters() == []

    run(index_document, stack, "completion")  # delivery 2
    last = run(index_document, stack, "completion")  # delivery 3: out of retries
    assert last == {"batchItemFailures": []}
    (dead,) = stack.dead_letters()
    assert "ThrottlingException" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert dead["MessageAttributes"]["source"]["StringValue"] == SOURCE
    assert json.loads(json.loads(dead["Body"])["Message"])["Status"] == "SUCCEEDED"
    assert runtime.services().registry.get(SOURCE).state is DocumentState.FAILED


def test_a_textract_job_that_ends_failed_is_reported(stack, opensearch, textract, tmp_path):
    upload(stack, textract, tmp_path)
    textract.plan(KEY, [], pages=0, status="FAILED", message="Request has unsupported document format")
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # permanent: dead-lettered now
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED
    assert "ended FAILED: Request has unsupported document format" in status.reason
    (dead,) = stack.dead_letters()
    assert "unsupported document format" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_a_corrupt_pdf_fails_alone(bootstrapped, stack, opensearch, textract, tmp_path):
    report = upload(stack, textract, tmp_path, key="reports/good.pdf")
    stack.s3.put_object(
        Bucket=stack.ingest_bucket, Key="reports/notes.pdf", Body=pdf_factory.write_not_a_pdf(tmp_path).read_bytes()
    )
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key="reports/empty.pdf", Body=b"")

    event = stack.sqs_event("ingest")
    assert len(event["Records"]) == 3  # one batch, as the event source mapping would deliver it
    assert ingest_start.lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert [request["DocumentLocation"]["S3Object"]["Name"] for request in textract.requests] == ["reports/good.pdf"]
    reasons = {
        message["MessageAttributes"]["source"]["StringValue"]: message["MessageAttributes"]["reason"]["StringValue"]
        for message in stack.dead_letters()
    }
    assert reasons.keys() == {"s3://ragline-ingest/reports/notes.pdf", "s3://ragline-ingest/reports/empty.pdf"}
    assert "not a PDF" in reasons["s3://ragline-ingest/reports/notes.pdf"]
    assert "empty" in reasons["s3://ragline-ingest/reports/empty.pdf"]
    registry = runtime.services().registry
    assert registry.get("s3://ragline-ingest/reports/notes.pdf").state is DocumentState.FAILED

    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert (
        registry.get("s3://ragline-ingest/reports/good.pdf").chunk_count
        == chunk_count(opensearch, "s3://ragline-ingest/reports/good.pdf")
        > 0
    )
    assert report.sentences


def test_an_object_deleted_while_textract_reads_it_is_not_indexed(bootstrapped, stack, opensearch, textract, tmp_path):
    upload(stack, textract, tmp_path)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    stack.s3.delete_object(Bucket=stack.ingest_bucket, Key=KEY)
    assert run(delete_document, stack, "delete") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert chunk_count(opensearch, SOURCE) == 0


def test_eventbridge_object_created_events_start_extraction_too(bootstrapped, stack, opensearch, textract, tmp_path):
    """The deployed stack routes S3 events through EventBridge; moto sends its keys unencoded."""
    import boto3

    from tests.aws.conftest import queue_arn

    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.ingest_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = boto3.client("events")
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [stack.ingest_bucket]}},
    }
    events.put_rule(Name="object-created", EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="object-created", Targets=[{"Id": "ingest", "Arn": queue_arn(stack.sqs, stack.queues["ingest"])}]
    )
    key = "reports/c++ notes.pdf"  # '+' decodes to a space: the raw key is tried next
    upload(stack, textract, tmp_path, key=key)

    event = stack.sqs_event("ingest")
    assert json.loads(event["Records"][0]["body"])["detail-type"] == "Object Created"
    assert ingest_start.lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert textract.requests[0]["DocumentLocation"]["S3Object"]["Name"] == key
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert chunk_count(opensearch, f"s3://{stack.ingest_bucket}/{key}") > 0


def test_a_document_without_text_fails_once_with_its_reason(bootstrapped, stack, opensearch, textract, tmp_path):
    upload(stack, textract, tmp_path)
    textract.plan(KEY, [], pages=1)  # Textract found nothing to read
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # permanent: dead-lettered now
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED
    (dead,) = stack.dead_letters()
    assert dead["MessageAttributes"]["reason"]["StringValue"] == status.reason
