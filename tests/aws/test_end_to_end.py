"""The AWS runtime end to end under moto: real event shapes, handlers invoked in-process.

A real PDF goes into the ingest bucket; S3 sends "Object Created" to EventBridge, whose rule
routes it to the ingest queue; `ingest_start` hashes it and starts Textract; Textract (moto,
given blocks built from the PDF's own text) reports to SNS, which feeds the completion queue;
`index_document` chunks, embeds (SageMaker), indexes (OpenSearch) and archives (Firehose ->
S3); the query API answers with a citation of that PDF and page, records the `rag` metrics
and archives the prompt. Only the OpenSearch data plane and the model endpoints are doubles.
Each handler runs with its own function's environment only (`Stack.as_function`), and SQS
delivers, deletes and redrives as the event source mapping and the queues' redrive policies
do (`Stack.deliver`).
"""

from __future__ import annotations

import json

import pytest

from ragline.entrypoints.lambdas import delete_document, index_document, ingest_start, query, runtime
from ragline.model import DocumentState, content_hash
from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX
from tests import pdf_factory
from tests.aws.api_events import api_event
from tests.aws.conftest import CONTEXT, INDEX_NAME, MAX_RECEIVE_COUNT
from tests.aws.textract_responses import PageContent, analysis_blocks, pages_from_pdf

KEY = "reports/annual report 2024.pdf"  # a space: it must reach Textract decoded, whatever the encoding


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
    """Deliver the messages waiting in `queue` to `handler`, run with its own function's environment."""
    stack.as_function(handler.__name__.rsplit(".", 1)[-1])
    return stack.deliver(queue, handler.lambda_handler, CONTEXT)


def ingest(stack) -> None:
    """Object created -> extraction started -> Textract completion -> page windows -> indexed."""
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    run_windows(stack)


def run_windows(stack) -> None:
    """Every page window queued, each delivered until the window queue is empty."""
    while stack.waiting("window"):
        assert run(index_document, stack, "window") == {"batchItemFailures": []}


def chunk_count(opensearch, source: str | None = None) -> int:
    docs = opensearch.indices[INDEX_NAME].docs.values()
    return sum(1 for doc in docs if source is None or doc["source"] == source)


def ask(stack, question: str, **fields) -> tuple[int, dict]:
    stack.as_function("query")
    response = query.lambda_handler(api_event({"question": question, **fields}), CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def emitted(out: str, metric: str) -> list[float]:
    """Every value of `metric` in the EMF documents a handler printed."""
    values: list[float] = []
    for line in out.splitlines():
        if '"CloudWatchMetrics"' not in line:
            continue
        blob = json.loads(line)
        names = {item["Name"] for definition in blob["_aws"]["CloudWatchMetrics"] for item in definition["Metrics"]}
        if metric in names:
            values += blob[metric] if isinstance(blob[metric], list) else [blob[metric]]
    return values


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
    assert started["DocumentLocation"]["S3Object"]["Name"] == KEY
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
    status_code, body = ask(stack, sentence, mode="hybrid", k=3)
    assert status_code == 200, body
    assert body["grounded"] and "[1]" in body["answer"]
    top = body["sources"][0]
    assert (top["source"], top["page"]) == (SOURCE, 2)
    assert sentence in " ".join(top["text"].split())
    assert 0 < top["score"] <= 1 and -1 <= top["similarity"] <= 1

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]
    rag = [blob for blob in emf if "similarity" in blob]  # the handlers' own counters share the namespace
    assert len(rag) == 1
    definition = rag[0]["_aws"]["CloudWatchMetrics"][0]
    assert definition["Dimensions"] == [["model", "index"]]
    assert {metric["Name"] for metric in definition["Metrics"]} == {"similarity", "mean_similarity"}
    assert rag[0]["similarity"] == [pytest.approx(top["similarity"], abs=1e-5)]
    assert (rag[0]["model"], rag[0]["index"]) == ("sagemaker:ragline-embedder", INDEX_NAME)

    prompts = stack.archive_records(PROMPT_ARCHIVE_PREFIX)
    assert len(prompts) == 1
    assert prompts[0]["kind"] == "prompt" and prompts[0]["source"] == "api" and len(prompts[0]["vector"]) == 384


def test_the_same_object_again_creates_no_chunks_and_no_archive_records(stack, opensearch, textract, indexed):
    chunks_before = dict(opensearch.indices[INDEX_NAME].docs)
    archived_before = len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX))
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key=KEY, Body=indexed.path.read_bytes())

    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert len(textract.requests) == 1  # no second Textract job
    assert opensearch.indices[INDEX_NAME].docs == chunks_before
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
    held = chunk_count(opensearch, SOURCE)
    stack.sns.publish(TopicArn=stack.topic_arn, Message=json.dumps(completion))
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert stack.waiting("window") == 0  # its version is the one served: nothing to index, nothing removed
    assert len(stack.archive_records(EMBEDDING_ARCHIVE_PREFIX)) == archived_before
    assert chunk_count(opensearch, SOURCE) == held > 0


