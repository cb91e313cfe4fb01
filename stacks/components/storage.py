"""Buckets: the ingest bucket users drop PDFs into, the archive bucket, and their access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Prefixes of the archive bucket (the same names as ragline.records and the local archive).
EMBEDDING_ARCHIVE_PREFIX = "embeddingarchive/"
PROMPT_ARCHIVE_PREFIX = "promptarchive/"
PROMPT_DISTANCE_PREFIX = "promptdistance/"
DRIFT_BASELINE_PREFIX = "driftbaseline/"  # the drift jobs' fitted baselines (ragline.drift.jobs)
FIREHOSE_ERRORS_PREFIX = "errors/"
# Textract's result files (OutputConfig), read a page window at a time by index_document.
TEXTRACT_OUTPUT_PREFIX = "textract-output/"
TEXTRACT_OUTPUT_DAYS = 7  # results are re-derivable by re-uploading; windows read them within hours


class Buckets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": removal,
            "auto_delete_objects": False,
        }
        # S3 server access logs cannot be delivered to an SSE-KMS bucket: this one uses SSE-S3.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            **common,
        )
        self.ingest = s3.Bucket(
            self,
            "Ingest",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="ingest/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            **common,
        )
        # EventBridge notifications set natively: `event_bridge_enabled=True` would deploy CDK's
        # bucket-notifications custom resource (a Lambda with an AWS managed policy) instead.
        ingest_cfn = self.ingest.node.default_child
        ingest_cfn.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)
        self.archive = s3.Bucket(
            self,
            "Archive",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="archive/",
            lifecycle_rules=[
                *[
                    s3.LifecycleRule(
                        id=f"tier-{prefix.rstrip('/')}",
                        prefix=prefix,
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                                transition_after=Duration.days(30),
                            )
                        ],
                        noncurrent_version_expiration=Duration.days(30),
                    )
                    for prefix in (EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, PROMPT_DISTANCE_PREFIX)
                ],
                s3.LifecycleRule(
                    id="expire-delivery-errors",
                    prefix=FIREHOSE_ERRORS_PREFIX,
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-textract-output",
                    prefix=TEXTRACT_OUTPUT_PREFIX,
                    expiration=Duration.days(TEXTRACT_OUTPUT_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
            **common,
        )
