"""Adapter factories for `ragline.bootstrap`'s tables: each builds its AWS client, then its adapter.

Imported only when a setting names an AWS backend, so the embedded mode never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable

from ragline.adapters.aws.clients import aws_client, opensearch_client
from ragline.config import EmbeddingSettings, Settings
from ragline.errors import ConfigurationError
from ragline.ports import ArchiveSink, Embedder, Extractor, Generator, Index, Metrics, Registry
from ragline.windows import WindowQueue


def _required(value: str | None, setting: str, backend: str) -> str:
    if not value:
        raise ConfigurationError(f"{setting} must be set for the {backend} backend")
    return value


def embedding_model_name(embedding: EmbeddingSettings, *, required: bool = True) -> str:
    """The name archive records and metrics carry for the configured embedding model ("" if not required)."""
    if embedding.model_name:
        return embedding.model_name
    if embedding.backend == "sagemaker" and embedding.endpoint_name:
        return f"sagemaker:{embedding.endpoint_name}"
    if embedding.backend == "bedrock" and embedding.model_id:
        return embedding.model_id
    if not required:
        return ""
    raise ConfigurationError(
        f"RAGLINE_EMBEDDING__MODEL_NAME is not set and the {embedding.backend!r} embedding backend names no model"
    )


def sagemaker_embedder(settings: Settings) -> Embedder:
    from ragline.adapters.aws.embeddings import SageMakerEmbedder
    from ragline.adapters.aws.tokens import token_counter_for

    embedding = settings.embedding
    return SageMakerEmbedder(
        aws_client("sagemaker-runtime", settings.aws),
        _required(embedding.endpoint_name, "embedding.endpoint_name", "sagemaker"),
        tokens=token_counter_for(embedding),
        payload_format=embedding.payload_format,
        model_name=embedding_model_name(embedding),
        dimension=embedding.dimension,
        batch_size=embedding.batch_size,
    )


def bedrock_embedder(settings: Settings) -> Embedder:
    from ragline.adapters.aws.embeddings import BedrockEmbedder
    from ragline.adapters.aws.tokens import token_counter_for

    embedding = settings.embedding
    return BedrockEmbedder(
        aws_client("bedrock-runtime", settings.aws),
        _required(embedding.model_id, "embedding.model_id", "bedrock"),
        tokens=token_counter_for(embedding),
        model_name=embedding_model_name(embedding),
        dimension=embedding.dimension,
    )


def opensearch_index(
    settings: Settings, dimension: Callable[[], int], registry: Callable[[], Registry], _model: Callable[[], str]
) -> Index:
    from ragline.adapters.aws.opensearch_index import OpenSearchIndex

    # The mapping fixes the vectors' dimension; the model is not recorded there (one deployment, one model).
    index = settings.index
    if "opensearch_index" not in index.model_fields_set:
        # A default name that happens to match a deployment's would hide a function that was never told
        # which index it serves: every deployment names it.
        raise ConfigurationError("RAGLINE_INDEX__OPENSEARCH_INDEX is not set: name the index this function serves")
    return OpenSearchIndex(
        opensearch_client(index, settings.aws),
        index.opensearch_index,
        dimension=dimension,  # asked only when needed: deleting chunks needs no vector size
        engine=index.opensearch_engine,
        space_type=index.opensearch_space_type,
        # Only chunks written carry the model: a function that reads or deletes needs no embedding settings.
        model_name=embedding_model_name(settings.embedding, required=False),
        hidden_versions=_hidden_versions(settings, registry),
    )


def _hidden_versions(settings: Settings, registry: Callable[[], Registry]) -> Callable[[], frozenset[str]]:
    """Versions searches exclude, from the registry's ledger (none when no registry is configured)."""
    if not settings.index.registry_table:
        return frozenset
    return lambda: registry().hidden()  # type: ignore[attr-defined]  # the DynamoDB registry is the ledger


def dynamodb_registry(settings: Settings) -> Registry:
    from ragline.adapters.aws.dynamodb_registry import DynamoDbRegistry

    table = _required(settings.index.registry_table, "index.registry_table", "dynamodb registry")
    return DynamoDbRegistry(
        aws_client("dynamodb", settings.aws), table, document_index=settings.index.registry_document_index
    )


def sqs_window_queue(settings: Settings) -> WindowQueue:
    from ragline.adapters.aws.sqs_window_queue import SqsWindowQueue

    url = _required(settings.windows.queue_url, "windows.queue_url", "windowed indexing")
    return SqsWindowQueue(aws_client("sqs", settings.aws), url)


def firehose_archive(settings: Settings) -> ArchiveSink:
    from ragline.adapters.aws.firehose_archive import FirehoseArchive

    archive = settings.archive
    return FirehoseArchive(
        aws_client("firehose", settings.aws),
        embedding_stream=archive.embedding_stream,
        prompt_stream=archive.prompt_stream,
    )


def bedrock_generator(settings: Settings, _: Callable[[], Embedder]) -> Generator:
    from ragline.adapters.aws.generation import BedrockConverseGenerator

    generation = settings.generation
    return BedrockConverseGenerator(
        aws_client("bedrock-runtime", settings.aws),
        _required(generation.model_id, "generation.model_id", "bedrock"),
        max_tokens=generation.max_new_tokens,
    )


def sagemaker_generator(settings: Settings, _: Callable[[], Embedder]) -> Generator:
    from ragline.adapters.aws.generation import SageMakerLLMGenerator

    generation = settings.generation
    return SageMakerLLMGenerator(
        aws_client("sagemaker-runtime", settings.aws),
        _required(generation.endpoint_name, "generation.endpoint_name", "sagemaker"),
        payload_format=generation.payload_format,
        max_tokens=generation.max_new_tokens,
    )


def textract_extractor(settings: Settings) -> Extractor:
    from ragline.adapters.aws.textract import TextractExtractor

    extraction = settings.extraction
    return TextractExtractor(
        aws_client("textract", settings.aws),
        s3=aws_client("s3", settings.aws) if extraction.staging_bucket or extraction.output_bucket else None,
        staging_bucket=extraction.staging_bucket,
        topic_arn=extraction.textract_topic_arn,
        role_arn=extraction.textract_role_arn,
        output_bucket=extraction.output_bucket,
        output_prefix=extraction.output_prefix,
        kms_key_id=extraction.kms_key_id,
        poll_seconds=extraction.poll_seconds,
    )


def emf_metrics(settings: Settings) -> Metrics:
    from ragline.adapters.aws.emf_metrics import EmfMetrics

    return EmfMetrics(
        model=embedding_model_name(settings.embedding),
        index=settings.index.opensearch_index if settings.index.backend == "opensearch" else settings.index.backend,
        namespace=settings.metrics.namespace,
    )
