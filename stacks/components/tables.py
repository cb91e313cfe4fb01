"""DynamoDB tables: the document registry (with its document-id index), conversations, drift results and
distances."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from ragline.adapters.aws.dynamodb_conversations import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

S = dynamodb.AttributeType.STRING
N = dynamodb.AttributeType.NUMBER

# The registry's GSI on `document_id`: the ingestion Lambdas look up "is this content already
# indexed under another source?" with a Query on it instead of scanning the whole table.
REGISTRY_DOCUMENT_INDEX = "document_id-index"


class Tables(Construct):
    """Key schemas are part of the runtime contract (README.md, "Deploy to AWS", "Runtime contract")."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self._removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        # One row per source (s3://bucket/key): state, document id (content hash), counts, reason.
        self.registry = self._table("Registry", partition="source")
        # Projects every attribute: the runtime reads the whole status (state, source) from the index.
        self.registry.add_global_secondary_index(
            index_name=REGISTRY_DOCUMENT_INDEX,
            partition_key=dynamodb.Attribute(name="document_id", type=S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.registry_document_index = REGISTRY_DOCUMENT_INDEX
        # One item per conversation turn: the caller and conversation id, then the time the turn was asked
        # (ragline.adapters.aws.dynamodb_conversations). DynamoDB's TTL removes each turn when its
        # epoch-seconds attribute passes, so idle conversations go without a job to delete them.
        self.conversations = self._table(
            "Conversations", partition=PARTITION_KEY, sort=SORT_KEY, sort_type=N, time_to_live=TTL_ATTRIBUTE
        )
        # Drift: one row per run (BASELINE or SNAPSHOT) and one row per centroid of a run,
        # for chunk embeddings and, separately, for prompt embeddings.
        self.document_drift_runs = self._table("DocumentDriftRuns", partition="run_id")
        self.document_drift_centroids = self._table("DocumentDriftCentroids", partition="run_id", sort="cluster")
        self.prompt_drift_runs = self._table("PromptDriftRuns", partition="run_id")
        self.prompt_drift_centroids = self._table("PromptDriftCentroids", partition="run_id", sort="cluster")
        # Prompt-to-reference distance statistics, one row per run of the distance job.
        self.distance_results = self._table("DistanceResults", partition="run_id")
        # (centroid rows: run_id + cluster number, as ragline.drift.baseline.Baseline.centroid_rows writes them)

    @property
    def registry_index_arn(self) -> str:
        """The ARN of the registry's document-id index, for a Query grant scoped to it."""
        return f"{self.registry.table_arn}/index/{self.registry_document_index}"

    def _table(
        self,
        name: str,
        *,
        partition: str,
        sort: str | None = None,
        sort_type: dynamodb.AttributeType | None = None,
        time_to_live: str | None = None,
    ) -> dynamodb.Table:
        # Table, not TableV2: TableV2's customer-managed key needs a concrete region at synth.
        sort_type = sort_type or (N if sort == "cluster" else S)
        return dynamodb.Table(
            self,
            name,
            partition_key=dynamodb.Attribute(name=partition, type=S),
            sort_key=dynamodb.Attribute(name=sort, type=sort_type) if sort else None,
            time_to_live_attribute=time_to_live,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self._removal is RemovalPolicy.RETAIN,
            removal_policy=self._removal,
        )
