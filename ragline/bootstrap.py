"""The composition root: the one place that turns `Settings` into working services.

Each port has a table of adapter factories keyed by the backend name in the settings; the AWS
factories live in `ragline.adapters.aws.factories` and are imported only when a setting names
them, so the embedded mode never loads boto3.

`Services` builds each adapter on first use, once. An entry point therefore builds only the
ports its use case touches: the query function never builds an extractor, the delete function
never loads an embedding model. In the AWS world (`Services(settings, world=World.AWS)`), a
port whose backend variable is unset, or names a backend that does not run on AWS, is a
start-up error naming the variable, never a silent fall-back to the laptop's adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from ragline.adapters.local.archive import LocalArchive, NullArchive
from ragline.chunking import Chunker
from ragline.config import Settings
from ragline.conversation import ContextRewriter, ConversationAnswer, Conversations, LlmRewriter
from ragline.errors import ConfigurationError
from ragline.filters import SearchFilter
from ragline.ingest import IngestReport, IngestService, ProgressCallback
from ragline.metrics import LoggingMetrics
from ragline.model import Answer, DocumentStatus
from ragline.ports import (
    ArchiveSink,
    ConversationStore,
    Embedder,
    Extractor,
    Generator,
    Index,
    Metrics,
    QuestionRewriter,
    Registry,
    TokenCounter,
)
from ragline.query import QueryService, Retrieved
from ragline.retrieval import Retriever
from ragline.windows import PageReader, VersionedIndex, VersionLedger, WindowedIndexing, WindowQueue


class World(StrEnum):
    LOCAL = "local"  # a laptop: every default is an embedded adapter
    AWS = "aws"  # a Lambda or Glue job: every backend must be named, and be one that runs there


def _local_embedder(settings: Settings) -> Embedder:
    from ragline.adapters.local.embedding import MiniLMOnnxEmbedder, packaged_model_dir

    embedding = settings.embedding
    return MiniLMOnnxEmbedder(
        embedding.model_dir or packaged_model_dir(),
        embedding.onnx_cache_dir,
        threads=embedding.threads,
        precision=_local_precision(settings),
    )


def _local_precision(settings: Settings) -> str:
    """The local model's precision: the setting's, or for `auto` the one the local index already holds, else the
    machine's best (`resolve_precision`). Asked of the index file, so that an index keeps working on any machine
    without a word of configuration: one made at bf16 is searched at bf16 (refused by name on a CPU without it)."""
    from ragline.adapters.local.embedding import AUTO, resolve_precision

    precision = settings.embedding.precision
    if precision != AUTO:
        return precision
    held = None
    if settings.index.backend == "sqlite":
        from ragline.adapters.local.index.sqlite import SqliteIndex

        held = SqliteIndex.held_model(settings.index_path)
    return resolve_precision(AUTO, held_model=held, model_dir=settings.embedding.model_dir)


def _openai_generator(settings: Settings, _: Callable[[], Embedder]) -> Generator:
    from ragline.adapters.local.openai_compatible import OpenAICompatibleGenerator  # httpx: only when chosen

    generation = settings.generation
    if generation.openai_base_url is None:
        raise ConfigurationError("generation.backend is 'openai' but generation.openai_base_url is not set")
    return OpenAICompatibleGenerator(
        str(generation.openai_base_url),
        generation.openai_model,
        api_key=generation.openai_api_key,
        timeout_seconds=generation.timeout_seconds,
    )


def _extractive_generator(settings: Settings, embedder: Callable[[], Embedder]) -> Generator:
    from ragline.adapters.local.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(embedder(), max_sentences=settings.generation.max_sentences)


def _sqlite_index(
    settings: Settings, dimension: Callable[[], int], _registry: Callable[[], Registry], model: Callable[[], str]
) -> Index:
    from ragline.adapters.local.index.sqlite import SqliteIndex  # simsimd: not shipped to the Lambdas

    return SqliteIndex(settings.index_path, dimension=dimension(), model=model())


def _sqlite_registry(settings: Settings) -> Registry:
    from ragline.adapters.local.registry import SqliteRegistry

    # In the index's database: one transaction writes a document's chunks and its row (SqliteIndex.apply).
    return SqliteRegistry(settings.index_path, legacy=settings.registry_path)


def _sqlite_conversations(settings: Settings) -> ConversationStore:
    from ragline.adapters.local.conversations import SqliteConversationStore

    # In the index's database, as the registry is: the laptop's whole state in one file.
    conversation = settings.conversation
    return SqliteConversationStore(
        settings.index_path,
        max_turns=conversation.max_turns,
        max_tokens=conversation.max_tokens,
        ttl_days=conversation.ttl_days,
    )


def _dynamodb_conversations(settings: Settings) -> ConversationStore:
    from ragline.adapters.aws.dynamodb_conversations import dynamodb_conversations  # boto3: only when chosen

    return dynamodb_conversations(settings)


def _local_extractor(settings: Settings) -> Extractor:
    from ragline.adapters.local.extraction import LocalExtractor  # pypdfium2: not shipped to the Lambdas

    return LocalExtractor()


def _aws(name: str) -> Callable:
    """An AWS adapter factory of `ragline.adapters.aws.factories`, imported on first use."""

    def factory(*args: object) -> object:
        from ragline.adapters.aws import factories

        return getattr(factories, name)(*args)

    return factory


# Per port: backend name -> (factory, the worlds it runs in).
LOCAL, AWS, BOTH = frozenset({World.LOCAL}), frozenset({World.AWS}), frozenset(World)
EMBEDDERS: dict[str, tuple[Callable, frozenset]] = {
    "local": (_local_embedder, LOCAL),
    "sagemaker": (_aws("sagemaker_embedder"), BOTH),
    "bedrock": (_aws("bedrock_embedder"), BOTH),
}
INDEXES: dict[str, tuple[Callable, frozenset]] = {
    "sqlite": (_sqlite_index, LOCAL),
    "opensearch": (_aws("opensearch_index"), BOTH),
}
REGISTRIES: dict[str, tuple[Callable, frozenset]] = {
    "sqlite": (_sqlite_registry, LOCAL),
    "dynamodb": (_aws("dynamodb_registry"), BOTH),
}
ARCHIVES: dict[str, tuple[Callable, frozenset]] = {
    "local": (lambda settings: LocalArchive(settings.archive_dir), LOCAL),
    "none": (lambda settings: NullArchive(), BOTH),
    "firehose": (_aws("firehose_archive"), BOTH),
}
GENERATORS: dict[str, tuple[Callable, frozenset]] = {
    "extractive": (_extractive_generator, BOTH),
    "openai": (_openai_generator, LOCAL),
    "bedrock": (_aws("bedrock_generator"), BOTH),
    "sagemaker": (_aws("sagemaker_generator"), BOTH),
}
EXTRACTORS: dict[str, tuple[Callable, frozenset]] = {
    "local": (_local_extractor, LOCAL),
    "textract": (_aws("textract_extractor"), BOTH),
}
METRICS: dict[str, tuple[Callable, frozenset]] = {
    "log": (lambda settings: LoggingMetrics(), BOTH),
    "emf": (_aws("emf_metrics"), BOTH),
}

# The registry backend follows the index: local index, local registry.
REGISTRY_FOR_INDEX = {"sqlite": "sqlite", "opensearch": "dynamodb"}
# So does the conversation store: SQLite beside the local index, DynamoDB (with a TTL) beside OpenSearch.
CONVERSATION_STORES: dict[str, Callable[[Settings], ConversationStore]] = {
    "sqlite": _sqlite_conversations,
    "opensearch": _dynamodb_conversations,
}


def backend_variable(section: str) -> str:
    """The environment variable that names a port's backend, e.g. RAGLINE_EMBEDDING__BACKEND."""
    return f"RAGLINE_{section.upper()}__BACKEND"


