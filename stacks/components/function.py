"""A ragline Lambda: its own role, encrypted log group, tracing, and its requirement set's layer.

Roles are created here rather than by `lambda.Function`, so that no AWS managed policy is
attached: logging is granted on the function's own log group only, and VPC access on the
EC2 network-interface actions Lambda needs to attach to the VPC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks import assets, bundling, nag

# What the runtime emits to (ragline.entrypoints.lambdas.runtime); alarms and the dashboard watch these.
METRICS_NAMESPACE = "rag"
DEFAULT_TIMEOUT = Duration.seconds(60)
SERVICE_NAME = "ragline"

# EC2 actions Lambda calls to attach a function to a VPC. They act on network interfaces that
# do not exist before the call (and Describe* has no resource-level permissions), so AWS grants
# them on "*" (as in AWSLambdaVPCAccessExecutionRole). tests/infra lists them as the exception.
VPC_ACCESS_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def dependencies_layer(scope: Construct, function_dir: str) -> lambda_.ILayerVersion:
    """The layer of `function_dir`'s requirement set: one per set and stack, shared by its functions.

    The sets and their pins come from `stacks.assets` (pyproject.toml is the one source of pins).
    """
    stack = Stack.of(scope)
    name = assets.requirement_set(function_dir)
    construct_id = f"LambdaDependencies{name.title()}"
    existing = stack.node.try_find_child(construct_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return lambda_.LayerVersion(
        stack,
        construct_id,
        code=bundling.dependencies_layer_code(function_dir),
        compatible_runtimes=[bundling.RUNTIME],
        compatible_architectures=[bundling.ARCHITECTURE],
        description=f"ragline Lambda dependencies, {name!r} set (stacks/assets.py)",
        removal_policy=RemovalPolicy.RETAIN,  # a rollback may still reference the old version
    )


class DependenciesLayer(Construct):
    """Deprecated and empty: each function now gets its own set's layer (`dependencies_layer`).

    Kept only so the stacks that still create it synthesize; `layer` is None and ignored.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer: lambda_.ILayerVersion | None = None


@dataclass(frozen=True)
class FunctionSettings:
    """What every ragline function of a stack shares."""

    key: kms.IKey  # the stack's key: it encrypts each function's log group and its environment variables
    log_retention: logs.RetentionDays
    vpc: ec2.IVpc
    security_groups: Sequence[ec2.ISecurityGroup]
    layer: lambda_.ILayerVersion | None = None  # deprecated, ignored: see `dependencies_layer`


class RaglineFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: FunctionSettings,
        function_dir: str,
        description: str,
        environment: Mapping[str, str],
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = 1024,
    ) -> None:
        super().__init__(scope, construct_id)
        key, log_retention, vpc = settings.key, settings.log_retention, settings.vpc
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"ragline {function_dir} Lambda",
        )
        self.log_group.grant_write(self.role)
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(VPC_ACCESS_ACTIONS), resources=["*"]))
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=bundling.RUNTIME,
            architecture=bundling.ARCHITECTURE,
            handler=f"{function_dir}.handler.lambda_handler",
            code=bundling.handler_code(function_dir),
            layers=[dependencies_layer(self, function_dir)],
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout,
            memory_size=memory_size,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=list(settings.security_groups),
            # Service name and metric namespace are set in the runtime's code (ragline.entrypoints.lambdas.
            # runtime); Powertools logs at INFO by default. The environment holds only what differs per function.
            environment=dict(environment),
            # Lambda grants the execution role the use of the key for the environment when the function is
            # created or updated (the deploying role needs kms:CreateGrant, which the key policy's account
            # statement delegates to IAM), so the role itself gets no kms permission.
            environment_encryption=key,
        )
        nag.acknowledge(
            self.role,
            "IAM5",
            f"The {function_dir} function runs in the VPC: Lambda creates, describes and deletes its "
            "network interfaces (which do not exist before the call) and X-Ray accepts trace segments "
            "only on '*'; neither service supports resource-level permissions for these actions.",
            findings=["Resource::*"],
        )


_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}


def log_retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days the config validated."""
    return getattr(logs.RetentionDays, _RETENTION[days])
