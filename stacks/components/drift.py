"""Embedding drift and prompt distance: the two Glue 5.0 PySpark jobs and their schedules.

- `embedding-drift-analysis` (`--job_type BASELINE|SNAPSHOT --kind chunk|prompt`): clusters
  the archived embeddings of that kind under `--data_path`; one row per run in `--out_table`,
  one per centroid in `--centroid_table`. Scheduled as SNAPSHOT for the chunk embeddings and,
  with `--kind prompt` and the prompt tables, path and baseline, for the prompt embeddings.
  Run each once as BASELINE (same arguments, `--job_type BASELINE`) after the first ingestion
  and the first questions.
- `embedding-distance-analysis` (`--job_type DISTANCE`): assigns each archived prompt
  (`--prompt_path`) to its nearest baseline centroid (`--centroid_table`), writes the run's
  statistics to `--out_table` and per-prompt distances under `--distance_path`.
Both publish their drift metrics to CloudWatch namespace `rag` (alarmed in Monitoring).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ragline.records import RecordKind
from stacks import bundling, nag
from stacks.components.function import METRICS_NAMESPACE
from stacks.components.storage import (
    DRIFT_BASELINE_PREFIX,
    EMBEDDING_ARCHIVE_PREFIX,
    PROMPT_ARCHIVE_PREFIX,
    PROMPT_DISTANCE_PREFIX,
)
from stacks.config import RaglineConfig

DRIFT_JOB_NAME = "embedding-drift-analysis"
DISTANCE_JOB_NAME = "embedding-distance-analysis"
DRIFT_SCRIPT = "embedding_drift_analysis.py"
DISTANCE_SCRIPT = "embedding_distance_analysis.py"
DEFAULT_SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "glue_jobs"


class DriftJobs(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        archive_bucket: s3.IBucket,
        key: kms.IKey,
        document_runs: dynamodb.ITable,
        document_centroids: dynamodb.ITable,
        prompt_runs: dynamodb.ITable,
        prompt_centroids: dynamodb.ITable,
        distance_results: dynamodb.ITable,
        scripts_dir: Path = DEFAULT_SCRIPTS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        bucket = archive_bucket.bucket_name
        self.paths = {
            "data": f"s3://{bucket}/{EMBEDDING_ARCHIVE_PREFIX}",
            "prompt": f"s3://{bucket}/{PROMPT_ARCHIVE_PREFIX}",
            "distance": f"s3://{bucket}/{PROMPT_DISTANCE_PREFIX}",
            # One baseline per kind of embedding; the distance job measures prompts against the documents'.
            "document_baseline": f"s3://{bucket}/{DRIFT_BASELINE_PREFIX}documents",
            "prompt_baseline": f"s3://{bucket}/{DRIFT_BASELINE_PREFIX}prompts",
        }
        for name in (DRIFT_SCRIPT, DISTANCE_SCRIPT):
            if not (scripts_dir / name).is_file():
                raise FileNotFoundError(
                    f"Glue script {scripts_dir / name} is missing (glue_jobs/ is part of the deployment)"
                )
        # The scripts are thin: the drift statistics are the `ragline.drift` package, shipped as a zip.
        package = glue.Code.from_asset(str(bundling.package_zip()))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description="ragline drift and distance Glue jobs",
        )
        self._grant(
            archive_bucket, key, [document_runs, document_centroids, prompt_runs, prompt_centroids, distance_results]
        )
        security = glue.SecurityConfiguration(
            self,
            "Security",
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
            s3_encryption=glue.S3Encryption.kms(key),
        )
        common = {
            "glue_version": glue.GlueVersion.V5_0,
            "role": self.role,
            "worker_configuration": glue.WorkerConfiguration(worker_type=glue.WorkerType.G_1X, number_of_workers=2),
            "max_concurrent_runs": 3,  # documents, prompts and a manual BASELINE may overlap
            "timeout": Duration.hours(2),
            "security_configuration": security,
            "enable_metrics": True,
            "continuous_logging": glue.ContinuousLoggingProps(enabled=True),
            "extra_python_files": [package],
        }
        self.drift_job = glue.PySparkEtlJob(
            self,
            "DriftJob",
            job_name=DRIFT_JOB_NAME,
            description="Embedding drift: PCA + k-means of archived embeddings, BASELINE or SNAPSHOT",
            script=glue.Code.from_asset(str(scripts_dir / DRIFT_SCRIPT)),
            default_arguments={
                "--job_type": "SNAPSHOT",
                "--kind": RecordKind.CHUNK.value,
                "--out_table": document_runs.table_name,
                "--centroid_table": document_centroids.table_name,
                "--data_path": self.paths["data"],
                "--baseline_path": self.paths["document_baseline"],
            },
            **common,
        )
        self.distance_job = glue.PySparkEtlJob(
            self,
            "DistanceJob",
            job_name=DISTANCE_JOB_NAME,
            description="Prompt distance to the nearest baseline centroid of the document embeddings",
            script=glue.Code.from_asset(str(scripts_dir / DISTANCE_SCRIPT)),
            default_arguments={
                "--job_type": "DISTANCE",
                "--out_table": distance_results.table_name,
                "--centroid_table": document_centroids.table_name,
                "--prompt_path": self.paths["prompt"],
                "--distance_path": self.paths["distance"],
                "--baseline_path": self.paths["document_baseline"],
            },
            **common,
        )
        nag.acknowledge(
            self.role,
            "IAM5",
            "Glue reads each job's script from the CDK asset bucket (Code.from_asset grants "
            "s3:GetObject*/GetBucket*/List* on that bucket's objects); the role has no other use of it.",
            findings=[
                "Action::s3:GetObject*",
                "Action::s3:GetBucket*",
                "Action::s3:List*",
                "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
            ],
        )
        nag.acknowledge_resources(
            self.role,
            "Drift jobs read every archived record under embeddingarchive/ and promptarchive/ "
            "(date-partitioned keys written by Firehose) and read and replace their own output under "
            "promptdistance/ and their baselines under driftbaseline/.",
            resources=[
                archive_bucket.arn_for_objects(f"{prefix}*")
                for prefix in (
                    EMBEDDING_ARCHIVE_PREFIX,
                    PROMPT_ARCHIVE_PREFIX,
                    PROMPT_DISTANCE_PREFIX,
                    DRIFT_BASELINE_PREFIX,
                )
            ],
        )
        self._schedule("DocumentDriftSchedule", config.drift_schedule, DRIFT_JOB_NAME, None)
        self._schedule(
            "PromptDriftSchedule",
            config.drift_schedule,
            DRIFT_JOB_NAME,
            {
                "--job_type": "SNAPSHOT",
                "--kind": RecordKind.PROMPT.value,  # the job's default reads chunks
                "--out_table": prompt_runs.table_name,
                "--centroid_table": prompt_centroids.table_name,
                "--data_path": self.paths["prompt"],
                "--baseline_path": self.paths["prompt_baseline"],
            },
        )
        self._schedule("DistanceSchedule", config.distance_schedule, DISTANCE_JOB_NAME, None)

    def _schedule(self, name: str, expression: str, job_name: str, arguments: dict[str, str] | None) -> None:
        trigger = glue.CfnTrigger(
            self,
            name,
            type="SCHEDULED",
            schedule=expression,
            start_on_creation=True,
            description=f"ragline: {job_name} on {expression}",
            actions=[glue.CfnTrigger.ActionProperty(job_name=job_name, arguments=arguments)],
        )
        trigger.node.add_dependency(self.drift_job, self.distance_job)

    def _grant(self, bucket: s3.IBucket, key: kms.IKey, tables: list[dynamodb.ITable]) -> None:
        read_prefixes = [EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, PROMPT_DISTANCE_PREFIX, DRIFT_BASELINE_PREFIX]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in read_prefixes]}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in read_prefixes]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject"],  # Spark replaces its output files
                resources=[
                    bucket.arn_for_objects(f"{prefix}*") for prefix in (PROMPT_DISTANCE_PREFIX, DRIFT_BASELINE_PREFIX)
                ],
            )
        )
        key.grant(self.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        for table in tables:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "dynamodb:BatchWriteItem",
                        "dynamodb:PutItem",
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:Scan",
                        "dynamodb:DescribeTable",
                    ],
                    resources=[table.table_arn],
                )
            )
        # Glue writes job logs (encrypted by the security configuration) under /aws-glue/.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
                resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws-glue/*"],
            )
        )
        # PutMetricData has no resource-level permissions; the namespace condition scopes it.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": [METRICS_NAMESPACE, "Glue"]}},
            )
        )
        nag.acknowledge(
            self.role,
            "IAM5",
            "Glue writes each job run's logs to log groups it names under /aws-glue/ at run time, and "
            "cloudwatch:PutMetricData has no resource-level permissions (its cloudwatch:namespace "
            "condition limits the drift jobs to the 'rag' and 'Glue' namespaces).",
            findings=[
                "Resource::*",
                "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*",
            ],
        )
