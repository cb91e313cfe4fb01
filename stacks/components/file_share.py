"""The EFS file system users copy PDFs onto (from the jump host); DataSync moves `/ingest` to S3."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_kms as kms
from constructs import Construct

INGEST_PATH = "/ingest"


class FileShare(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        # The jump host and DataSync's network interfaces join this group to reach NFS.
        self.clients = ec2.SecurityGroup(
            self, "ClientsSecurityGroup", vpc=vpc, description="NFS clients of the ragline file share"
        )
        file_system_sg = ec2.SecurityGroup(
            self,
            "FileSystemSecurityGroup",
            vpc=vpc,
            description="ragline file share: NFS from its clients only",
            allow_all_outbound=False,
        )
        file_system_sg.add_ingress_rule(self.clients, ec2.Port.tcp(2049), "NFS from the jump host and DataSync")
        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=file_system_sg,
            encrypted=True,
            kms_key=key,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            lifecycle_policy=efs.LifecyclePolicy.AFTER_14_DAYS,
            enable_automatic_backups=True,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