def pick_backend(settings: Settings, section: str, table: dict[str, tuple[Callable, frozenset]], world: World):
    """The factory for `section`'s backend; an unknown, unset (on AWS) or out-of-world backend names its variable."""
    variable = backend_variable(section)
    part = getattr(settings, section)
    name = part.backend
    if world is World.AWS and not _explicitly_set(settings, section):
        raise ConfigurationError(
            f"{variable} is not set: on AWS every backend a function uses must be named "
            f"(one of {sorted(n for n, (_, worlds) in table.items() if world in worlds)})"
        )
    if name not in table:
        raise ConfigurationError(f"{variable}={name!r} is unknown; expected one of {sorted(table)}")
    factory, worlds = table[name]
    if world not in worlds:
        raise ConfigurationError(
            f"{variable}={name!r} does not run on {world.value}; expected one of "
            f"{sorted(n for n, (_, w) in table.items() if world in w)}"
        )
    return factory


def _explicitly_set(settings: Settings, section: str) -> bool:
    return section in settings.model_fields_set and "backend" in getattr(settings, section).model_fields_set


def token_counter_for(embedder: Embedder) -> TokenCounter:
    tokens = getattr(embedder, "tokens", None)
    if tokens is None:
        raise ConfigurationError(f"the embedder {embedder.model_name} exposes no tokenizer to size chunks with")
    return tokens


