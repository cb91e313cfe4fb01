"""What the contract suites do not reach: paging, partial failures, throttling, scores, mapping, events."""

from __future__ import annotations

import json
import re

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber
from moto.firehose.models import FirehoseBackend

from ragline.adapters.aws.clients import OPENSEARCH_ATTEMPTS, opensearch_address, opensearch_client
from ragline.adapters.aws.embeddings import SageMakerEmbedder, unit_rows
from ragline.adapters.aws.emf_metrics import EmfMetrics
from ragline.adapters.aws.firehose_archive import MAX_RECORDS_PER_CALL, ArchiveWriteError, FirehoseArchive, batches
from ragline.adapters.aws.opensearch_index import IndexWriteError, OpenSearchIndex, filter_clauses
from ragline.adapters.aws.opensearch_mapping import index_body, similarity_from_score
from ragline.adapters.aws.textract import JobInProgressError, TextractExtractor
from ragline.adapters.aws.tokens import ConservativeTokenCounter
from ragline.config import AwsSettings, IndexSettings
from ragline.entrypoints.lambdas.runtime import MalformedMessageError
from ragline.entrypoints.lambdas.s3_events import Change, object_event
from ragline.errors import ConfigurationError, DocumentError, ModelUnavailableError
from ragline.filters import SearchFilter
from ragline.records import EmbeddingRecord, RecordKind
from tests import pdf_factory
from tests.aws.conftest import CONTEXT, create_stack
from tests.aws.fake_opensearch import FakeIndex, FakeOpenSearch, fake_client
from tests.aws.textract_responses import PageContent, analysis_blocks, paged_responses
from tests.contracts.index_contract import BIRDS, DIMENSION, PUMPS, unit

# --- Textract ------------------------------------------------------------------------------


def test_textract_results_are_read_across_every_next_token_page():
    words = ["Pumps move water.", "Valves stop it.", "Seals wear out.", "Filters clog.", "Meters count flow."]
    pages = [PageContent(paragraphs=[text], footer=f"Page {number} of 5") for number, text in enumerate(words, 1)]
    responses = paged_responses(analysis_blocks(pages), page_size=7, pages=5)
    assert len(responses) > 3
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        for index, response in enumerate(responses):
            expected = {"JobId": "job-1", "MaxResults": 1000, **({"NextToken": f"token-{index}"} if index else {})}
            stubber.add_response("get_document_analysis", response, expected)
        document = TextractExtractor(textract).document("job-1", source="s3://b/report.pdf", document_id="d" * 64)
        stubber.assert_no_pending_responses()
    assert [page.number for page in document.pages] == [1, 2, 3, 4, 5]
    assert [page.text for page in document.pages] == words
    assert (document.id, document.title) == ("d" * 64, "report")


def test_tables_become_markdown_and_keep_their_page():
    blocks = analysis_blocks(
        [PageContent(paragraphs=["Intro."]), PageContent(paragraphs=["Results."], table=pdf_factory.REPORT_TABLE)]
    )
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        stubber.add_response("get_document_analysis", paged_responses(blocks, 10_000, 2)[0])
        document = TextractExtractor(textract).document("job", source="s3://b/k.pdf", document_id="d" * 64)
    assert "| Industrial | 4,210" in document.pages[1].text
    assert "|---" in document.pages[1].text and "Industrial" not in document.pages[0].text


def _read_document(extractor: TextractExtractor) -> object:
    return extractor.document("job-9", source="s3://b/k.pdf", document_id="d" * 64)


def _read_page_count(extractor: TextractExtractor) -> object:
    return extractor.job_pages("job-9", source="s3://b/k.pdf")


