"""The deployment's configuration: `cdk.json` / `-c key=value` context, parsed once, typed.

Every construct takes the pieces it needs from one `RaglineConfig`; nothing else reads context.
Context values given on the command line arrive as strings, so fields coerce ("2" -> 2,
"true" -> True, "a,b" -> ["a", "b"]). Unknown keys are ignored (the context also carries CDK
feature flags); a misspelt ragline key therefore falls back to its default, which is why
`README.md, "Deploy to AWS"` lists them all.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from constructs import Node
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# Dimensions of the default models, so the index mapping matches what the model returns.
MINILM_DIMENSION = 384  # sentence-transformers/all-MiniLM-L6-v2, what ragline uses locally
TITAN_V2_DIMENSIONS = (256, 512, 1024)


# The retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ModelMode(StrEnum):
    DEPLOY = "deploy"  # this app deploys the endpoint (embedding: serverless; LLM: real-time)
    EXISTING = "existing"  # endpoints someone already runs, by name (the original pattern)
    BEDROCK = "bedrock"  # Bedrock on-demand model ids: nothing runs while idle


class ApiAuth(StrEnum):
    IAM = "iam"
    COGNITO = "cognito"


class KnnEngine(StrEnum):
    LUCENE = "lucene"
    FAISS = "faiss"


class SpaceType(StrEnum):
    COSINE = "cosinesimil"
    INNER_PRODUCT = "innerproduct"
    L2 = "l2"


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], BeforeValidator(_split_list)]

_CRON_OR_RATE = r"^(cron|rate)\(.+\)$"
_ENDPOINT_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


class RaglineConfig(BaseModel):
    """All deployment settings. Field aliases are the context keys (camelCase, as in cdk.json)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    app_name: str = Field("ragline", alias="appName", pattern=r"^[a-z][a-z0-9-]{1,20}$")
    retain_data: bool = Field(True, alias="retainData")
    log_retention_days: int = Field(90, alias="logRetentionDays")  # one of LOG_RETENTION_DAYS

    # ---- network
    max_azs: int = Field(2, alias="maxAzs", ge=1, le=3)
    availability_zones: CommaList | None = Field(None, alias="availabilityZones")
    nat_gateways: int = Field(1, alias="natGateways", ge=1, le=3)

    # ---- embedding model
    embedding_mode: ModelMode = Field(ModelMode.DEPLOY, alias="embeddingMode")
    embeddings_model_endpoint_name: str | None = Field(
        None, alias="embeddingsModelEndpointName", pattern=_ENDPOINT_NAME
    )
    embedding_model_id: str = Field("amazon.titan-embed-text-v2:0", alias="embeddingModelId")
    embedding_dimension_override: int | None = Field(None, alias="embeddingDimension", ge=2, le=16000)
    embedding_hf_model_id: str = Field("sentence-transformers/all-MiniLM-L6-v2", alias="embeddingHfModelId")
    embedding_image: str | None = Field(None, alias="embeddingImage")
    embedding_serverless_memory_mb: int = Field(2048, alias="embeddingServerlessMemoryMb")
    embedding_serverless_max_concurrency: int = Field(5, alias="embeddingServerlessMaxConcurrency", ge=1, le=200)

    # ---- generation model (LLM)
    generation_mode: ModelMode = Field(ModelMode.BEDROCK, alias="generationMode")
    text_model_endpoint_name: str | None = Field(None, alias="textModelEndpointName", pattern=_ENDPOINT_NAME)
    generation_model_id: str = Field("anthropic.claude-3-haiku-20240307-v1:0", alias="generationModelId")
    generation_hf_model_id: str = Field("Qwen/Qwen2.5-7B-Instruct", alias="generationHfModelId")
    generation_image: str | None = Field(None, alias="generationImage")
    generation_instance_type: str = Field("ml.g5.2xlarge", alias="generationInstanceType")

    # ---- OpenSearch
    search_engine_version: str = Field("2.19", alias="searchEngineVersion", pattern=r"^\d+\.\d+$")
    search_instance_type: str = Field("t3.small.search", alias="searchInstanceType")
    search_instance_count: int = Field(1, alias="searchInstanceCount", ge=1, le=40)
    search_volume_gb: int = Field(10, alias="searchVolumeGb", ge=10, le=3000)
    search_master_instance_type: str | None = Field(None, alias="searchMasterInstanceType")
    search_master_count: int = Field(0, alias="searchMasterCount")
    index_name: str = Field("ragline-chunks", alias="indexName", pattern=r"^[a-z0-9][a-z0-9_-]{0,200}$")
    knn_engine: KnnEngine = Field(KnnEngine.LUCENE, alias="knnEngine")
    knn_space_type: SpaceType = Field(SpaceType.COSINE, alias="knnSpaceType")
    hnsw_m: int = Field(16, alias="hnswM", ge=2, le=100)
    hnsw_ef_construction: int = Field(128, alias="hnswEfConstruction", ge=2, le=4096)

    # ---- ingestion
    ingest_concurrency: int = Field(4, alias="ingestConcurrency", ge=2, le=1000)
    # Each ingest_start run starts up to 10 Textract jobs (its batch); StartDocumentAnalysis allows
    # about 10 a second by default, so an upload of thousands of PDFs must not fan out to hundreds of
    # runs that are throttled into the DLQ. 2 (SQS's minimum) keeps the calls near that quota.
    textract_start_concurrency: int = Field(2, alias="textractStartConcurrency", ge=2, le=1000)
    jump_host: bool = Field(True, alias="jumpHost")
    jump_host_instance_type: str = Field("t4g.nano", alias="jumpHostInstanceType")
    datasync_schedule: str = Field("cron(0 * * * ? *)", alias="dataSyncSchedule", pattern=_CRON_OR_RATE)

    # ---- query API
    api_auth: ApiAuth = Field(ApiAuth.IAM, alias="apiAuth")
    api_throttle_rate: float = Field(20, alias="apiThrottleRate", gt=0)
    api_throttle_burst: int = Field(40, alias="apiThrottleBurst", ge=1)

    # ---- chat UI on AWS (stacks/components/chat_ui.py): off unless asked for
    chat_ui: bool = Field(False, alias="chatUi")
    chat_ui_tasks: int = Field(1, alias="chatUiTasks", ge=1, le=10)
    # Both or neither: the UI's own domain name and its ACM certificate (CloudFront reads it in us-east-1).
    chat_ui_domain_name: str | None = Field(None, alias="chatUiDomainName", pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    chat_ui_certificate_arn: str | None = Field(None, alias="chatUiCertificateArn")

    # ---- drift and monitoring
    drift_schedule: str = Field("cron(0 4 * * ? *)", alias="driftSchedule", pattern=_CRON_OR_RATE)
    distance_schedule: str = Field("cron(30 5 * * ? *)", alias="distanceSchedule", pattern=_CRON_OR_RATE)
    # Same units and defaults as ragline.drift.snapshot.DriftThresholds: a centroid moving further
    # than its cluster's median radius; one prompt in twenty an outlier.
    centroid_shift_alarm_threshold: float = Field(1.0, alias="centroidShiftAlarmThreshold", gt=0)
    prompt_outlier_alarm_threshold: float = Field(0.05, alias="promptOutlierAlarmThreshold", gt=0, le=1)
    alarm_email: str | None = Field(None, alias="alarmEmail", pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _check_modes(self) -> Self:
        if self.embedding_mode is ModelMode.EXISTING:
            if not self.embeddings_model_endpoint_name:
                raise ValueError("embeddingMode=existing needs embeddingsModelEndpointName")
            if self.embedding_dimension_override is None:
                raise ValueError(
                    "embeddingMode=existing needs embeddingDimension: the index mapping must match "
                    "the dimension the endpoint returns (e.g. 4096 for GPT-J 6B)"
                )
        if self.generation_mode is ModelMode.EXISTING and not self.text_model_endpoint_name:
            raise ValueError("generationMode=existing needs textModelEndpointName")
        if (
            self.embedding_mode is ModelMode.BEDROCK
            and "titan-embed-text-v2" in self.embedding_model_id
            and self.embedding_dimension not in TITAN_V2_DIMENSIONS
        ):
            raise ValueError(f"Titan Text Embeddings V2 returns {TITAN_V2_DIMENSIONS} dimensions only")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}")
        if self.search_master_count not in (0, 3, 5):
            raise ValueError("searchMasterCount must be 0, 3 or 5")
        if self.search_master_count and not self.search_master_instance_type:
            raise ValueError("searchMasterCount needs searchMasterInstanceType")
        if self.knn_engine is KnnEngine.LUCENE and self.embedding_dimension > 16000:
            raise ValueError("the lucene engine supports at most 16,000 dimensions")
        self._check_chat_ui()
        return self

    def _check_chat_ui(self) -> None:
        if self.chat_ui and self.api_auth is not ApiAuth.COGNITO:
            raise ValueError(
                "chatUi=true needs apiAuth=cognito: the UI signs users in with the API's Cognito user pool "
                "and calls the API with their token"
            )
        if self.chat_ui and (reserved := [word for word in ("aws", "amazon", "cognito") if word in self.app_name]):
            raise ValueError(
                f"chatUi=true names the user pool's sign-in domain after appName={self.app_name!r}, which must not "
                f"contain {reserved[0]!r} (Cognito refuses such domain prefixes)"
            )
        if bool(self.chat_ui_domain_name) != bool(self.chat_ui_certificate_arn):
            raise ValueError("chatUiDomainName and chatUiCertificateArn go together: set both or neither")
        if self.chat_ui_certificate_arn and not re.match(
            r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$", self.chat_ui_certificate_arn
        ):
            raise ValueError(
                f"chatUiCertificateArn={self.chat_ui_certificate_arn!r} is not an ACM certificate ARN in "
                "us-east-1, the only region CloudFront reads certificates from"
            )

    # ---- derived values
    @property
    def embedding_dimension(self) -> int:
        if self.embedding_dimension_override is not None:
            return self.embedding_dimension_override
        if self.embedding_mode is ModelMode.BEDROCK:
            return 1024
        return MINILM_DIMENSION

    @property
    def search_zone_awareness(self) -> bool:
        return self.search_instance_count > 1

    @property
    def search_az_count(self) -> int:
        """How many AZs (and so private subnets) the domain spans: 1, 2 or 3."""
        if not self.search_zone_awareness:
            return 1
        azs = len(self.availability_zones) if self.availability_zones else self.max_azs
        return 3 if azs >= 3 and self.search_instance_count % 3 == 0 else 2

    @property
    def prefix(self) -> str:
        """Physical-name prefix for resources whose names users look for (jobs, dashboard)."""
        return self.app_name

    @property
    def pascal_name(self) -> str:
        return "".join(part.capitalize() for part in re.split(r"[-_]", self.app_name))

    @classmethod
    def from_context(cls, node: Node) -> RaglineConfig:
        values = {}
        for field in cls.model_fields.values():
            if field.alias is None:
                continue
            value = node.try_get_context(field.alias)
            if value is not None:
                values[field.alias] = value
        return cls.model_validate(values)
