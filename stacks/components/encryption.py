"""Customer-managed KMS keys, with the service principals that must use them named explicitly."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class EncryptionKey(Construct):
    """A rotating KMS key; `allow_service` lets one AWS service use it within this account."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

    def allow_cloudwatch_logs(self) -> None:
        """CloudWatch Logs encrypts log groups of this account and region with the key."""
        log_groups = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )

    def allow_service(self, sid: str, service: str) -> None:
        """Let `service` (e.g. events.amazonaws.com) encrypt messages it delivers for this account."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