@pytest.mark.parametrize("read", [_read_document, _read_page_count], ids=["document", "job_pages"])
@pytest.mark.parametrize("status", ["FAILED", "ERROR"])
@pytest.mark.parametrize(
    ("message", "reason"),
    [({"StatusMessage": "Unsupported document format"}, "Unsupported document format"), ({}, "no reason given")],
    ids=["with-textract-s-message", "without"],
)
def test_a_job_that_failed_is_a_document_error_naming_the_file_the_job_and_textract_s_reason(
    read, status, message, reason
):
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        stubber.add_response("get_document_analysis", {"JobStatus": status, **message})
        with pytest.raises(DocumentError) as failure:
            read(TextractExtractor(textract))
    assert failure.value.source == "s3://b/k.pdf"
    assert failure.value.reason == f"Textract job job-9 ended {status}: {reason}"


@pytest.mark.parametrize("read", [_read_document, _read_page_count], ids=["document", "job_pages"])
def test_a_job_still_running_is_reported_as_such_naming_the_job(read):
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        stubber.add_response("get_document_analysis", {"JobStatus": "IN_PROGRESS"})
        with pytest.raises(JobInProgressError, match=r"^Textract job job-9 is still running$"):
            read(TextractExtractor(textract))


def test_start_asks_for_layout_and_tables_and_tags_the_job_with_the_content_hash():
    textract = boto3.client("textract")
    topic, role = "arn:aws:sns:us-east-1:123456789012:textract", "arn:aws:iam::123456789012:role/textract"
    extractor = TextractExtractor(textract, topic_arn=topic, role_arn=role, output_bucket="out", kms_key_id="key")
    expected = {
        "DocumentLocation": {"S3Object": {"Bucket": "ingest", "Name": "a b.pdf", "Version": "v1"}},
        "FeatureTypes": ["LAYOUT", "TABLES"],
        "JobTag": "d" * 64,
        "ClientRequestToken": "t" * 64,
        "NotificationChannel": {"SNSTopicArn": topic, "RoleArn": role},
        "OutputConfig": {"S3Bucket": "out", "S3Prefix": "textract-output"},
        "KMSKeyId": "key",
    }
    with Stubber(textract) as stubber:
        stubber.add_response("start_document_analysis", {"JobId": "job-1"}, expected)
        job = extractor.start("ingest", "a b.pdf", document_id="d" * 64, version="v1", request_token="t" * 64)
    assert job == "job-1"


# --- Firehose ------------------------------------------------------------------------------


def _records(count: int) -> list[EmbeddingRecord]:
    return [
        EmbeddingRecord.now(id=f"doc:{index:05d}", kind=RecordKind.CHUNK, source="s3://b/k.pdf", model="m",
                            vector=[0.6, 0.8], document_id="doc", pages=(1,))
        for index in range(count)
    ]  # fmt: skip


def test_a_partial_firehose_failure_resends_only_the_failed_records(aws, monkeypatch, caplog):
    stack = create_stack()
    calls: list[list[bytes]] = []
    original = FirehoseBackend.put_record_batch

    def flaky(backend, delivery_stream_name, records):
        calls.append([record["Data"] for record in records])
        if len(calls) > 1:
            return original(backend, delivery_stream_name, records)
        kept = [record for index, record in enumerate(records) if index % 3]
        accepted = iter(original(backend, delivery_stream_name, kept)["RequestResponses"])
        failed = {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
        responses = [failed if index % 3 == 0 else next(accepted) for index in range(len(records))]
        return {"FailedPutCount": sum(1 for index in range(len(records)) if index % 3 == 0), "Encrypted": False,
                "RequestResponses": responses}  # fmt: skip

    monkeypatch.setattr(FirehoseBackend, "put_record_batch", flaky)
    archive = FirehoseArchive(boto3.client("firehose"), embedding_stream="ragline-embeddings", prompt_stream=None)
    assert archive.write(_records(10)) == 10
    assert len(calls) == 2 and len(calls[1]) == 4  # records 0, 3, 6, 9 only
    assert calls[1] == [calls[0][index] for index in (0, 3, 6, 9)]
    landed = sorted(record["id"] for record in stack.archive_records("embeddingarchive"))
    assert landed == [f"doc:{index:05d}" for index in range(10)]  # each record exactly once
    # A refusal that a retry then cured leaves this warning as its only trace.
    (warning,) = [record for record in caplog.records if record.name == "ragline.adapters.aws.firehose_archive"]
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        "Firehose ragline-embeddings refused 4 of 10 records (ServiceUnavailableException: Slow down.)"
    )


