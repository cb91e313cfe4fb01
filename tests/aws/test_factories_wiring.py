"""Each AWS factory hands its adapter every setting it was given, and names the setting it misses.

The adapters are built by `ragline.adapters.aws.factories` from `Settings`, then driven through
their ports against moto and the doubles of this folder: what a test checks is what the adapter
sends or answers with the configured value, which a setting dropped on the way would change.
"""

from __future__ import annotations

import json

import boto3
import pytest

from ragline.adapters.aws import factories
from ragline.adapters.aws.clients import aws_client, opensearch_client
from ragline.adapters.aws.textract import TextractExtractor
from ragline.config import AwsSettings, IndexSettings, Settings
from ragline.errors import ConfigurationError, DocumentError, ModelUnavailableError
from ragline.model import Citation
from tests.aws.fake_endpoint import BedrockDouble
from tests.contracts.index_contract import BIRDS, DIMENSION, PUMPS

TITAN_V2 = "amazon.titan-embed-text-v2:0"
PDF_BYTES = b"%PDF-1.7\n% staged as they are: moto's Textract reads no page of it\n"
PUMPS_CITATION = Citation(number=1, source="s3://docs/pumps.pdf", title="Pumps", pages=(1,), score=1.0,
                          similarity=0.9, text="Pumps move water.", chunk_id="d:0")  # fmt: skip


def _search_settings(**fields: str) -> dict[str, str]:
    """The index section of a function whose OpenSearch (the in-memory fake) holds the index `filings`."""
    return {"backend": "opensearch", "opensearch_endpoint": "https://search.test", "opensearch_index": "filings",
            **fields}  # fmt: skip


def _created_index(settings: Settings, registry=lambda: None):
    """The factory's OpenSearch index for `settings`, created, its vectors of the contract's dimension."""
    index = factories.opensearch_index(settings, lambda: DIMENSION, registry, lambda: "unused")
    index.ensure_index()
    return index


@pytest.fixture
def no_shared_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No ~/.aws/config of the machine running the tests: only the settings under test count."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch, endpoint) -> BedrockDouble:
    """Bedrock answers on every bedrock-runtime client the factories build (moto serves no Bedrock runtime)."""
    double = BedrockDouble(endpoint)
    built = factories.aws_client

    def aws_client(service: str, settings):
        client = built(service, settings)
        if service == "bedrock-runtime":
            double.attach(client)
        return client

    monkeypatch.setattr(factories, "aws_client", aws_client)
    return double


# --- missing settings are named with the backend that needs them ---------------------------


@pytest.mark.parametrize(
    ("factory", "sections", "message"),
    [
        (
            factories.dynamodb_registry,
            {},
            "index.registry_table must be set for the dynamodb registry backend",
        ),
        (
            factories.sqs_window_queue,
            {},
            "windows.queue_url must be set for the windowed indexing backend",
        ),
        (
            factories.sagemaker_embedder,
            {"embedding": {"backend": "sagemaker"}},
            "embedding.endpoint_name must be set for the sagemaker backend",
        ),
        (
            factories.bedrock_embedder,
            {"embedding": {"backend": "bedrock"}},
            "embedding.model_id must be set for the bedrock backend",
        ),
    ],
)
def test_a_missing_setting_is_named_with_the_backend_that_needs_it(factory, sections, message):
    with pytest.raises(ConfigurationError) as raised:
        factory(Settings(**sections))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("factory", "backend", "message"),
    [
        (factories.bedrock_generator, "bedrock", "generation.model_id must be set for the bedrock backend"),
        (factories.sagemaker_generator, "sagemaker", "generation.endpoint_name must be set for the sagemaker backend"),
    ],
)
def test_a_generator_without_its_model_names_the_setting_and_the_backend(factory, backend, message):
    with pytest.raises(ConfigurationError) as raised:
        factory(Settings(generation={"backend": backend}), lambda: None)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("embedding", "required", "name"),
    [
        ({"backend": "bedrock", "model_id": TITAN_V2, "model_name": "titan-256"}, True, "titan-256"),
        ({"backend": "sagemaker", "endpoint_name": "ragline-embedder"}, True, "sagemaker:ragline-embedder"),
        ({"backend": "bedrock", "model_id": TITAN_V2}, True, TITAN_V2),
        # A model id names a Bedrock model only; a function that only reads or deletes needs no name at all.
        ({"backend": "sagemaker", "model_id": TITAN_V2}, False, ""),
    ],
    ids=["named", "sagemaker endpoint", "bedrock model", "nothing to derive, not required"],
)
def test_the_model_name_records_carry_is_the_configured_one_or_derived_from_the_backend(embedding, required, name):
    assert factories.embedding_model_name(Settings(embedding=embedding).embedding, required=required) == name


