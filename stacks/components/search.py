"""The OpenSearch domain and its chunk index.

- In private subnets, reachable on 443 only from the `clients` security group.
- Fine-grained access control with an IAM master user: the role of the index bootstrap
  function, which alone creates the index and maps the Lambda roles to a writer and a reader
  role (see lambdas/index_bootstrap/handler.py). No domain access policy is set: access is
  granted by identity policies on each role, then narrowed by fine-grained access control.
- Encrypted at rest (KMS) and node to node, HTTPS only with TLS 1.2, logs to CloudWatch.
- Small by default (one t3.small.search node); context values scale it (README.md, "Deploy to AWS").
"""

from __future__ import annotations

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks import nag
from stacks.components.function import FunctionSettings, RaglineFunction
from stacks.config import RaglineConfig

INDEX_RESOURCE_TYPE = "Custom::RaglineSearchIndex"
ROLE_MAPPING_RESOURCE_TYPE = "Custom::RaglineSearchRoleMapping"
HTTP_READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")  # POST: _search, _msearch
HTTP_WRITE_ACTIONS = (*HTTP_READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete")


class SearchDomain(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        vpc: ec2.IVpc,
        key: kms.IKey,
        layer: lambda_.ILayerVersion,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.clients = ec2.SecurityGroup(
            self, "ClientsSecurityGroup", vpc=vpc, description="Lambdas allowed to call the OpenSearch domain"
        )
        domain_sg = ec2.SecurityGroup(
            self,
            "DomainSecurityGroup",
            vpc=vpc,
            description="ragline OpenSearch domain: HTTPS from ragline clients only",
            allow_all_outbound=False,
        )
        domain_sg.add_ingress_rule(self.clients, ec2.Port.tcp(443), "HTTPS from ragline Lambdas")

        self.bootstrap = RaglineFunction(
            self,
            "IndexBootstrap",
            function_dir="index_bootstrap",
            description="Creates/updates the ragline OpenSearch index and its security role mappings",
            settings=FunctionSettings(
                layer=layer, key=key, log_retention=log_retention, vpc=vpc, security_groups=[self.clients]
            ),
            environment={},  # endpoint added below, once the domain exists
            timeout=Duration.minutes(5),
            memory_size=512,
        )

        log_groups = {
            name: logs.LogGroup(
                self, f"{name}Logs", encryption_key=key, retention=log_retention, removal_policy=RemovalPolicy.DESTROY
            )
            for name in ("SlowSearch", "SlowIndex", "Application", "Audit")
        }
        az_count = config.search_az_count
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        # A fixed name, so the access policy below can name the domain without referencing it.
        domain_name = f"{config.app_name}-search"
        domain_arn = f"arn:{Aws.PARTITION}:es:{Aws.REGION}:{Aws.ACCOUNT_ID}:domain/{domain_name}"
        self.domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=domain_name,
            version=opensearch.EngineVersion.open_search(config.search_engine_version),
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=private.subnets[:az_count])],
            security_groups=[domain_sg],
            capacity=opensearch.CapacityConfig(
                data_nodes=config.search_instance_count,
                data_node_instance_type=config.search_instance_type,
                master_nodes=config.search_master_count or None,
                master_node_instance_type=config.search_master_instance_type,
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=config.search_zone_awareness,
                availability_zone_count=az_count if config.search_zone_awareness else None,
            ),
            ebs=opensearch.EbsOptions(volume_size=config.search_volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=key),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.bootstrap.role.role_arn
            ),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=log_groups["SlowSearch"],
                slow_index_log_enabled=True,
                slow_index_log_group=log_groups["SlowIndex"],
                app_log_enabled=True,
                app_log_group=log_groups["Application"],
                audit_log_enabled=True,
                audit_log_group=log_groups["Audit"],
            ),
            # The resource policy below replaces CDK's custom resource (a Lambda with logs:* on "*").
            suppress_logs_resource_policy=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        # Resource policy: only the master role is named. Other ragline roles of this account get
        # access through their identity policies (grant_http), narrowed by fine-grained access control.
        cfn_domain = self.domain.node.default_child
        cfn_domain.access_policies = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": self.bootstrap.role.role_arn},
                    "Action": list(HTTP_WRITE_ACTIONS),
                    "Resource": f"{domain_arn}/*",
                }
            ],
        }
        self._acknowledge_domain(config)
        logs.ResourcePolicy(
            self,
            "LogsResourcePolicy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    resources=[group.log_group_arn for group in log_groups.values()],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                )
            ],
        )
        self.endpoint = f"https://{self.domain.domain_endpoint}"
        self.index_name = config.index_name
        self.bootstrap.function.add_environment("RAGLINE_INDEX__OPENSEARCH_ENDPOINT", self.endpoint)
        self.grant_http(self.bootstrap.role, write=True, scope="domain")

        provider_role = iam.Role(
            self,
            "ProviderRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CloudFormation provider framework of the ragline search custom resources",
        )
        provider_logs = logs.LogGroup(
            self, "ProviderLogs", encryption_key=key, retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        provider_logs.grant_write(provider_role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.bootstrap.function,
            framework_on_event_role=provider_role,
            log_group=provider_logs,
            provider_function_env_encryption=key,  # its environment names the bootstrap function
        )
        nag.acknowledge_resources(
            provider_role,
            "The CDK provider framework invokes the index bootstrap function by qualified ARN "
            "(function:version), so the grant covers that one function's ARN followed by ':*'.",
            resources=[f"{self.bootstrap.function.function_arn}:*"],
        )

        index = CustomResource(
            self,
            "Index",
            service_token=self.provider.service_token,
            resource_type=INDEX_RESOURCE_TYPE,
            properties={
                "IndexName": config.index_name,
                "Dimension": str(config.embedding_dimension),
                "Engine": config.knn_engine.value,
                "SpaceType": config.knn_space_type.value,
                "M": str(config.hnsw_m),
                "EfConstruction": str(config.hnsw_ef_construction),
                "Shards": str(max(1, config.search_instance_count // 2)),
                "Replicas": "1" if config.search_instance_count > 1 else "0",
            },
        )
        index.node.add_dependency(self.domain)

    def _acknowledge_domain(self, config: RaglineConfig) -> None:
        nag.acknowledge(
            self.domain,
            "OS3",
            "The domain has no public endpoint: it lives in private subnets, takes HTTPS only from the "
            "ragline Lambdas' security group, and authorizes every request by IAM role and fine-grained "
            "access control; Lambda ENI addresses are dynamic, so an IP allowlist cannot express that.",
        )
        if not config.search_master_count:
            nag.acknowledge(
                self.domain,
                "OS4",
                "Dedicated master nodes would triple the idle cost of the default one-node domain; set "
                "searchMasterCount=3 and searchMasterInstanceType for production-sized clusters.",
            )
        if not config.search_zone_awareness:
            nag.acknowledge(
                self.domain,
                "OS7",
                "The default domain is a single small node (searchInstanceCount=1), which cannot span zones; "
                "searchInstanceCount>=2 turns zone awareness on. The index is rebuilt from S3 if it is lost.",
            )

    def grant_http(self, grantee: iam.IGrantable, *, write: bool, scope: str = "index") -> None:
        """HTTP access by identity policy: the whole domain (bootstrap) or the chunk index only.

        Fine-grained access control then narrows it further to the OpenSearch role the
        principal is mapped to.
        """
        actions = HTTP_WRITE_ACTIONS if write else HTTP_READ_ACTIONS
        if scope == "domain":
            resources = [self.domain.domain_arn, f"{self.domain.domain_arn}/*"]
        else:
            resources = [
                f"{self.domain.domain_arn}/{self.index_name}",
                f"{self.domain.domain_arn}/{self.index_name}/*",
                f"{self.domain.domain_arn}/_bulk",
                f"{self.domain.domain_arn}/_msearch",
            ]
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
        principal = grantee.grant_principal
        if isinstance(principal, iam.Role):
            owner = principal.node.scope.node.id if principal.node.scope else principal.node.id
            target = (
                "the domain (index creation and _plugins/_security)"
                if scope == "domain"
                else (f"the {self.index_name} index (documents by id, _search, _doc, _delete_by_query)")
            )
            nag.acknowledge_resources(
                principal,
                f"OpenSearch authorizes HTTP requests by path: the {owner} role "
                f"({'read-write' if write else 'read-only'}) calls paths under {target}.",
                resources=[resource for resource in resources if resource.endswith("/*")],
            )

    def map_roles(self, scope: Construct, *, writers: list[iam.IRole], readers: list[iam.IRole]) -> CustomResource:
        """Maps Lambda roles to the writer/reader OpenSearch roles (a custom resource in `scope`'s stack)."""
        return CustomResource(
            scope,
            "SearchRoleMapping",
            service_token=self.provider.service_token,
            resource_type=ROLE_MAPPING_RESOURCE_TYPE,
            properties={
                "IndexName": self.index_name,
                "WriterRoleArns": [role.role_arn for role in writers],
                "ReaderRoleArns": [role.role_arn for role in readers],
            },
        )