def test_batches_respect_firehose_limits_of_500_records_and_4_mib():
    small = [b"x" * 100] * 1201
    assert [len(batch) for batch in batches(small)] == [MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL, 201]
    large = [b"x" * 900_000] * 10
    assert all(sum(map(len, batch)) <= 4 * 1024 * 1024 for batch in batches(large))
    assert sum(len(batch) for batch in batches(large)) == 10
    with pytest.raises(ArchiveWriteError, match="1,000 KiB"):
        list(batches([b"x" * 1_100_000]))


@pytest.mark.parametrize(
    ("kind", "streams", "setting"),
    [
        (RecordKind.PROMPT, {"embedding_stream": "embeddings", "prompt_stream": None}, "prompt_stream"),
        (RecordKind.CHUNK, {"embedding_stream": None, "prompt_stream": "prompts"}, "embedding_stream"),
    ],
)
def test_a_kind_without_a_stream_is_a_configuration_error_naming_its_setting(kind, streams, setting):
    archive = FirehoseArchive(object(), **streams)
    record = EmbeddingRecord.now(id="q", kind=kind, source="api", model="m", vector=[1.0])
    with pytest.raises(ConfigurationError) as raised:
        archive.write([record])
    assert str(raised.value) == f"archive.backend is 'firehose' but archive.{setting} is not set"


# --- SageMaker embeddings -----------------------------------------------------------------


def test_sagemaker_throttling_then_success_is_retried_by_botocore(aws, endpoint, token_counter):
    from botocore.config import Config

    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"mode": "standard", "total_max_attempts": 4}))
    endpoint.errors = ["ThrottlingException", "ThrottlingException"]
    vectors = SageMakerEmbedder(runtime, "embedder", tokens=token_counter).embed(["pumps move water"])
    assert [len(vector) for vector in vectors] == [384] and len(endpoint.calls) == 3


def test_sagemaker_persistent_throttling_names_the_endpoint(aws, endpoint, token_counter):
    from botocore.config import Config

    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    endpoint.errors = ["ThrottlingException"] * 10
    with pytest.raises(ModelUnavailableError, match="SageMaker endpoint embedder: ThrottlingException"):
        SageMakerEmbedder(runtime, "embedder", tokens=token_counter).embed(["pumps"])
    assert len(endpoint.calls) == 3


def test_embedding_requests_are_batched(aws, endpoint, token_counter):
    embedder = SageMakerEmbedder(boto3.client("sagemaker-runtime"), "e", tokens=token_counter, batch_size=8)
    embedder.embed([f"text {index}" for index in range(20)])
    assert [len(call["request"]["inputs"]) for call in endpoint.calls] == [8, 8, 4]
    assert endpoint.calls[0]["request"]["truncate"] is False  # never embed a silently cut text


def test_vectors_come_back_as_unit_length_lists_of_floats():
    assert unit_rows([[3, 4], [0.0, -2.0]], 2, "model") == [[0.6, 0.8], [0.0, -1.0]]


@pytest.mark.parametrize(
    ("vectors", "dimension", "reason"),
    [
        ([[1.0, 0.0, 0.0]], 2, "vector 0 of 3 dimensions, expected 2"),
        ([[1.0, 0.0], [1.0]], None, "vector 1 of 1 dimensions, expected 2"),
        ([[1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]], None, "vector 1 that is not a list of numbers"),
        ([None], None, "vector 0 that is not a list of numbers"),
        ([[1.0, 0.0], [0.0, 0.0]], 2, r"vector 1 of length 0\.0: not a direction"),
        ([[float("nan"), 1.0]], 2, "vector 0 of length nan: not a direction"),
    ],
)
def test_a_vector_that_is_not_a_direction_of_the_right_size_names_the_model(vectors, dimension, reason):
    with pytest.raises(ModelUnavailableError, match=f"^model returned {reason}$"):
        unit_rows(vectors, dimension, "model")