def test_without_a_registry_table_the_opensearch_index_asks_no_registry(aws, opensearch):
    def no_registry():
        raise AssertionError("no registry is configured: none may be built")

    index = _created_index(Settings(index=_search_settings()), no_registry)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    assert {chunk.source for chunk, _ in index.keyword_search("pumps", k=10)} == {"/docs/pumps.pdf"}


def test_a_model_name_that_cannot_be_derived_is_required_by_name():
    # The metrics and archive records carry the model's name: an endpoint-less backend gives none.
    settings = Settings(embedding={"backend": "sagemaker"}, metrics={"backend": "emf"})
    with pytest.raises(ConfigurationError, match="RAGLINE_EMBEDDING__MODEL_NAME is not set and the 'sagemaker'"):
        factories.embedding_model_name(settings.embedding)
    with pytest.raises(ConfigurationError, match="RAGLINE_EMBEDDING__MODEL_NAME is not set"):
        factories.emf_metrics(settings)


def test_opensearch_without_an_endpoint_names_the_setting():
    with pytest.raises(ConfigurationError) as raised:
        opensearch_client(IndexSettings(backend="opensearch"), Settings().aws)
    assert str(raised.value) == "index.backend is 'opensearch' but index.opensearch_endpoint is not set"


def test_an_opensearch_index_whose_name_was_not_given_is_refused_by_its_variable():
    """The default name could match a deployment's by chance and hide a function never told its index."""
    settings = Settings(index={"backend": "opensearch", "opensearch_endpoint": "https://search.test"})
    with pytest.raises(ConfigurationError) as raised:
        factories.opensearch_index(settings, lambda: 384, lambda: None, lambda: "m")
    assert str(raised.value) == "RAGLINE_INDEX__OPENSEARCH_INDEX is not set: name the index this function serves"


def test_the_opensearch_index_is_created_as_configured_and_its_chunks_name_their_model(aws, opensearch):
    settings = Settings(index=_search_settings(opensearch_engine="faiss", opensearch_space_type="innerproduct"),
                        embedding={"backend": "sagemaker", "model_name": "all-MiniLM-L6-v2"})  # fmt: skip
    index = _created_index(settings)
    method = opensearch.indices["filings"].mappings["properties"]["vector"]["method"]
    assert (method["engine"], method["space_type"]) == ("faiss", "innerproduct")
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    assert {doc["model"] for doc in opensearch.indices["filings"].docs.values()} == {"all-MiniLM-L6-v2"}


def test_the_opensearch_index_s_searches_leave_out_the_versions_its_registry_hides(aws, opensearch):
    """A version being written in page windows, or replaced and being deleted, is hidden by the registry's
    ledger: the factory hands the index the registry it is given, and every search asks it."""

    class Ledger:
        def hidden(self) -> frozenset[str]:
            return frozenset({"p" * 64})

    index = _created_index(Settings(index=_search_settings(registry_table="registry")), Ledger)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
    assert {chunk.source for chunk, _ in index.keyword_search("pumps", k=10)} == {"/docs/birds.pdf"}
    assert {chunk.source for chunk, _ in index.dense_search(PUMPS[0].vector, k=10)} == {"/docs/birds.pdf"}


def test_opensearch_without_any_region_says_where_to_set_one(monkeypatch, no_shared_aws_config):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    index = IndexSettings(backend="opensearch", opensearch_endpoint="https://search.test")
    with pytest.raises(ConfigurationError) as raised:
        opensearch_client(index, Settings().aws)
    assert str(raised.value) == "no AWS region: set AWS_REGION or aws.region"


# --- the settings reach the adapter -----------------------------------------------------------


def test_aws_max_attempts_bounds_the_calls_of_one_request(aws, endpoint, no_shared_aws_config):
    endpoint.errors = ["ThrottlingException"] * 10
    settings = Settings(
        embedding={"backend": "sagemaker", "endpoint_name": "ragline-embedder", "dimension": 384},
        aws={"max_attempts": 4},  # not botocore's default of 3
    )
    embedder = factories.sagemaker_embedder(settings)
    with pytest.raises(ModelUnavailableError, match="ragline-embedder"):
        embedder.embed(["pumps move water"])
    assert len(endpoint.calls) == 4  # the first call and three retries


