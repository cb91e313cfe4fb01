"""The composition root: the one place that turns `Settings` into working services.

Each port has a table of adapter factories keyed by the backend name in the settings. AWS
adapters register themselves in the same tables (see `ragline.aws`), so no other module ever
asks "which backend is this?".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragline.archive.local import LocalArchive, NullArchive
from ragline.chunking import Chunker
from ragline.config import Settings
from ragline.embedding.local import MiniLMOnnxEmbedder, packaged_model_dir
from ragline.errors import ConfigurationError
from ragline.filters import SearchFilter
from ragline.generation.extractive import ExtractiveAnswerer
from ragline.ingest import IngestReport, IngestService, ProgressCallback
from ragline.metrics import LoggingMetrics
from ragline.model import Answer, DocumentStatus
from ragline.ports import ArchiveSink, Embedder, Extractor, Generator, Index, Metrics, Registry, TokenCounter
from ragline.query import QueryService, Retrieved
from ragline.registry.sqlite import SqliteRegistry
from ragline.retrieval import Retriever

EmbedderFactory = Callable[[Settings], Embedder]
IndexFactory = Callable[[Settings, int], Index]
RegistryFactory = Callable[[Settings], Registry]
ArchiveFactory = Callable[[Settings], ArchiveSink]
GeneratorFactory = Callable[[Settings, Embedder], Generator]
ExtractorFactory = Callable[[Settings], Extractor]
MetricsFactory = Callable[[Settings], Metrics]


def _local_embedder(settings: Settings) -> Embedder:
    embedding = settings.embedding
    return MiniLMOnnxEmbedder(
        embedding.model_dir or packaged_model_dir(),
        embedding.onnx_cache_dir,
        batch_size=embedding.batch_size,
        threads=embedding.threads,
        precision=embedding.precision,
    )


def _openai_generator(settings: Settings, _: Embedder) -> Generator:
    from ragline.generation.openai_compatible import OpenAICompatibleGenerator  # httpx: only when chosen

    generation = settings.generation
    if generation.openai_base_url is None:
        raise ConfigurationError("generation.backend is 'openai' but generation.openai_base_url is not set")
    return OpenAICompatibleGenerator(
        str(generation.openai_base_url),
        generation.openai_model,
        api_key=generation.openai_api_key,
        timeout_seconds=generation.timeout_seconds,
    )


def _sqlite_index(settings: Settings, dimension: int) -> Index:
    from ragline.index.sqlite import SqliteIndex  # simsimd: not shipped to the Lambdas

    return SqliteIndex(settings.index_path, dimension=dimension)


def _local_extractor(settings: Settings) -> Extractor:
    from ragline.extraction.local import LocalExtractor  # pypdfium2: not shipped to the Lambdas

    return LocalExtractor()


def _aws(name: str) -> Callable:
    """An AWS adapter factory of `ragline.aws.factories`, imported on first use: the embedded mode never loads boto3."""

    def factory(*args: object) -> object:
        from ragline.aws import factories

        return getattr(factories, name)(*args)

    return factory


EMBEDDERS: dict[str, EmbedderFactory] = {
    "local": _local_embedder,
    "sagemaker": _aws("sagemaker_embedder"),
    "bedrock": _aws("bedrock_embedder"),
}
INDEXES: dict[str, IndexFactory] = {
    "sqlite": _sqlite_index,
    "opensearch": _aws("opensearch_index"),
}
REGISTRIES: dict[str, RegistryFactory] = {
    "sqlite": lambda settings: SqliteRegistry(settings.registry_path),
    "dynamodb": _aws("dynamodb_registry"),
}
ARCHIVES: dict[str, ArchiveFactory] = {
    "local": lambda settings: LocalArchive(settings.archive_dir),
    "none": lambda settings: NullArchive(),
    "firehose": _aws("firehose_archive"),
}
GENERATORS: dict[str, GeneratorFactory] = {
    "extractive": lambda settings, embedder: ExtractiveAnswerer(
        embedder, max_sentences=settings.generation.max_sentences
    ),
    "openai": _openai_generator,
    "bedrock": _aws("bedrock_generator"),
    "sagemaker": _aws("sagemaker_generator"),
}
EXTRACTORS: dict[str, ExtractorFactory] = {
    "local": _local_extractor,
    "textract": _aws("textract_extractor"),
}
METRICS: dict[str, MetricsFactory] = {"log": lambda settings: LoggingMetrics(), "emf": _aws("emf_metrics")}

# The registry backend follows the index: local index, local registry.
REGISTRY_FOR_INDEX = {"sqlite": "sqlite", "opensearch": "dynamodb"}


def _pick(table: dict[str, Callable], name: str, what: str) -> Callable:
    try:
        return table[name]
    except KeyError:
        raise ConfigurationError(f"{what} backend {name!r} is unknown; expected one of {sorted(table)}") from None


def token_counter_for(embedder: Embedder) -> TokenCounter:
    tokens = getattr(embedder, "tokens", None)
    if tokens is None:
        raise ConfigurationError(f"the embedder {embedder.model_name} exposes no tokenizer to size chunks with")
    return tokens


@dataclass
class Engine:
    """Everything a CLI command, an HTTP route or a notebook cell needs, built once."""

    settings: Settings
    embedder: Embedder
    index: Index
    registry: Registry
    ingestion: IngestService
    queries: QueryService
    closers: list[Callable[[], None]] = field(default_factory=list)

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        sync: bool = False,
        tags: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        return self.ingestion.ingest([Path(path) for path in paths], sync=sync, tags=tags, on_progress=on_progress)

    def ask(
        self, question: str, *, k: int | None = None, mode: str | None = None, where: SearchFilter | None = None
    ) -> Answer:
        return self.queries.ask(self.queries.question(question, k=k, mode=mode, where=where))

    def search(
        self, question: str, *, k: int | None = None, mode: str | None = None, where: SearchFilter | None = None
    ) -> Retrieved:
        return self.queries.search(self.queries.question(question, k=k, mode=mode, where=where))

    def status(self) -> list[DocumentStatus]:
        return self.registry.all()

    def delete(self, source: str) -> int:
        return self.ingestion.delete(source)

    def close(self) -> None:
        for close in self.closers:
            close()


def build_engine(settings: Settings, *, embedder: Embedder | None = None, generator: Generator | None = None) -> Engine:
    """Build every service from `settings`; tests and notebooks may inject an embedder or generator."""
    embedder = embedder or _pick(EMBEDDERS, settings.embedding.backend, "embedding")(settings)
    index = _pick(INDEXES, settings.index.backend, "index")(settings, embedder.dimension)
    registry_backend = REGISTRY_FOR_INDEX.get(settings.index.backend, settings.index.backend)
    registry = _pick(REGISTRIES, registry_backend, "registry")(settings)
    archive = _pick(ARCHIVES, settings.archive.backend, "archive")(settings)
    generator = generator or _pick(GENERATORS, settings.generation.backend, "generation")(settings, embedder)
    extractor = _pick(EXTRACTORS, settings.extraction.backend, "extraction")(settings)
    metrics = _pick(METRICS, settings.metrics.backend, "metrics")(settings)
    chunking = settings.chunking
    chunker = Chunker(
        token_counter_for(embedder),
        max_tokens=chunking.max_tokens,
        overlap_tokens=chunking.overlap_tokens,
        contextual_header=chunking.contextual_header,
    )
    ingestion = IngestService(
        extractor=extractor, chunker=chunker, embedder=embedder, index=index, registry=registry, archive=archive
    )
    queries = QueryService(
        embedder=embedder,
        retriever=Retriever(index, settings.retrieval),
        generator=generator,
        archive=archive,
        metrics=metrics,
        retrieval=settings.retrieval,
        generation=settings.generation,
        max_question_chars=settings.max_question_chars,
    )
    closers = [close for close in (getattr(index, "close", None), getattr(registry, "close", None)) if close]
    return Engine(settings, embedder, index, registry, ingestion, queries, closers)