def test_conservative_token_counter_never_undercounts_the_real_tokenizer(token_counter):
    conservative = ConservativeTokenCounter(256)
    texts = [*pdf_factory.report_sentence.__doc__.split(".")] if pdf_factory.report_sentence.__doc__ else []
    texts += ["Industrial 4,210 3,985 5.6% Consumer 2,875 2,940 -2.2%", "Revenue grew 17.8% year over year.",
              "https://example.com/reports/2024/annual-report.pdf", "Rapport annuel – été 2024 (copie)"]  # fmt: skip
    for text in texts:
        assert conservative.count(text) >= token_counter.count(text), text
    pieces = conservative.split("word " * 300, 50)
    assert all(conservative.count(piece) <= 50 for piece in pieces) and " ".join(pieces).split() == ["word"] * 300


# --- OpenSearch ----------------------------------------------------------------------------


@pytest.fixture
def search():
    fake = FakeOpenSearch()
    index = OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION)
    index.ensure_index()
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
    return fake, index


def test_throttled_searches_are_retried(search):
    fake, index = search
    fake.fail(429, times=2, path_contains="_search")
    assert index.dense_search(np.asarray(unit(1, 0)), k=1)[0][0] == PUMPS[0].chunk
    assert sum(1 for method, path in fake.requests if path.endswith("_search")) == 3


@pytest.mark.parametrize("status", [429, 503])  # throttled; overloaded (which opensearch-py retries by default)
def test_one_call_under_a_persistent_fault_sends_a_bounded_number_of_requests(search, status):
    """One retry policy per call: tenacity's attempts, never multiplied by the transport's own retries."""
    from opensearchpy import TransportError

    fake, index = search
    fake.fail(status, times=1000, path_contains="_search")
    with pytest.raises(TransportError) as refused:
        index.dense_search(np.asarray(unit(1, 0)), k=1)
    assert refused.value.status_code == status
    assert fake.count_requests("_search") == OPENSEARCH_ATTEMPTS


def test_a_throttled_bulk_write_is_retried_by_the_bulk_helper_alone(search):
    from opensearchpy import TransportError

    fake, index = search
    before = fake.count_requests("_bulk")
    fake.fail(429, times=1000, path_contains="_bulk")
    with pytest.raises(TransportError) as throttled:
        index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    assert throttled.value.status_code == 429
    assert fake.count_requests("_bulk") - before == 1 + 3  # the first request and the helper's 3 retries: no nesting


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("search-ragline-abc.us-east-1.es.amazonaws.com", "https://search-ragline-abc.us-east-1.es.amazonaws.com:443"),
        ("https://search-ragline-abc.us-east-1.es.amazonaws.com", "https://search-ragline-abc.us-east-1.es.amazonaws.com:443"),
        ("https://search.example.com:8443/", "https://search.example.com:8443"),
        ("http://127.0.0.1:9200", "http://127.0.0.1:9200"),
        ("http://localhost", "http://localhost:80"),
    ],
)  # fmt: skip
def test_the_endpoint_may_be_a_host_name_or_a_url_with_its_own_scheme_and_port(endpoint, url):
    assert opensearch_address(endpoint).url == url
    client = opensearch_client(IndexSettings(opensearch_endpoint=endpoint), AwsSettings(region="us-east-1"))
    (connection,) = client.transport.connection_pool.connections
    assert connection.host == url
    assert bool(connection.session.verify) is url.startswith("https")  # certificates checked whenever TLS is used
    assert client.transport.max_retries == 0  # `opensearch_retry` is the only retry policy