def test_overwriting_with_changed_content_removes_the_old_chunks(stack, opensearch, textract, indexed, tmp_path):
    old_document = content_hash(indexed.path.read_bytes())
    changed = upload(stack, textract, tmp_path, pages=2)
    ingest(stack)
    new_document = content_hash(changed.path.read_bytes())
    docs = [doc for doc in opensearch.indices[INDEX_NAME].docs.values() if doc["source"] == SOURCE]
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


def test_a_transient_failure_is_retried_by_sqs_then_redriven_to_the_dlq_with_its_reason_in_the_registry(
    bootstrapped, stack, opensearch, textract, endpoint, tmp_path, capsys
):
    upload(stack, textract, tmp_path)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    endpoint.errors = ["ThrottlingException"] * 100  # more than every retry of every delivery
    capsys.readouterr()

    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # the first window queued
    for delivery in range(1, MAX_RECEIVE_COUNT + 1):  # each delivery is reported back to SQS as a batch item failure
        assert len(run(index_document, stack, "window")["batchItemFailures"]) == 1
        status = runtime.services().registry.get(SOURCE)
        if delivery < MAX_RECEIVE_COUNT:  # still the version being indexed: the next delivery may succeed
            assert status.state is DocumentState.INDEXING
        assert stack.dead_letters("window") == []
    out = capsys.readouterr().out
    assert emitted(out, "DocumentsRetried") == [1.0] * (MAX_RECEIVE_COUNT - 1)
    assert emitted(out, "DocumentsFailed") == [1.0]  # the last delivery gives the version up, once

    assert stack.sqs_event("window")["Records"] == []  # out of receives: the redrive policy moved it
    (dead,) = stack.dead_letters("window")
    assert json.loads(dead["Body"])["window"]["source"] == SOURCE  # the message, untouched
    failed = runtime.services().registry.get(SOURCE)
    assert failed.state is DocumentState.FAILED
    assert f"gave up after {MAX_RECEIVE_COUNT} attempts" in failed.reason and "ThrottlingException" in failed.reason


def test_a_textract_job_that_ends_failed_is_recorded_counted_once_and_acknowledged(
    stack, opensearch, textract, tmp_path, capsys
):
    upload(stack, textract, tmp_path)
    textract.plan(KEY, [], pages=0, status="FAILED", message="Request has unsupported document format")
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    capsys.readouterr()
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # permanent: acknowledged
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0]
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED
    assert "ended FAILED: Request has unsupported document format" in status.reason
    assert stack.waiting("completion") == 0 and stack.dead_letters("completion") == []


def test_a_corrupt_pdf_fails_alone(bootstrapped, stack, opensearch, textract, tmp_path, capsys):
    report = upload(stack, textract, tmp_path, key="reports/good.pdf")
    stack.s3.put_object(
        Bucket=stack.ingest_bucket, Key="reports/notes.pdf", Body=pdf_factory.write_not_a_pdf(tmp_path).read_bytes()
    )
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key="reports/empty.pdf", Body=b"")
    capsys.readouterr()

    stack.as_function("ingest_start")
    event = stack.sqs_event("ingest")
    assert len(event["Records"]) == 3  # one batch, as the event source mapping would deliver it
    assert ingest_start.lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0, 1.0]  # each bad file once, in one batch
    assert [request["DocumentLocation"]["S3Object"]["Name"] for request in textract.requests] == ["reports/good.pdf"]
    registry = runtime.services().registry
    notes, empty = (registry.get(f"s3://ragline-ingest/reports/{name}.pdf") for name in ("notes", "empty"))
    assert notes.state is empty.state is DocumentState.FAILED
    assert "not a PDF" in notes.reason and "empty" in empty.reason

    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    run_windows(stack)
    assert (
        registry.get("s3://ragline-ingest/reports/good.pdf").chunk_count
        == chunk_count(opensearch, "s3://ragline-ingest/reports/good.pdf")
        > 0
    )
    assert report.sentences


def test_a_corrupt_overwrite_says_the_previous_version_stays_searchable(stack, opensearch, textract, indexed):
    """ingest_start records the failure with what is still indexed: it reads the index with its own environment."""
    chunks = chunk_count(opensearch, SOURCE)
    stack.s3.put_object(Bucket=stack.ingest_bucket, Key=KEY, Body=b"not a pdf at all")
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED
    assert status.reason.endswith(f"; {chunks} chunks of this source remain searchable")


