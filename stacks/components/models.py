"""The embedding model and the LLM: where they run, how Lambdas reach them, and IAM scope.

Three modes per model (context `embeddingMode` / `generationMode`, README.md, "Deploy to AWS"):
- `existing`: SageMaker endpoints someone already runs, by name (the original pattern's
  `embeddingsModelEndpointName` / `textModelEndpointName`);
- `deploy`: this app deploys them: the embedding model on SageMaker Serverless Inference (no
  cost while idle), the LLM on a real-time GPU endpoint;
- `bedrock`: on-demand Bedrock model ids.
`ModelBinding` carries the environment a Lambda needs and grants `invoke` on exactly that
endpoint or model, never on `*`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks import nag
from stacks.config import ModelMode, RaglineConfig

# Hugging Face Deep Learning Containers, published by AWS in account 763104351884 in most
# regions (https://github.com/aws/deep-learning-containers/blob/master/available_images.md).
DLC_ACCOUNT = "763104351884"
EMBEDDING_IMAGE = "huggingface-pytorch-inference:2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
# TGI 3.3.4 ships on PyTorch 2.7.0 (the SageMaker Python SDK's huggingface-llm image map lists
# "3.3.4": "2.7.0-tgi3.3.4-gpu-py311-cu124-ubuntu22.04"); there is no 2.6.0-tgi3.3.4 tag.
GENERATION_IMAGE = "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.4-gpu-py311-cu124-ubuntu22.04"
_GEO_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "global.")


def endpoint_arn(name: str) -> str:
    # SageMaker ARNs carry the endpoint name in lower case, and IAM compares ARNs case-sensitively.
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:endpoint/{name.lower()}"


def bedrock_model_arns(model_id: str) -> list[str]:
    """A foundation model, or a cross-region inference profile plus the models it routes to."""
    if model_id.startswith(_GEO_PREFIXES):
        base = model_id.split(".", 1)[1]
        return [
            f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:inference-profile/{model_id}",
            f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{base}",
        ]
    return [f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{model_id}"]


@dataclass(frozen=True)
class ModelBinding:
    """How a Lambda reaches one model: its environment variables and the IAM statement."""

    environment: dict[str, str]
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(self.actions), resources=list(self.resources))
        )


def deployed_endpoint_name(config: RaglineConfig, role: str) -> str:
    return f"{config.app_name}-{role}"


def embedding_binding(config: RaglineConfig) -> ModelBinding:
    common = {"RAGLINE_EMBEDDING__DIMENSION": str(config.embedding_dimension)}
    if config.embedding_mode is ModelMode.BEDROCK:
        return ModelBinding(
            environment={
                **common,
                "RAGLINE_EMBEDDING__BACKEND": "bedrock",
                "RAGLINE_EMBEDDING__MODEL_ID": config.embedding_model_id,
                "RAGLINE_EMBEDDING__MODEL_NAME": config.embedding_model_id,
            },
            actions=("bedrock:InvokeModel",),
            resources=tuple(bedrock_model_arns(config.embedding_model_id)),
        )
    # The request body each container expects (ragline/adapters/aws/embeddings.py documents the formats):
    # JumpStart text-embedding endpoints, as in the original pattern, or the HF DLC this app deploys.
    if config.embedding_mode is ModelMode.EXISTING:
        name = config.embeddings_model_endpoint_name or ""
        model = name
        payload_format = "jumpstart"
    else:
        name = deployed_endpoint_name(config, "embedding")
        model = config.embedding_hf_model_id
        payload_format = "hf-sentence-embeddings"
    return ModelBinding(
        environment={
            **common,
            "RAGLINE_EMBEDDING__BACKEND": "sagemaker",
            "RAGLINE_EMBEDDING__ENDPOINT_NAME": name,
            "RAGLINE_EMBEDDING__PAYLOAD_FORMAT": payload_format,
            "RAGLINE_EMBEDDING__MODEL_NAME": model,
        },
        actions=("sagemaker:InvokeEndpoint",),
        resources=(endpoint_arn(name),),
    )


def generation_binding(config: RaglineConfig) -> ModelBinding:
    if config.generation_mode is ModelMode.BEDROCK:
        return ModelBinding(
            environment={
                "RAGLINE_GENERATION__BACKEND": "bedrock",
                "RAGLINE_GENERATION__MODEL_ID": config.generation_model_id,
            },
            actions=("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
            resources=tuple(bedrock_model_arns(config.generation_model_id)),
        )
    if config.generation_mode is ModelMode.EXISTING:
        name = config.text_model_endpoint_name or ""
    else:
        name = deployed_endpoint_name(config, "generation")
    return ModelBinding(
        environment={"RAGLINE_GENERATION__BACKEND": "sagemaker", "RAGLINE_GENERATION__ENDPOINT_NAME": name},
        actions=("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"),
        resources=(endpoint_arn(name),),
    )


def _dlc_image(config_image: str | None, image: str) -> str:
    return config_image or f"{DLC_ACCOUNT}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{image}"


class ModelEndpoints(Construct):
    """SageMaker endpoints for the models whose mode is `deploy` (nothing otherwise)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        vpc: ec2.IVpc,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="ragline SageMaker endpoints: pull the model image, write endpoint logs and metrics",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=self._image_repositories(),
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{config.app_name}-*"
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*", "AWS/SageMaker*"]}},
            )
        )
        nag.acknowledge(
            self.role,
            "IAM5",
            "SageMaker endpoint execution role: ecr:GetAuthorizationToken and cloudwatch:PutMetricData "
            "accept only Resource '*' (metrics are limited to SageMaker namespaces by condition); "
            "endpoint logs go to log groups SageMaker names after this app's endpoints (ragline-*).",
            findings=[
                "Resource::*",
                "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
                f"/aws/sagemaker/Endpoints/{config.app_name}-*",
            ],
        )
        self.endpoints: list[sagemaker.CfnEndpoint] = []
        if config.embedding_mode is ModelMode.DEPLOY:
            self._serverless_embedding()
        if config.generation_mode is ModelMode.DEPLOY:
            self._realtime_generation(vpc)

    def _image_repositories(self) -> list[str]:
        """ECR repositories of the images the deployed endpoints use: exactly those, by ARN."""
        config = self._config
        images = []
        if config.embedding_mode is ModelMode.DEPLOY:
            images.append(config.embedding_image or f"{DLC_ACCOUNT}/{EMBEDDING_IMAGE}")
        if config.generation_mode is ModelMode.DEPLOY:
            images.append(config.generation_image or f"{DLC_ACCOUNT}/{GENERATION_IMAGE}")
        arns = []
        for image in images:
            host, _, repository = image.partition("/")
            account = host.split(".")[0]
            region = host.split(".")[3] if ".dkr.ecr." in host else Aws.REGION
            arns.append(
                f"arn:{Aws.PARTITION}:ecr:{region}:{account}:repository/{repository.split(':')[0].split('@')[0]}"
            )
        return arns

    def _serverless_embedding(self) -> None:
        # Serverless Inference takes no VPC configuration and no KmsKeyId (there is no ML storage
        # volume); the endpoint is reachable only through IAM-authorized InvokeEndpoint calls.
        config = self._config
        model = sagemaker.CfnModel(
            self,
            "EmbeddingModel",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=_dlc_image(config.embedding_image, EMBEDDING_IMAGE),
                environment={
                    "HF_MODEL_ID": config.embedding_hf_model_id,
                    # Mean-pooled, normalized sentence embeddings (sentence-transformers), one per input.
                    "HF_TASK": "sentence-embeddings",
                },
            ),
        )
        model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))  # the image pull must be allowed first
        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EmbeddingEndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    model_name=model.attr_model_name,
                    variant_name="AllTraffic",
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        memory_size_in_mb=config.embedding_serverless_memory_mb,
                        max_concurrency=config.embedding_serverless_max_concurrency,
                    ),
                )
            ],
        )
        endpoint = sagemaker.CfnEndpoint(
            self,
            "EmbeddingEndpoint",
            endpoint_name=deployed_endpoint_name(config, "embedding"),
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
        )
        self.endpoints.append(endpoint)

    def _realtime_generation(self, vpc: ec2.IVpc) -> None:
        # In the private subnets; network isolation stays off because the TGI container fetches the
        # model's public weights (HF_MODEL_ID) through the NAT gateway. GPU instances with local NVMe
        # storage (ml.g5 and later) reject a KmsKeyId; that storage is hardware-encrypted.
        config = self._config
        security_group = ec2.SecurityGroup(
            self, "GenerationSecurityGroup", vpc=vpc, description="ragline LLM endpoint: egress to fetch weights"
        )
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )
        model = sagemaker.CfnModel(
            self,
            "GenerationModel",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=_dlc_image(config.generation_image, GENERATION_IMAGE),
                environment={
                    "HF_MODEL_ID": config.generation_hf_model_id,
                    "SM_NUM_GPUS": "1",
                    "MAX_INPUT_TOKENS": "6144",
                    "MAX_TOTAL_TOKENS": "8192",
                },
            ),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[security_group.security_group_id],
                subnets=private.subnet_ids,
            ),
        )
        model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))  # the image pull must be allowed first
        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "GenerationEndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    model_name=model.attr_model_name,
                    variant_name="AllTraffic",
                    initial_instance_count=1,
                    instance_type=config.generation_instance_type,
                    initial_variant_weight=1,
                    container_startup_health_check_timeout_in_seconds=900,
                )
            ],
        )
        endpoint = sagemaker.CfnEndpoint(
            self,
            "GenerationEndpoint",
            endpoint_name=deployed_endpoint_name(config, "generation"),
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
        )
        self.endpoints.append(endpoint)