@pytest.mark.parametrize("endpoint", ["ftp://search.test", "https://", "http://host:port"])
def test_an_endpoint_that_is_not_a_host_or_an_http_url_is_refused(endpoint):
    with pytest.raises(ConfigurationError, match="opensearch_endpoint"):
        opensearch_address(endpoint)


def test_a_refused_chunk_fails_the_update_and_keeps_the_previous_version(search):
    fake, index = search
    replacement = [
        type(PUMPS[0])(type(PUMPS[0].chunk)(**{**PUMPS[0].chunk.__dict__, "id": f"{'q' * 64}:{n:05d}",
                                                "document_id": "q" * 64}), unit(1, 0))
        for n in range(2)
    ]  # fmt: skip
    fake.refused_ids = {replacement[1].chunk.id}
    with pytest.raises(IndexWriteError, match=r"refused 1 of 2 chunks of /docs/pumps\.pdf"):
        index.replace_document("/docs/pumps.pdf", "q" * 64, replacement)
    assert {doc["document_id"] for doc in fake.indices["chunks"].docs.values() if "pumps" in doc["source"]} == {
        "p" * 64
    }


@pytest.mark.parametrize("cosine", [1.0, 0.5, 0.0, -0.5, -1.0])
def test_knn_scores_convert_back_to_the_cosine(cosine):
    assert similarity_from_score((1 + cosine) / 2, "cosinesimil") == pytest.approx(cosine)
    inner = 1 + cosine if cosine >= 0 else 1 / (1 - cosine)
    assert similarity_from_score(inner, "innerproduct") == pytest.approx(cosine)


def test_a_space_type_without_a_cosine_reading_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"^no cosine similarity for space type l2$"):
        similarity_from_score(0.5, "l2")


def test_filters_translate_to_bool_filters():
    where = SearchFilter(source="*.pdf", tags=("ops",), page_from=2, page_to=4, date_from="2024-01-01")
    assert filter_clauses(where) == [
        {"bool": {"should": [{"wildcard": {"source": {"value": "*.pdf"}}},
                             {"wildcard": {"source": {"value": "*/*.pdf"}}}], "minimum_should_match": 1}},
        {"terms": {"tags": ["ops"]}},
        {"range": {"page_end": {"gte": 2}}},
        {"range": {"page_start": {"lte": 4}}},
        {"range": {"date": {"gte": "2024-01-01"}}},
    ]  # fmt: skip
    assert filter_clauses(None) == [] and filter_clauses(SearchFilter()) == []


def test_a_whole_path_without_a_star_is_one_source_even_with_wildcard_characters():
    """As locally: only "*" is a wildcard in a source filter. S3 keys may hold "?", which OpenSearch's
    wildcard query would read as any one character; hybrid search filters by one named filing's source."""
    where = SearchFilter(source="s3://ingest/reports/what?.pdf")
    assert filter_clauses(where) == [{"term": {"source": "s3://ingest/reports/what?.pdf"}}]


def test_the_mapping_names_its_method_engine_and_space_and_bm25_text():
    body = index_body(
        dimension=384, engine="faiss", space_type="innerproduct", m=24, ef_construction=256, shards=2, replicas=1
    )
    vector = body["mappings"]["properties"]["vector"]
    assert body["settings"]["index"] == {"knn": True, "number_of_shards": 2, "number_of_replicas": 1}
    assert vector == {
        "type": "knn_vector",
        "dimension": 384,
        "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct",
                   "parameters": {"m": 24, "ef_construction": 256}},
    }  # fmt: skip
    assert body["mappings"]["properties"]["text"] == {"type": "text", "analyzer": "english"}
    assert body["mappings"]["dynamic"] == "strict"
    fields = ("source", "document_id", "title", "pages", "page_start", "page_end", "heading_path", "tags", "date",
              "chunk_id")  # fmt: skip
    assert set(fields) <= set(body["mappings"]["properties"])


