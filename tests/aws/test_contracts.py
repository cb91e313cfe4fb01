"""The contract suites of the local adapters, run against every AWS adapter.

moto serves DynamoDB, Firehose (-> S3), S3 and Textract; the OpenSearch data plane is the
in-memory fake under the real opensearch-py client; model endpoints are `fake_endpoint`.
"""

from __future__ import annotations

import boto3
import pytest

from ragline.adapters.aws.dynamodb_registry import DynamoDbRegistry
from ragline.adapters.aws.embeddings import BedrockEmbedder, SageMakerEmbedder
from ragline.adapters.aws.firehose_archive import FirehoseArchive
from ragline.adapters.aws.generation import BedrockConverseGenerator, SageMakerLLMGenerator
from ragline.adapters.aws.opensearch_index import OpenSearchIndex
from ragline.adapters.aws.textract import TextractExtractor
from ragline.adapters.aws.tokens import ConservativeTokenCounter
from ragline.records import EmbeddingRecord
from tests import pdf_factory
from tests.aws.conftest import create_stack
from tests.aws.fake_endpoint import BedrockDouble
from tests.aws.fake_opensearch import FakeOpenSearch, fake_client
from tests.aws.textract_responses import analysis_blocks, pages_from_pdf
from tests.contracts.archive_contract import ArchiveContract
from tests.contracts.embedder_contract import EmbedderContract
from tests.contracts.extractor_contract import ExtractorContract
from tests.contracts.generator_contract import GeneratorContract
from tests.contracts.index_contract import DIMENSION, IndexContract, MovingIndexContract
from tests.contracts.registry_contract import RegistryContract


class TestOpenSearchIndex(IndexContract, MovingIndexContract):
    @pytest.fixture
    def index(self):
        index = OpenSearchIndex(fake_client(FakeOpenSearch()), "chunks", dimension=DIMENSION)
        index.ensure_index()
        return index


class TestOpenSearchIndexInnerProduct(IndexContract):
    """faiss/lucene inner product scores are translated back to the same cosine."""

    @pytest.fixture
    def index(self):
        index = OpenSearchIndex(fake_client(FakeOpenSearch()), "chunks", dimension=DIMENSION, space_type="innerproduct")
        index.ensure_index()
        return index


def _registry_table(dynamodb, *, with_document_index: bool) -> None:
    attributes = [{"AttributeName": "source", "AttributeType": "S"}]
    extra = {}
    if with_document_index:
        attributes.append({"AttributeName": "document_id", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by-document-id",
                "KeySchema": [{"AttributeName": "document_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    dynamodb.create_table(
        TableName="registry",
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


class TestDynamoDbRegistry(RegistryContract):
    @pytest.fixture
    def registry(self, aws):
        dynamodb = boto3.client("dynamodb")
        _registry_table(dynamodb, with_document_index=False)
        return DynamoDbRegistry(dynamodb, "registry")


class TestDynamoDbRegistryWithDocumentIndex(RegistryContract):
    @pytest.fixture
    def registry(self, aws):
        dynamodb = boto3.client("dynamodb")
        _registry_table(dynamodb, with_document_index=True)
        return DynamoDbRegistry(dynamodb, "registry", document_index="by-document-id")


class TestFirehoseArchive(ArchiveContract):
    @pytest.fixture
    def stack(self, aws):
        return create_stack()

    @pytest.fixture
    def archive(self, stack):
        return FirehoseArchive(
            boto3.client("firehose"), embedding_stream="ragline-embeddings", prompt_stream="ragline-prompts"
        )

    @pytest.fixture
    def read_back(self, stack):
        def read(prefix: str):
            return [EmbeddingRecord.from_json(_json_line(line)) for line in stack.archive_records(prefix)]

        return read


def _json_line(record: dict) -> str:
    import json

    return json.dumps(record)


class TestSageMakerEmbedderTei(EmbedderContract):
    @pytest.fixture
    def embedder(self, aws, endpoint, token_counter):
        runtime = boto3.client("sagemaker-runtime")
        return SageMakerEmbedder(runtime, "embedder", tokens=token_counter, payload_format="tei", batch_size=16)


class TestSageMakerEmbedderJumpStart(EmbedderContract):
    @pytest.fixture
    def embedder(self, aws, endpoint, token_counter):
        runtime = boto3.client("sagemaker-runtime")
        return SageMakerEmbedder(runtime, "embedder", tokens=token_counter, payload_format="jumpstart", dimension=384)


class TestSageMakerEmbedderHfSentenceEmbeddings(EmbedderContract):
    @pytest.fixture
    def embedder(self, aws, endpoint, token_counter):
        runtime = boto3.client("sagemaker-runtime")
        return SageMakerEmbedder(runtime, "embedder", tokens=token_counter, payload_format="hf-sentence-embeddings")


class TestBedrockTitanEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, endpoint):
        runtime = boto3.client("bedrock-runtime")
        BedrockDouble(endpoint).attach(runtime)
        tokens = ConservativeTokenCounter(8192)
        return BedrockEmbedder(runtime, "amazon.titan-embed-text-v2:0", tokens=tokens, dimension=384)


class TestBedrockCohereEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, endpoint):
        runtime = boto3.client("bedrock-runtime")
        BedrockDouble(endpoint).attach(runtime)
        return BedrockEmbedder(runtime, "cohere.embed-english-v3", tokens=ConservativeTokenCounter(512))


class TestTextractExtractor(ExtractorContract):
    @pytest.fixture
    def report(self, tmp_path):
        return pdf_factory.write_report_pdf(tmp_path, pages=4)

    @pytest.fixture
    def extractor(self, aws, textract, report):
        blocks = analysis_blocks(pages_from_pdf(report.path.read_bytes(), pdf_factory.REPORT_TABLE))
        textract.plan("*", blocks, pages=4)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="staging")
        return TextractExtractor(boto3.client("textract"), s3=s3, staging_bucket="staging", poll_seconds=0.01)


class TestBedrockConverse(GeneratorContract):
    @pytest.fixture
    def generator(self, endpoint):
        runtime = boto3.client("bedrock-runtime")
        BedrockDouble(endpoint).attach(runtime)
        return BedrockConverseGenerator(runtime, "anthropic.claude-3-haiku-20240307-v1:0")


class TestSageMakerLLM(GeneratorContract):
    @pytest.fixture
    def generator(self, aws, endpoint):
        return SageMakerLLMGenerator(boto3.client("sagemaker-runtime"), "generator", payload_format="messages")