def test_an_object_deleted_while_textract_reads_it_is_not_indexed(bootstrapped, stack, opensearch, textract, tmp_path):
    upload(stack, textract, tmp_path)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    stack.s3.delete_object(Bucket=stack.ingest_bucket, Key=KEY)
    assert run(delete_document, stack, "delete") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    assert chunk_count(opensearch, SOURCE) == 0


def test_a_key_with_a_plus_is_found_whatever_the_encoding(bootstrapped, stack, opensearch, textract, tmp_path):
    """'+' would decode to a space: the handler tries the decoded key, then the key as it came."""
    key = "reports/c++ notes.pdf"
    upload(stack, textract, tmp_path, key=key)
    assert json.loads(stack.sqs_event("ingest")["Records"][0]["body"])["detail-type"] == "Object Created"
    ingest(stack)
    assert textract.requests[0]["DocumentLocation"]["S3Object"]["Name"] == key
    assert chunk_count(opensearch, f"s3://{stack.ingest_bucket}/{key}") > 0


def test_a_document_without_text_fails_once_with_its_reason(
    bootstrapped, stack, opensearch, textract, tmp_path, capsys
):
    upload(stack, textract, tmp_path)
    textract.plan(KEY, [], pages=1)  # Textract found nothing to read
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    capsys.readouterr()
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # the first window queued
    assert run(index_document, stack, "window") == {"batchItemFailures": []}  # permanent: acknowledged
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0]
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED and "nothing to read" in status.reason
    assert stack.waiting("window") == 0 and stack.dead_letters("window") == []


def test_a_result_that_ends_before_the_pages_its_job_counted_fails_the_version_at_the_window_past_its_end(
    bootstrapped, stack, opensearch, textract, tmp_path
):
    """The first window (pages 1-100) reads every result file; the second (page 101) finds none left. The cursor the
    first window hands on, past the last file, must travel in the window message like any other, and the second
    window fail the version with its reason, not leave it indexing with its message dead-lettered."""
    upload(stack, textract, tmp_path)
    counted = 101  # one page more than the default window's 100, and one more than the result holds
    pages = [PageContent(paragraphs=[f"Section {number} covers pump maintenance."]) for number in range(1, counted)]
    textract.plan(KEY, analysis_blocks(pages), pages=counted)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # the first window queued
    assert run(index_document, stack, "window") == {"batchItemFailures": []}  # pages 1-100: the next one queued
    assert runtime.services().registry.get(SOURCE).state is DocumentState.INDEXING
    assert run(index_document, stack, "window") == {"batchItemFailures": []}  # page 101: permanent, acknowledged
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED and "nothing to read" in status.reason
    assert chunk_count(opensearch, SOURCE) == 0  # the version's first 100 pages of chunks went with it
    assert stack.waiting("window") == 0 and stack.dead_letters("window") == []


def test_a_window_message_that_does_not_validate_fails_the_version_it_names_and_is_acknowledged(
    bootstrapped, stack, opensearch, textract, tmp_path, capsys
):
    """Retrying cannot mend a message, so it is acknowledged; the version it names is failed with the reason,
    where it used to wait in "indexing" for ever with its source's next upload the only way out."""
    upload(stack, textract, tmp_path)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # the first window queued
    queue = stack.queues["window"]
    (queued,) = stack.sqs.receive_message(QueueUrl=queue)["Messages"]
    stack.sqs.delete_message(QueueUrl=queue, ReceiptHandle=queued["ReceiptHandle"])
    message = json.loads(queued["Body"])
    message["window"]["cursor_block"] = None  # not a cursor: what an unvalidated copy of a window could carry
    stack.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(message))
    capsys.readouterr()
    assert run(index_document, stack, "window") == {"batchItemFailures": []}  # permanent: acknowledged
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0]
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED and "not a valid page window" in status.reason
    assert stack.waiting("window") == 0 and stack.dead_letters("window") == []


def test_a_document_with_only_page_furniture_fails_once_inside_ingestion(
    bootstrapped, stack, opensearch, textract, tmp_path, capsys
):
    """Textract reads a page, but nothing is left to chunk: the ingestion service records it FAILED."""
    upload(stack, textract, tmp_path)
    textract.plan(KEY, analysis_blocks([PageContent(paragraphs=[], footer="Page 1 of 1")]), pages=1)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    capsys.readouterr()
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}  # the first window queued
    assert run(index_document, stack, "window") == {"batchItemFailures": []}  # permanent: acknowledged
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0]
    status = runtime.services().registry.get(SOURCE)
    assert status.state is DocumentState.FAILED and status.reason
    assert chunk_count(opensearch, SOURCE) == 0 and stack.waiting("window") == 0