def test_bootstrap_updates_an_existing_index_and_refuses_an_immutable_change(search):
    fake, index = search
    fake.indices["chunks"].mappings["properties"].pop("indexed_at")  # an index made by an older release
    assert index.ensure_index() == "updated"
    assert "indexed_at" in fake.indices["chunks"].mappings["properties"]
    with pytest.raises(ConfigurationError, match=r"\['dimension'\] cannot change"):
        OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION * 2).ensure_index()


def test_bootstrap_creates_the_index_with_the_shards_and_replicas_asked_and_later_changes_the_replicas():
    fake = FakeOpenSearch()
    index = OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION)
    assert index.ensure_index(shards=2, replicas=1) == "created"
    assert fake.indices["chunks"].settings["index"] == {"knn": True, "number_of_shards": 2, "number_of_replicas": 1}
    assert index.ensure_index(shards=2, replicas=2) == "updated"  # a second node: replicas can change in place
    assert fake.indices["chunks"].settings["index"]["number_of_replicas"] == 2


@pytest.mark.parametrize(
    ("mappings", "changed"),
    [
        ({}, ["dimension", "engine", "space_type"]),  # made by hand (`PUT /chunks`): no field at all yet
        ({"properties": {"title": {"type": "text"}}}, ["dimension", "engine", "space_type"]),  # fields, no vector
        # The original pattern's vector (defect 6): a dimension, the engine's default method and space left implicit.
        ({"properties": {"vector": {"type": "knn_vector", "dimension": DIMENSION}}}, ["engine", "space_type"]),
    ],
    ids=["no-mapping", "no-vector-field", "vector-without-method"],
)
def test_bootstrap_refuses_an_index_of_that_name_not_made_by_ragline_naming_what_differs(mappings, changed):
    fake = FakeOpenSearch(indices={"chunks": FakeIndex(mappings=mappings, settings={})})
    with pytest.raises(ConfigurationError, match=re.escape(f"{changed} cannot change on an existing index")):
        OpenSearchIndex(fake_client(fake), "chunks", dimension=DIMENSION).ensure_index()
    assert fake.indices["chunks"].mappings == mappings  # refused before any field was added


# --- Metrics -------------------------------------------------------------------------------


def test_one_emf_document_per_query_in_namespace_rag_with_model_and_index(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "query")
    EmfMetrics(model="minilm", index="chunks").record_query(
        top_similarity=0.8, mean_similarity=0.5, hits=3, mode="hybrid"
    )
    (line,) = capsys.readouterr().out.splitlines()
    emf = json.loads(line)
    (definition,) = emf["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "rag"
    assert definition["Dimensions"] == [["model", "index"]]  # no service dimension
    assert definition["Metrics"] == [
        {"Name": "similarity", "Unit": "None"},
        {"Name": "mean_similarity", "Unit": "None"},
    ]
    assert (emf["similarity"], emf["mean_similarity"], emf["model"], emf["index"]) == ([0.8], [0.5], "minilm", "chunks")


# --- Events --------------------------------------------------------------------------------


def _eventbridge(key: str, detail_type: str = "Object Created") -> str:
    return json.dumps({
        "version": "0", "id": "1", "detail-type": detail_type, "source": "aws.s3", "account": "123456789012",
        "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": ["arn:aws:s3:::in"],
        "detail": {"version": "0", "bucket": {"name": "in"},
                   "object": {"key": key, "size": 5, "etag": "e", "sequencer": "00617F08299329D189"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"},
    })  # fmt: skip


def test_eventbridge_events_decode_keys_and_keep_the_raw_one():
    event = object_event(_eventbridge("reports/c%2B%2B+notes.pdf"))
    assert (event.key, event.change, event.sequencer) == ("reports/c++ notes.pdf", Change.CREATED, "00617F08299329D189")
    assert event.candidate_keys == ("reports/c++ notes.pdf", "reports/c%2B%2B+notes.pdf")
    deleted = object_event(_eventbridge("a.pdf", "Object Deleted"))
    assert deleted.change is Change.REMOVED and deleted.candidate_keys == ("a.pdf",)


NOTIFICATION = {
    "Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "a"}}}]
}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{", "not an S3 event delivered by EventBridge"),
        (json.dumps(NOTIFICATION), "not an S3 event delivered by EventBridge (version: Field required"),
        (json.dumps({"Type": "Notification", "Message": _eventbridge("a.pdf")}), "not an S3 event delivered by"),
        (json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "in"}), "not an S3 event delivered"),
        (_eventbridge("a.pdf", "Object Restore Completed"), "detail-type 'Object Restore Completed'"),
        (json.dumps({**json.loads(_eventbridge("a.pdf")), "source": "custom.app"}), "source 'custom.app'"),
    ],
)
def test_anything_but_an_eventbridge_s3_object_event_is_malformed_with_its_reason(body, reason):
    with pytest.raises(MalformedMessageError, match=re.escape(reason)):
        object_event(body)


