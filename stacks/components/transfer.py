"""Getting PDFs in from a file share: the jump host that mounts EFS, and the hourly DataSync task.

The jump host has no SSH key and no inbound rule: users reach it through SSM Session Manager
only, copy PDFs under /mnt/efs/ingest, and DataSync copies EFS `/ingest` to the ingest bucket
every hour (or on demand). DataSync's role can write objects but has no delete permission, and
the task preserves files deleted at the source, so the share can never erase documents.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_datasync as datasync
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import nag
from stacks.components.file_share import INGEST_PATH
from stacks.config import RaglineConfig

MOUNT_POINT = "/mnt/efs"


def _arn(service: str, resource: str) -> str:
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


class JumpHost(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        vpc: ec2.IVpc,
        file_system: efs.IFileSystem,
        clients: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
            description="ragline jump host: SSM Session Manager and the EFS mount",
        )
        file_system.grant_read_write(role)
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            "dnf install -y amazon-efs-utils",
            f"mkdir -p {MOUNT_POINT}",
            f"echo '{file_system.file_system_id}:/ {MOUNT_POINT} efs _netdev,noresvport,tls,iam 0 0' >> /etc/fstab",
            f"until mount {MOUNT_POINT}; do sleep 10; done",
            f"mkdir -p {MOUNT_POINT}{INGEST_PATH} && chmod 1777 {MOUNT_POINT}{INGEST_PATH}",
        )
        self.instance = ec2.Instance(
            self,
            "Instance",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            instance_type=ec2.InstanceType(config.jump_host_instance_type),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
            security_group=clients,
            role=role,
            user_data=user_data,
            require_imdsv2=True,
            associate_public_ip_address=False,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
                )
            ],
        )
        nag.acknowledge(
            role,
            "IAM4",
            "AmazonSSMManagedInstanceCore is the AWS-maintained minimum for SSM Session Manager, the "
            "jump host's only access path (no SSH key, no inbound rule).",
            findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"],
        )
        nag.acknowledge(
            self.instance,
            "EC28",
            "The jump host is an idle SSM landing box for copying PDFs onto EFS; 5-minute basic "
            "monitoring is enough and detailed monitoring would cost more than the t4g.nano itself.",
        )
        nag.acknowledge(
            self.instance,
            "EC29",
            "The jump host holds no data (PDFs live on EFS and S3) and is replaced by redeploying; "
            "termination protection would only block `cdk destroy`.",
        )


class IngestSync(Construct):
    """DataSync task: EFS /ingest -> ingest bucket, hourly, with task logs in CloudWatch."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        vpc: ec2.IVpc,
        file_system: efs.IFileSystem,
        clients: ec2.ISecurityGroup,
        bucket: s3.IBucket,
        data_key: kms.IKey,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        trust = iam.ServicePrincipal(
            "datasync.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        )
        # Reads the share over TLS with IAM authorization (the file system denies anonymous clients).
        efs_role = iam.Role(self, "EfsReadRole", assumed_by=trust, description="DataSync reads the ragline file share")
        efs_role.add_to_policy(
            iam.PolicyStatement(
                # ClientMount alone is read-only; ClientRootAccess lets DataSync read every file
                # whatever its owner on the share.
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"],
                resources=[file_system.file_system_arn],
            )
        )
        # Writes into the ingest bucket; deliberately no s3:DeleteObject*.
        bucket_role = iam.Role(
            self,
            "BucketWriteRole",
            assumed_by=trust,
            description="DataSync writes PDFs to the ingest bucket, never deletes",
        )
        bucket_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            )
        )
        bucket_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:GetObject",
                    "s3:GetObjectTagging",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                    "s3:PutObjectTagging",
                ],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        data_key.grant(bucket_role, "kms:Decrypt", "kms:GenerateDataKey")
        nag.acknowledge_resources(
            bucket_role,
            "DataSync copies any file name found under EFS /ingest, so it writes objects anywhere in "
            "the ingest bucket (object ARN '/*'); it has no delete action.",
            resources=[bucket.arn_for_objects("*")],
        )

        subnet = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnets[0]
        source = datasync.CfnLocationEFS(
            self,
            "Source",
            efs_filesystem_arn=file_system.file_system_arn,
            subdirectory=INGEST_PATH,
            ec2_config=datasync.CfnLocationEFS.Ec2ConfigProperty(
                security_group_arns=[_arn("ec2", f"security-group/{clients.security_group_id}")],
                subnet_arn=_arn("ec2", f"subnet/{subnet.subnet_id}"),
            ),
            file_system_access_role_arn=efs_role.role_arn,
            in_transit_encryption="TLS1_2",
        )
        source.node.add_dependency(efs_role.node.find_child("DefaultPolicy"))  # DataSync checks access on create
        destination = datasync.CfnLocationS3(
            self,
            "Destination",
            s3_bucket_arn=bucket.bucket_arn,
            subdirectory="/",
            s3_config=datasync.CfnLocationS3.S3ConfigProperty(bucket_access_role_arn=bucket_role.role_arn),
        )
        destination.node.add_dependency(bucket_role.node.find_child("DefaultPolicy"))
        log_group = logs.LogGroup(
            self, "TaskLogs", encryption_key=log_key, retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        logs.ResourcePolicy(
            self,
            "TaskLogsPolicy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("datasync.amazonaws.com")],
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    resources=[log_group.log_group_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                )
            ],
        )
        self.task = datasync.CfnTask(
            self,
            "Task",
            name=f"{config.app_name}-efs-ingest-to-s3",
            source_location_arn=source.attr_location_arn,
            destination_location_arn=destination.attr_location_arn,
            cloud_watch_log_group_arn=log_group.log_group_arn,
            schedule=datasync.CfnTask.TaskScheduleProperty(schedule_expression=config.datasync_schedule),
            options=datasync.CfnTask.OptionsProperty(
                log_level="TRANSFER",
                transfer_mode="CHANGED",
                overwrite_mode="ALWAYS",
                preserve_deleted_files="PRESERVE",  # never delete in S3 what vanished from EFS
                verify_mode="ONLY_FILES_TRANSFERRED",
                posix_permissions="NONE",
                uid="NONE",
                gid="NONE",
                object_tags="NONE",
            ),
        )