def test_aws_region_and_retry_mode_reach_every_client_over_the_environment(monkeypatch, no_shared_aws_config):
    """aws.region names another region than the Lambda's own (an endpoint hosted elsewhere); the retry mode is
    botocore's: `adaptive` also rate-limits the client."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    client = aws_client("sagemaker-runtime", AwsSettings(region="eu-west-1", retry_mode="adaptive", max_attempts=4))
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}


def test_the_sagemaker_embedder_speaks_the_configured_container_format_and_model_name(aws, endpoint):
    settings = Settings(
        embedding={
            "backend": "sagemaker",
            "endpoint_name": "ragline-embedder",
            "payload_format": "jumpstart",
            "model_name": "all-MiniLM-L6-v2",
        }
    )
    embedder = factories.sagemaker_embedder(settings)
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert len(embedder.embed(["pumps move water"])[0]) == 384
    assert endpoint.calls[-1]["request"] == {"text_inputs": ["pumps move water"]}


def test_the_sagemaker_embedder_holds_its_endpoint_to_the_configured_dimension(aws, endpoint):
    """An endpoint serving another model (384 dimensions where the index holds 256) is refused by name, before
    its vectors reach an index built for another size; and the dimension costs no probe call."""
    settings = Settings(embedding={"backend": "sagemaker", "endpoint_name": "ragline-embedder", "dimension": 256,
                                   "model_name": "all-MiniLM-L6-v2"})  # fmt: skip
    embedder = factories.sagemaker_embedder(settings)
    assert embedder.dimension == 256 and endpoint.calls == []
    with pytest.raises(
        ModelUnavailableError, match=r"all-MiniLM-L6-v2 returned vector 0 of 384 dimensions, expected 256"
    ):
        embedder.embed(["pumps move water"])


def test_the_sagemaker_embedder_sends_at_most_the_configured_batch_per_request(aws, endpoint):
    settings = Settings(embedding={"backend": "sagemaker", "endpoint_name": "ragline-embedder", "batch_size": 2,
                                   "model_name": "all-MiniLM-L6-v2"})  # fmt: skip
    factories.sagemaker_embedder(settings).embed(["pumps", "valves", "seals", "filters", "meters"])
    assert [len(call["request"]["inputs"]) for call in endpoint.calls] == [2, 2, 1]


def test_a_bedrock_model_that_embeds_no_text_is_refused_naming_the_setting():
    settings = Settings(embedding={"backend": "bedrock", "model_id": "meta.llama3-8b-instruct-v1:0"})
    with pytest.raises(ConfigurationError) as raised:
        factories.bedrock_embedder(settings)
    assert str(raised.value) == (
        "embedding.model_id 'meta.llama3-8b-instruct-v1:0' is neither Titan Text Embeddings nor Cohere Embed on Bedrock"
    )


def test_the_bedrock_embedder_calls_bedrock_under_the_configured_model_name(aws, bedrock):
    settings = Settings(
        embedding={"backend": "bedrock", "model_id": TITAN_V2, "model_name": "titan-v2-256", "dimension": 384}
    )
    embedder = factories.bedrock_embedder(settings)
    assert embedder.model_name == "titan-v2-256"
    assert len(embedder.embed(["pumps move water"])[0]) == 384
    assert bedrock.requests[-1] == {"inputText": "pumps move water", "normalize": True, "dimensions": 384}


def test_the_bedrock_generator_answers_through_bedrock_converse(aws, bedrock):
    settings = Settings(generation={"backend": "bedrock", "model_id": "anthropic.claude-3-haiku", "max_new_tokens": 77})
    generator = factories.bedrock_generator(settings, lambda: None)
    assert generator.generate("What do pumps do?", [PUMPS_CITATION]).startswith("Pumps move water")
    assert bedrock.requests[-1]["inferenceConfig"]["maxTokens"] == 77


def test_the_sagemaker_generator_asks_for_the_configured_number_of_new_tokens(aws, endpoint):
    settings = Settings(generation={"backend": "sagemaker", "endpoint_name": "ragline-generator", "max_new_tokens": 77})
    generator = factories.sagemaker_generator(settings, lambda: None)
    generator.generate("What do pumps do?", [])
    assert endpoint.calls[-1]["request"]["max_tokens"] == 77


def test_the_sagemaker_generator_speaks_the_configured_payload_format(aws, endpoint):
    settings = Settings(
        generation={"backend": "sagemaker", "endpoint_name": "ragline-generator", "payload_format": "tgi"}
    )
    generator = factories.sagemaker_generator(settings, lambda: None)
    assert generator.generate("What do pumps do?", [PUMPS_CITATION]).startswith("Pumps move water")
    request = endpoint.calls[-1]["request"]
    assert "messages" not in request and "What do pumps do?" in request["inputs"]


@pytest.mark.parametrize(
    ("index", "named"),
    [({"backend": "opensearch", "opensearch_index": "filings"}, "filings"), ({"backend": "sqlite"}, "sqlite")],
)
def test_emf_metrics_land_in_the_configured_namespace_under_the_index_s_name(capsys, index, named):
    """Each score is published under its model and index, in metrics.namespace (the dashboard reads it)."""
    settings = Settings(embedding={"backend": "local", "model_name": "minilm"}, index=index,
                        metrics={"backend": "emf", "namespace": "rag-staging"})  # fmt: skip
    metrics = factories.emf_metrics(settings)
    metrics.record_query(top_similarity=0.8, mean_similarity=0.5, hits=3, mode="hybrid")
    (blob,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "rag-staging"
    assert (blob["model"], blob["index"]) == ("minilm", named)


def test_an_extractor_reading_s3_objects_only_builds_no_s3_client(monkeypatch):
    """Each entry point builds only what it uses: the S3 client is for staging local bytes or reading
    results Textract wrote to an output bucket, neither of which is configured here."""
    built: list[str] = []
    monkeypatch.setattr(factories, "aws_client", lambda service, settings: built.append(service) or object())
    factories.textract_extractor(Settings(extraction={"backend": "textract"}))
    assert built == ["textract"]


def test_the_registry_finds_duplicates_through_the_configured_document_index(aws):
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="registry",
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "source", "AttributeType": "S"},
            {"AttributeName": "document_id", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-document",
                "KeySchema": [{"AttributeName": "document_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    operations: list[str] = []
    built = factories.aws_client

    def aws_client(service: str, settings):
        client = built(service, settings)
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: operations.append(model.name))
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factories, "aws_client", aws_client)
        registry = factories.dynamodb_registry(
            Settings(index={"registry_table": "registry", "registry_document_index": "by-document"})
        )
    assert registry.find_by_document_id("0" * 64) is None
    assert operations == ["Query"]  # the index, not a scan of the whole table


def test_textract_writes_its_results_where_and_as_configured(aws, textract):
    s3 = boto3.client("s3")
    for bucket in ("ingest", "out"):
        s3.create_bucket(Bucket=bucket)
    settings = Settings(
        extraction={
            "backend": "textract",
            "output_bucket": "out",
            "output_prefix": "analyses",
            "kms_key_id": "alias/ragline",
        }
    )
    factories.textract_extractor(settings).start("ingest", "pumps.pdf", document_id="d" * 64)
    request = textract.requests[-1]
    assert request["OutputConfig"] == {"S3Bucket": "out", "S3Prefix": "analyses"}
    assert request["KMSKeyId"] == "alias/ragline"


def test_textract_stages_local_bytes_in_the_configured_bucket(aws, textract):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="staging")
    textract.plan("*", [], 1, status="FAILED", message="stop here")  # the staging is what is checked
    extractor = factories.textract_extractor(Settings(extraction={"backend": "textract", "staging_bucket": "staging"}))
    with pytest.raises(DocumentError, match="stop here"):
        extractor.extract("/laptop/pumps.pdf", PDF_BYTES)
    staged = [item["Key"] for item in s3.list_objects_v2(Bucket="staging").get("Contents", [])]
    assert len(staged) == 1 and staged[0].endswith("/pumps.pdf")
    assert textract.requests[-1]["DocumentLocation"]["S3Object"] == {"Bucket": "staging", "Name": staged[0]}


def test_a_synchronous_extraction_polls_at_the_configured_interval(aws, textract, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="staging")
    textract.plan("*", [], 1, status="IN_PROGRESS")
    waits: list[float] = []

    class WaitedError(Exception):
        pass

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        raise WaitedError  # one poll is enough to see its interval; the job never finishes here

    # The extractor's sleep is a constructor argument the factory does not pass: the factory builds
    # this extractor class instead, the same but for its sleep.
    monkeypatch.setattr(
        "ragline.adapters.aws.textract.TextractExtractor",
        lambda *args, **kwargs: TextractExtractor(*args, sleep=sleep, **kwargs),
    )
    settings = Settings(extraction={"backend": "textract", "staging_bucket": "staging", "poll_seconds": 0.25})
    with pytest.raises(WaitedError):
        factories.textract_extractor(settings).extract("/laptop/pumps.pdf", PDF_BYTES)
    assert waits == [0.25]