def test_the_bootstrap_custom_resource_creates_the_index_it_is_given(aws, opensearch, monkeypatch):
    """With only what the stack gives the bootstrap function: the endpoint (the rest are resource properties)."""
    from ragline.entrypoints.lambdas import index_bootstrap

    monkeypatch.setenv("RAGLINE_INDEX__OPENSEARCH_ENDPOINT", "https://search.test")
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::RaglineSearchIndex",
        "ResourceProperties": {"IndexName": "chunks-v2", "Dimension": "384", "Engine": "faiss",
                               "SpaceType": "innerproduct", "M": "24", "EfConstruction": "256", "Replicas": "1"},
    }  # fmt: skip
    assert index_bootstrap.lambda_handler(event, CONTEXT) == {
        "PhysicalResourceId": "chunks-v2",
        "Data": {"IndexName": "chunks-v2", "Outcome": "created"},
    }
    method = opensearch.indices["chunks-v2"].mappings["properties"]["vector"]["method"]
    assert (method["engine"], method["space_type"], method["parameters"]) == (
        "faiss",
        "innerproduct",
        {"m": 24, "ef_construction": 256},
    )
    assert index_bootstrap.lambda_handler({**event, "RequestType": "Update"}, CONTEXT)["Data"]["Outcome"] == "updated"
    assert index_bootstrap.lambda_handler({**event, "RequestType": "Delete", "PhysicalResourceId": "chunks-v2"},
                                          CONTEXT) == {"PhysicalResourceId": "chunks-v2"}  # fmt: skip
    assert "chunks-v2" in opensearch.indices  # kept: the data outlives the stack


def test_the_role_mapping_custom_resource_uses_the_same_client_builder(aws, opensearch, monkeypatch):
    """The shim's role mapping reaches OpenSearch through `opensearch_client`, endpoint from the environment."""
    from lambdas.index_bootstrap import handler

    monkeypatch.setenv("RAGLINE_INDEX__OPENSEARCH_ENDPOINT", "http://127.0.0.1:9200")
    writer, reader = "arn:aws:iam::123456789012:role/writer", "arn:aws:iam::123456789012:role/reader"
    event = {
        "RequestType": "Create",
        "ResourceType": "Custom::RaglineSearchRoleMapping",
        "ResourceProperties": {"IndexName": "chunks", "WriterRoleArns": [writer], "ReaderRoleArns": [reader]},
    }
    opensearch.fail(503, times=1, path_contains="_security")  # one overloaded answer: retried by the same policy
    assert handler.lambda_handler(event, CONTEXT)["PhysicalResourceId"] == "ragline-search-role-mapping"
    assert opensearch.security["rolesmapping/ragline_writer"] == {"backend_roles": [writer]}
    assert opensearch.security["roles/ragline_reader"]["index_permissions"][0]["index_patterns"] == ["chunks"]

    assert handler.lambda_handler({**event, "RequestType": "Delete"}, CONTEXT)
    assert opensearch.security == {}
