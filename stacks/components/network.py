"""The VPC: public subnets for the NAT gateway only, private subnets for everything else.

Data stores (OpenSearch, EFS) and every Lambda live in the private subnets. Gateway endpoints
keep S3 and DynamoDB traffic off the NAT gateway (they are free; NAT data processing is not).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import RaglineConfig


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: RaglineConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        az_args = (
            {"availability_zones": list(config.availability_zones)}
            if config.availability_zones
            else {"max_azs": config.max_azs}
        )
        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
            restrict_default_security_group=True,
            **az_args,
        )

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
