"""Firehose delivery streams: chunk embeddings and prompt embeddings into the archive bucket.

Records are `ragline.records.EmbeddingRecord` JSON objects, one per line (the producer appends
the newline). Objects land under `<prefix>year=YYYY/month=MM/day=DD/` (Hive-style, so Spark
discovers the date partitions), GZIP-compressed, encrypted with the data key; the streams
themselves are encrypted with the messaging key.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Size, Stack, Validations
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import nag
from stacks.components.storage import EMBEDDING_ARCHIVE_PREFIX, FIREHOSE_ERRORS_PREFIX, PROMPT_ARCHIVE_PREFIX

DATE_PARTITION = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"


class EmbeddingArchive(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        data_key: kms.IKey,
        stream_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        # aws-cdk-lib's DeliveryStream always adds the Firehose CIDR-block mapping, which only
        # destinations behind an IP allowlist (Redshift, HTTP endpoints) use.
        Validations.of(Stack.of(self)).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::W7001",
                reason="awscdkawskinesisfirehoseCidrBlocks is added by the Firehose L2 for allowlisted "
                "destinations; the archive streams deliver to S3 and never read it.",
            )
        )
        self.embeddings = self._stream(
            "EmbeddingStream", EMBEDDING_ARCHIVE_PREFIX, bucket, data_key, stream_key, log_retention
        )
        self.prompts = self._stream("PromptStream", PROMPT_ARCHIVE_PREFIX, bucket, data_key, stream_key, log_retention)

    def _stream(
        self,
        name: str,
        prefix: str,
        bucket: s3.IBucket,
        data_key: kms.IKey,
        stream_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> firehose.DeliveryStream:
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            encryption_key=stream_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        stream = firehose.DeliveryStream(
            self,
            name,
            encryption=firehose.StreamEncryption.customer_managed_key(stream_key),
            destination=firehose.S3Bucket(
                bucket,
                data_output_prefix=f"{prefix}{DATE_PARTITION}",
                error_output_prefix=f"{FIREHOSE_ERRORS_PREFIX}{prefix}!{{firehose:error-output-type}}/{DATE_PARTITION}",
                compression=firehose.Compression.GZIP,
                encryption_key=data_key,
                buffering_interval=Duration.minutes(5),
                buffering_size=Size.mebibytes(64),
                logging_config=firehose.EnableLogging(log_group),
            ),
        )
        reason = (
            f"The {name} delivery roles are created and granted by the Firehose L2 construct: "
            "bucket.grantReadWrite on the archive bucket (Firehose writes, lists and cleans up multipart "
            "objects under its date-partitioned prefix) and encrypt/decrypt on the data key and the "
            "stream key; the roles trust firehose.amazonaws.com only and name no other resource."
        )
        nag.acknowledge(
            stream,
            "IAM5",
            reason,
            findings=[
                f"Action::{action}"
                for action in (
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                    "s3:Abort*",
                    "s3:DeleteObject*",
                    "s3:GetBucket*",
                    "s3:GetObject*",
                    "s3:List*",
                )
            ],
        )
        nag.acknowledge_resources(stream, reason, resources=[bucket.arn_for_objects("*")])
        return stream
