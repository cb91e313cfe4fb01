"""SageMaker endpoints this app deploys (only for models whose mode is `deploy`)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.components.models import ModelEndpoints
from stacks.config import RaglineConfig


class RaglineModelsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: RaglineConfig, vpc: ec2.IVpc, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.models = ModelEndpoints(self, "Models", config=config, vpc=vpc)
        for endpoint in self.models.endpoints:
            CfnOutput(self, f"{endpoint.node.id}Name", value=endpoint.attr_endpoint_name)
