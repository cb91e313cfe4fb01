"""The chat UI on AWS (issue 14, `chatUi=true`): ragline's Streamlit app on ECS Fargate, behind an ALB and CloudFront.

- Sign-in: Streamlit's own OIDC login (`st.login`) against the query API's Cognito user pool, through an app
  client of its own (authorization code flow, with a secret) and the pool's hosted sign-in domain. The app
  sends the user's ID token to the query API, whose Cognito authorizer checks it: the API sees the user.
  Chosen over the ALB's authenticate-cognito action, which needs an HTTPS listener, so a certificate and a
  domain name, before anything can be tried: here the default CloudFront domain is enough.
- Path of a request: viewer -HTTPS-> CloudFront -> VPC origin -> internal ALB (private subnets, HTTP inside the
  VPC) -> Fargate tasks (private subnets). The ALB has no public address; its security group admits the
  VPC's own range on its one port, where CloudFront's VPC-origin interfaces live.
- The task role reads the PDFs of the ingest bucket (to render a cited page) and nothing else.

Sticky sessions: Streamlit keeps the sign-in's state (OIDC state and nonce) in the serving process's memory,
so the callback must reach the task that started the sign-in when there is more than one.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnMapping, CfnOutput, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.custom_resources import AwsCustomResource
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from stacks import nag
from stacks.config import RaglineConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "containers/chat_ui/Dockerfile"
# The image's build context is the repository root, cut down to what the Dockerfile copies (Docker's
# ignore syntax): the asset's hash, and so a new image, follows these files only.
IMAGE_CONTEXT = ["*", "!containers/chat_ui/", "!ragline/", "**/__pycache__"]
CONTAINER_PORT = 8501
HEALTH_CHECK_PATH = "/_stcore/health"  # Streamlit's own: 200 "ok" once the server is up
# The image's CMD, stated in the task definition too so that the template says what runs.
CHAT_UI_COMMAND = ["python", "/app/start.py"]
CALLBACK_PATH = "/oauth2callback"  # where Streamlit's OIDC login returns
ALB_LOG_PREFIX = "alb"
ID_TOKEN_VALIDITY = Duration.hours(8)


class ChatUi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        vpc: ec2.IVpc,
        user_pool: cognito.UserPool,
        api_url: str,
        ingest_bucket: s3.IBucket,
        data_key: kms.IKey,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        """`key` encrypts the UI's logs and secrets (the service stack's messaging key)."""
        super().__init__(scope, construct_id)
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.logs_bucket = self._logs_bucket(config)
        self.load_balancer = self._load_balancer(vpc, private)
        self.distribution = self._distribution(config)
        origin = f"https://{config.chat_ui_domain_name or self.distribution.distribution_domain_name}"
        self.client = self._client(config, user_pool, origin)
        self.service = self._service(
            config,
            vpc=vpc,
            private=private,
            environment={
                "RAGLINE_UI_API_URL": api_url,
                "RAGLINE_UI_SOURCE_BUCKET": ingest_bucket.bucket_name,
                "RAGLINE_UI_REDIRECT_URI": origin + CALLBACK_PATH,
                "RAGLINE_UI_OIDC_METADATA_URL": (
                    f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}/{user_pool.user_pool_id}"
                    "/.well-known/openid-configuration"
                ),
                "RAGLINE_UI_CLIENT_ID": self.client.user_pool_client_id,
                "RAGLINE_UI_PORT": str(CONTAINER_PORT),
            },
            key=key,
            log_retention=log_retention,
        )
        self._grant_page_reads(ingest_bucket, data_key)
        nag.acknowledge(
            self.service.task_definition.obtain_execution_role(),
            "IAM5",
            "The task's execution role calls ecr:GetAuthorizationToken to pull the UI's image, an action IAM "
            "grants on Resource * only; its other grants name the repository, the log group and two secrets.",
            findings=["Resource::*"],
        )
        CfnOutput(scope, "ChatUiUrl", value=origin, description="the chat UI (sign in with the user pool)")

    def _grant_page_reads(self, ingest_bucket: s3.IBucket, data_key: kms.IKey) -> None:
        """Rendering a cited page: the task role reads the PDFs of the ingest bucket, and nothing else."""
        role = self.service.task_definition.task_role
        objects = ingest_bucket.arn_for_objects("*")
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[data_key.key_arn]))
        nag.acknowledge_resources(
            role,
            "The chat UI renders a cited page from any PDF of the ingest bucket, whose keys are the users' own "
            "uploads: s3:GetObject on that bucket's objects, and nothing else.",
            resources=[objects],
        )

    def _logs_bucket(self, config: RaglineConfig) -> s3.Bucket:
        """The ALB's and CloudFront's access logs. SSE-S3: ALB log delivery cannot write to SSE-KMS buckets;
        ACLs on: CloudFront's standard logging delivers through a bucket ACL."""
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-chat-ui-logs",
                    expiration=Duration.days(config.log_retention_days),
                    noncurrent_version_expiration=Duration.days(7),
                )
            ],
        )
        nag.acknowledge(
            bucket,
            "S1",
            "This bucket receives the chat UI's ALB and CloudFront access logs; logging its own accesses to "
            "itself would loop, and the data stack's access-log bucket cannot take a policy naming it.",
        )
        return bucket

    def _load_balancer(self, vpc: ec2.IVpc, private: ec2.SubnetSelection) -> elbv2.ApplicationLoadBalancer:
        group = ec2.SecurityGroup(
            self,
            "LoadBalancerGroup",
            vpc=vpc,
            description="chat UI ALB: HTTP from inside the VPC only, where the CloudFront VPC origin is",
            allow_all_outbound=False,
        )
        group.add_ingress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(80), "CloudFront VPC origin interfaces live in the VPC"
        )
        balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=private,
            security_group=group,
            drop_invalid_header_fields=True,
        )
        nag.acknowledge(
            group,
            "EC23",
            "The ALB admits port 80 from the VPC's own CIDR block only, a cross-stack value cdk-nag cannot read (the "
            "rule errors), so tests/infra/test_chat_ui.py checks that source and the internal scheme instead.",
        )
        self._log_access(balancer)
        return balancer

    def _log_access(self, balancer: elbv2.ApplicationLoadBalancer) -> None:
        """What `log_access_logs` sets, for a stack without a region: that method needs the region at synth to
        name the region's ELB log-delivery account, so the account is looked up at deploy from a mapping of every
        region CDK knows one for (a region opened since 2022 has none: the deployment then fails on this mapping)."""
        accounts = {
            region.name: {"account": region.elbv2_account} for region in RegionInfo.regions if region.elbv2_account
        }
        mapping = CfnMapping(self, "ElbLogAccounts", mapping=accounts)
        for name, value in (("enabled", "true"), ("bucket", self.logs_bucket.bucket_name), ("prefix", ALB_LOG_PREFIX)):
            balancer.set_attribute(f"access_logs.s3.{name}", value)
        objects = self.logs_bucket.arn_for_objects(f"{ALB_LOG_PREFIX}/AWSLogs/{Aws.ACCOUNT_ID}/*")
        self.logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                principals=[iam.AccountPrincipal(mapping.find_in_map(Aws.REGION, "account"))],
                resources=[objects],
            )
        )
        balancer.node.add_dependency(self.logs_bucket.policy)

    def _distribution(self, config: RaglineConfig) -> cloudfront.Distribution:
        custom: dict = {}
        if config.chat_ui_domain_name:
            custom = {
                "domain_names": [config.chat_ui_domain_name],
                "certificate": acm.Certificate.from_certificate_arn(
                    self, "Certificate", config.chat_ui_certificate_arn
                ),
                "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            }
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{config.app_name} chat UI",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.VpcOrigin.with_application_load_balancer(
                    self.load_balancer,
                    http_port=80,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                    # An answer takes up to API Gateway's 29 s; Streamlit sends it over its WebSocket.
                    read_timeout=Duration.seconds(60),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                # Every page is per user (the sign-in cookie, the WebSocket): nothing is cached.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER,
            ),
            http_version=cloudfront.HttpVersion.HTTP2,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            **custom,
        )
        nag.acknowledge(
            distribution,
            "CFR1",
            "The chat UI serves signed-in users wherever they are: Cognito sign-in, not geography, decides who "
            "may ask; a geo restriction would be a guess at where the deployment's users live.",
        )
        no_waf = (
            "No WAF web ACL: ragline uses none elsewhere (the query API's APIG3 acknowledgement says why), every "
            "page of the chat UI requires a Cognito sign-in, and each question goes to the throttled query API."
        )
        nag.acknowledge(distribution, "CFR2", no_waf)
        nag.checkov_skip(distribution, "CKV_AWS_68", no_waf)
        if not config.chat_ui_domain_name:
            default_certificate = (
                "Without chatUiDomainName and chatUiCertificateArn the UI uses the default *.cloudfront.net "
                "certificate, whose minimum protocol CloudFront fixes at TLSv1; set both for TLS 1.2 and up."
            )
            nag.acknowledge(distribution, "CFR4", default_certificate)
            nag.checkov_skip(distribution, "CKV_AWS_174", default_certificate)
        return distribution

    def _client(self, config: RaglineConfig, user_pool: cognito.UserPool, origin: str) -> cognito.UserPoolClient:
        user_pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"{config.app_name}-{Aws.ACCOUNT_ID}"),
        )
        return user_pool.add_client(
            "ChatUiClient",
            generate_secret=True,  # Streamlit's login is a confidential client (it requires client_secret)
            auth_flows=cognito.AuthFlow(),  # sign-in through the hosted pages only, never with a password here
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[origin + CALLBACK_PATH],
                logout_urls=[origin],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            # A working day between sign-ins (Cognito's default is one hour); the UI asks for a new sign-in
            # once the ID token it holds has expired. No refresh token is used.
            id_token_validity=ID_TOKEN_VALIDITY,
            access_token_validity=ID_TOKEN_VALIDITY,
        )

    def _service(
        self,
        config: RaglineConfig,
        *,
        vpc: ec2.IVpc,
        private: ec2.SubnetSelection,
        environment: dict[str, str],
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> ecs.FargateService:
        """The Fargate service in the private subnets, registered with the load balancer."""
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self._task(environment, key, log_retention),
            desired_count=config.chat_ui_tasks,
            assign_public_ip=False,
            vpc_subnets=private,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
        )
        listener = self.load_balancer.add_listener("Http", port=80, open=False)
        inside_the_vpc = (
            "The internal ALB is reached only by CloudFront's VPC origin, from inside the VPC (viewers reach "
            "CloudFront over HTTPS only); an HTTPS listener would need a certificate for a domain name, which the "
            "UI does not require (the default CloudFront domain serves it)."
        )
        for check in ("CKV_AWS_2", "CKV_AWS_103"):  # an HTTPS listener; TLS 1.2 on it
            nag.checkov_skip(listener, check, inside_the_vpc)
        listener.add_targets(
            "Ui",
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[service],
            health_check=elbv2.HealthCheck(path=HEALTH_CHECK_PATH, healthy_http_codes="200"),
            stickiness_cookie_duration=Duration.hours(8),
            deregistration_delay=Duration.seconds(30),
        )
        return service

    def _task(
        self, environment: dict[str, str], key: kms.IKey, log_retention: logs.RetentionDays
    ) -> ecs.FargateTaskDefinition:
        """The UI's image, its command (the image's CMD, stated), its settings and secrets, its logs."""
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=512,
            memory_limit_mib=1024,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        task.add_container(
            "ui",
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file=DOCKERFILE,
                exclude=IMAGE_CONTEXT,
                ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            command=CHAT_UI_COMMAND,
            environment=environment,
            secrets=self._secrets(key),
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="chat-ui", log_group=log_group),
        )
        nag.acknowledge(
            task,
            "ECS2",
            "The container's environment holds the API URL, bucket name, redirect URI, OIDC metadata URL, "
            "client id and port: none is a secret (the client and cookie secrets come from Secrets Manager).",
        )
        return task

    def _secrets(self, key: kms.IKey) -> dict[str, ecs.Secret]:
        """The app client's secret (read from Cognito at deploy by CDK's AwsCustomResource) and a generated cookie
        key, in Secrets Manager: ECS injects them at start, so neither is in the task definition."""
        client_secret = secretsmanager.Secret(
            self,
            "ClientSecret",
            description="chat UI: the Cognito app client's secret (Streamlit's OIDC login)",
            encryption_key=key,
            secret_string_value=self.client.user_pool_client_secret,
        )
        provider = Stack.of(self).node.try_find_child("AWS" + AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        if provider is None:
            raise LookupError("the app client's secret was read without CDK's AwsCustomResource provider")
        # CDK makes that function's log group itself, without a key: every other log group is encrypted with the
        # stack's key, and this function handles the app client's secret.
        provider_logs = provider.node.find_child("LogGroup").node.default_child
        provider_logs.add_property_override("KmsKeyId", key.key_arn)
        nag.acknowledge(
            provider,
            "IAM4",
            "CDK's AwsCustomResource function reads the chat UI app client's secret (DescribeUserPoolClient) at "
            "deploy time; AWSLambdaBasicExecutionRole lets it write its own logs and nothing else.",
            findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        )
        cookie_secret = secretsmanager.Secret(
            self,
            "CookieSecret",
            description="chat UI: signs Streamlit's sign-in cookie",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
        )
        for secret, what in ((client_secret, "a copy of the app client's secret"), (cookie_secret, "a cookie key")):
            nag.acknowledge(
                secret,
                "SMG4",
                f"Holds {what} for the chat UI; Secrets Manager cannot rotate it without a rotation Lambda that "
                "would also have to restart the tasks, which read it at start.",
            )
        return {
            "RAGLINE_UI_CLIENT_SECRET": ecs.Secret.from_secrets_manager(client_secret),
            "RAGLINE_UI_COOKIE_SECRET": ecs.Secret.from_secrets_manager(cookie_secret),
        }