def test_an_s3_notification_is_refused_as_malformed_and_acknowledged(stack, capsys, caplog):
    """Only what the stacks send is read: an S3 event notification is not it, and retrying cannot help."""
    notification = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.ingest_bucket},
                                                                           "object": {"key": "a.pdf"}}}]}  # fmt: skip
    stack.sqs.send_message(QueueUrl=stack.queues["ingest"], MessageBody=json.dumps(notification))
    capsys.readouterr()
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}  # acknowledged, not retried
    assert emitted(capsys.readouterr().out, "DocumentsFailed") == [1.0]
    assert "a message failed for good" in caplog.text and "not an S3 event delivered by EventBridge" in caplog.text
    assert stack.waiting("ingest") == 0


# --- copies: the same bytes under several keys ------------------------------------------------------------------

COPY_B, COPY_C = "reports/copy-b.pdf", "reports/copy-c.pdf"  # both sort after KEY, B before C


def give_up_a_new_version(stack, textract, endpoint, tmp_path, key: str) -> None:
    """New content under `key` whose page windows fail on every delivery until the version is given up."""
    upload(stack, textract, tmp_path, key=key, pages=2)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    endpoint.errors = ["ThrottlingException"] * 100  # more than every retry of every delivery
    assert run(index_document, stack, "completion") == {"batchItemFailures": []}
    for _ in range(MAX_RECEIVE_COUNT):
        assert len(run(index_document, stack, "window")["batchItemFailures"]) == 1
    endpoint.errors = []


@pytest.fixture
def copy_whose_new_version_failed(stack, opensearch, textract, endpoint, indexed, tmp_path):
    """KEY holds the content; B and C were copies of it; B then got new content that failed to index."""
    data = indexed.path.read_bytes()
    for key in (COPY_B, COPY_C):
        stack.s3.put_object(Bucket=stack.ingest_bucket, Key=key, Body=data)
    assert run(ingest_start, stack, "ingest") == {"batchItemFailures": []}
    registry = runtime.services().registry
    for key in (COPY_B, COPY_C):
        copy = registry.get(f"s3://ragline-ingest/{key}")
        assert (copy.state, copy.reason) == (DocumentState.DUPLICATE, f"same content as {SOURCE}, which is indexed")
    assert textract.requests[-1]["DocumentLocation"]["S3Object"]["Name"] == KEY  # copies are not extracted
    give_up_a_new_version(stack, textract, endpoint, tmp_path, COPY_B)
    failed = registry.get(f"s3://ragline-ingest/{COPY_B}")
    assert (failed.state, failed.chunk_count) == (DocumentState.FAILED, 0)
    assert chunk_count(opensearch, f"s3://ragline-ingest/{COPY_B}") == 0
    return content_hash(data)


def test_deleting_a_copy_whose_new_version_failed_leaves_the_other_copies_as_they_were(
    stack, opensearch, copy_whose_new_version_failed
):
    held = chunk_count(opensearch, SOURCE)
    stack.s3.delete_object(Bucket=stack.ingest_bucket, Key=COPY_B)
    assert run(delete_document, stack, "delete") == {"batchItemFailures": []}
    registry = runtime.services().registry
    assert registry.get(f"s3://ragline-ingest/{COPY_B}") is None
    assert registry.get(SOURCE).state is DocumentState.INDEXED and chunk_count(opensearch, SOURCE) == held
    assert registry.get(f"s3://ragline-ingest/{COPY_C}").state is DocumentState.DUPLICATE


def test_deleting_the_holder_hands_its_chunks_to_a_copy_not_to_a_key_whose_new_version_failed(
    stack, opensearch, indexed, copy_whose_new_version_failed
):
    held = chunk_count(opensearch, SOURCE)
    stack.s3.delete_object(Bucket=stack.ingest_bucket, Key=KEY)
    assert run(delete_document, stack, "delete") == {"batchItemFailures": []}
    registry = runtime.services().registry
    heir = f"s3://ragline-ingest/{COPY_C}"
    taken = registry.get(heir)
    assert (taken.state, taken.document_id, taken.chunk_count) == (
        DocumentState.INDEXED,
        copy_whose_new_version_failed,
        held,
    )
    assert chunk_count(opensearch, heir) == held and chunk_count(opensearch, SOURCE) == 0
    assert registry.get(f"s3://ragline-ingest/{COPY_B}").state is DocumentState.FAILED
    status, body = ask(stack, indexed.sentences[2][4], mode="hybrid", k=3)
    assert status == 200, body
    assert body["grounded"] and {source["source"] for source in body["sources"]} == {heir}