class Services:
    """Every adapter and service, each built from `settings` on first use and kept."""

    def __init__(
        self,
        settings: Settings,
        *,
        world: World = World.LOCAL,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self.world = world
        if embedder is not None:
            self.embedder = embedder
        if generator is not None:
            self.generator = generator

    def _factory(self, section: str, table: dict[str, tuple[Callable, frozenset]]) -> Callable:
        return pick_backend(self.settings, section, table, self.world)

    @cached_property
    def embedder(self) -> Embedder:
        return self._factory("embedding", EMBEDDERS)(self.settings)

    @cached_property
    def index(self) -> Index:
        # The vector size is declared on AWS (RAGLINE_EMBEDDING__DIMENSION): no embedder is built for it.
        # The registry is handed over lazily: on AWS its version ledger says which versions searches
        # exclude, and a function that never searches never builds it for that.
        return self._factory("index", INDEXES)(
            self.settings, self.embedding_dimension, lambda: self.registry, self.embedding_model
        )

    def embedding_dimension(self) -> int:
        return self.settings.embedding.dimension or self.embedder.dimension

    def embedding_model(self) -> str:
        """The name of the model (and precision) that embeds; the local model's follows from the settings, so that
        a function that never embeds (deleting, listing) builds no embedder to learn it."""
        if "embedder" not in self.__dict__ and self.settings.embedding.backend == "local":
            from ragline.adapters.local.embedding import local_model_name

            return local_model_name(_local_precision(self.settings), self.settings.embedding.model_dir)
        return self.embedder.model_name

    @cached_property
    def registry(self) -> Registry:
        index_backend = self.settings.index.backend
        name = REGISTRY_FOR_INDEX.get(index_backend, index_backend)
        if name not in REGISTRIES:
            raise ConfigurationError(f"{backend_variable('index')}={index_backend!r} has no registry")
        self._factory("index", INDEXES)  # the registry follows the index: the same checks apply
        return REGISTRIES[name][0](self.settings)

    @cached_property
    def conversation_store(self) -> ConversationStore:
        index_backend = self.settings.index.backend
        if index_backend not in CONVERSATION_STORES:
            raise ConfigurationError(
                f"{backend_variable('index')}={index_backend!r}: conversations are kept only beside the "
                f"indexes {sorted(CONVERSATION_STORES)}; ask without a session"
            )
        self._factory("index", INDEXES)  # the store follows the index: the same checks apply
        return CONVERSATION_STORES[index_backend](self.settings)

    @cached_property
    def rewriter(self) -> QuestionRewriter:
        """The configured LLM rewrites follow-ups when there is one; the extractive default, a deterministic rule."""
        backend = self.settings.generation.backend
        if backend == "extractive":
            return ContextRewriter()
        complete = getattr(self.generator, "complete", None)
        if complete is None:
            raise ConfigurationError(
                f"{backend_variable('generation')}={backend!r} cannot rewrite follow-ups "
                "(its generator has no complete(messages)); ask without a session"
            )
        return LlmRewriter(complete, model=self.generator.name, max_chars=self.settings.max_question_chars)

    @cached_property
    def conversations(self) -> Conversations:
        return self._conversations(self.conversation_store)

    def conversations_of(self, owner: str) -> Conversations:
        """Conversations that belong to `owner` (on AWS, the API caller's identity): another caller's id
        reads nothing of them. Only a store that keys conversations by their owner can serve it."""
        owned_by = getattr(self.conversation_store, "owned_by", None)
        if owned_by is None:
            raise ConfigurationError(
                f"{backend_variable('index')}={self.settings.index.backend!r}: its conversation store "
                "keeps no owners (one user's laptop); ask with conversations, not conversations_of"
            )
        return self._conversations(owned_by(owner))

    def _conversations(self, store: ConversationStore) -> Conversations:
        return Conversations(
            store=store,
            rewriter=self.rewriter,
            queries=self.queries,
            count_tokens=token_counter_for(self.embedder).count,
        )

    @cached_property
    def archive(self) -> ArchiveSink:
        return self._factory("archive", ARCHIVES)(self.settings)

    @cached_property
    def generator(self) -> Generator:
        return self._factory("generation", GENERATORS)(self.settings, lambda: self.embedder)

    @cached_property
    def extractor(self) -> Extractor:
        return self._factory("extraction", EXTRACTORS)(self.settings)

    @cached_property
    def metrics(self) -> Metrics:
        return self._factory("metrics", METRICS)(self.settings)

    @cached_property
    def chunker(self) -> Chunker:
        chunking = self.settings.chunking
        return Chunker(
            token_counter_for(self.embedder),
            max_tokens=chunking.max_tokens,
            overlap_tokens=chunking.overlap_tokens,
            contextual_header=chunking.contextual_header,
        )

    @cached_property
    def ingestion(self) -> IngestService:
        return IngestService(self)

    # --- windowed indexing of extracted documents (AWS: Textract's result, page windows over SQS)

    @cached_property
    def windowed(self) -> WindowedIndexing:
        return WindowedIndexing(self, window_pages=self.settings.windows.pages)

    @property
    def reader(self) -> PageReader:
        return self.extractor  # type: ignore[return-value]  # Textract's adapter reads page windows

    @property
    def versioned_index(self) -> VersionedIndex:
        return self.index  # type: ignore[return-value]

    @property
    def ledger(self) -> VersionLedger:
        return self.registry  # type: ignore[return-value]

    @cached_property
    def window_queue(self) -> WindowQueue:
        from ragline.adapters.aws.factories import sqs_window_queue

        return sqs_window_queue(self.settings)

    @cached_property
    def queries(self) -> QueryService:
        settings = self.settings
        return QueryService(
            embedder=self.embedder,
            retriever=Retriever(self.index, settings.retrieval),
            generator=self.generator,
            archive=self.archive,
            metrics=self.metrics,
            retrieval=settings.retrieval,
            generation=settings.generation,
            max_question_chars=settings.max_question_chars,
        )

    def built(self) -> list[str]:
        """The names of the adapters and services built so far (what this entry point really used)."""
        return sorted(name for name in vars(self) if name not in ("settings", "world"))

    def close(self) -> None:
        for name in ("index", "registry", "conversation_store"):
            close = getattr(vars(self).get(name), "close", None)
            if close:
                close()


class Engine:
    """The laptop's facade over `Services`: what a CLI command, an HTTP route or a notebook cell calls."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def embedder(self) -> Embedder:
        return self.services.embedder

    @property
    def index(self) -> Index:
        return self.services.index

    @property
    def registry(self) -> Registry:
        return self.services.registry

    @property
    def ingestion(self) -> IngestService:
        return self.services.ingestion

    @property
    def queries(self) -> QueryService:
        return self.services.queries

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

    def converse(
        self,
        session: str,
        question: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        where: SearchFilter | None = None,
    ) -> ConversationAnswer:
        """Answer `question` as the next turn of conversation `session` (a new one when the id is unknown)."""
        return self.services.conversations.ask(session, self.queries.question(question, k=k, mode=mode, where=where))

    def search(
        self, question: str, *, k: int | None = None, mode: str | None = None, where: SearchFilter | None = None
    ) -> Retrieved:
        return self.queries.search(self.queries.question(question, k=k, mode=mode, where=where))

    def status(self) -> list[DocumentStatus]:
        return self.registry.all()

    def delete(self, source: str) -> int:
        return self.ingestion.delete(source)

    def close(self) -> None:
        self.services.close()


def build_engine(settings: Settings, *, embedder: Embedder | None = None, generator: Generator | None = None) -> Engine:
    """The laptop engine; its adapters are built when first used. Tests may inject an embedder or generator."""
    return Engine(Services(settings, embedder=embedder, generator=generator))
