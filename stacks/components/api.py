"""The query API: API Gateway REST in front of the query Lambda.

Every method requires auth: IAM (SigV4) by default, a Cognito user pool when `apiAuth=cognito`.
Bodies are validated against JSON schemas before the Lambda runs; the stage throttles, writes
JSON access logs, and traces with X-Ray.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ragline.api import QUESTION_MAX_CHARS
from ragline.filters import PERIOD_PATTERN
from stacks import nag
from stacks.config import ApiAuth, RaglineConfig

JSON = apigw.JsonSchemaType
# API Gateway's default (and, without a quota increase, maximum) REST integration timeout; set
# explicitly so the template states it and tests/infra can compare the query function's with it.
INTEGRATION_TIMEOUT = Duration.seconds(29)

# Mirrors ragline.api.QueryRequest and ragline.filters.SearchFilter, the runtime's contract;
# tests/infra checks the field names stay the same, so the gateway never refuses what the
# runtime accepts (or the reverse).
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_FILTER = apigw.JsonSchema(
    type=JSON.OBJECT,
    additional_properties=False,
    properties={
        "source": apigw.JsonSchema(type=JSON.STRING, min_length=1, max_length=1024),
        "tags": apigw.JsonSchema(
            type=JSON.ARRAY, max_items=32, items=apigw.JsonSchema(type=JSON.STRING, max_length=128)
        ),
        "page_from": apigw.JsonSchema(type=JSON.INTEGER, minimum=1),
        "page_to": apigw.JsonSchema(type=JSON.INTEGER, minimum=1),
        "date_from": apigw.JsonSchema(type=JSON.STRING, pattern=ISO_DATE),
        "date_to": apigw.JsonSchema(type=JSON.STRING, pattern=ISO_DATE),
        # The document card's fields (ragline.cards). The type is any text: the runtime normalizes
        # "10k" or "Earnings Release" to its own names and says which ones it knows.
        "issuer": apigw.JsonSchema(type=JSON.STRING, min_length=1, max_length=200),
        "period": apigw.JsonSchema(type=JSON.STRING, pattern=PERIOD_PATTERN.pattern),
        "doc_type": apigw.JsonSchema(type=JSON.STRING, min_length=1, max_length=64),
    },
)


def _search_properties() -> dict[str, apigw.JsonSchema]:
    return {
        "question": apigw.JsonSchema(type=JSON.STRING, min_length=1, max_length=QUESTION_MAX_CHARS),
        "k": apigw.JsonSchema(type=JSON.INTEGER, minimum=1, maximum=50),
        "mode": apigw.JsonSchema(type=JSON.STRING, enum=["dense", "keyword", "hybrid"]),
        "filter": _FILTER,
    }


QUERY_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="QueryRequest",
    type=JSON.OBJECT,
    additional_properties=False,
    required=["question"],
    properties=_search_properties(),
)
SEARCH_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="SearchRequest",
    type=JSON.OBJECT,
    additional_properties=False,
    required=["question"],
    properties=_search_properties(),
)


class QueryApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        handler: lambda_.IFunction,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", encryption_key=log_key, retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.user_pool: cognito.UserPool | None = None
        method_options = self._auth(config)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{config.app_name}-query",
            description="ragline: questions over your PDFs",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,  # account-level role API Gateway needs to write execution logs
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            default_method_options=method_options,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies hold user questions: keep them out of logs
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        integration = apigw.LambdaIntegration(handler, timeout=INTEGRATION_TIMEOUT)
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        for path, schema in (("query", QUERY_SCHEMA), ("search", SEARCH_SCHEMA)):
            model = self.api.add_model(f"{path.capitalize()}Model", content_type="application/json", schema=schema)
            self.api.root.add_resource(path).add_method(
                "POST",
                integration,
                request_validator=validator,
                request_models={"application/json": model},
            )
        self.api.root.add_resource("documents").add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={"method.request.querystring.state": False},
        )
        self._error_bodies()
        self._acknowledge(config)

    def _error_bodies(self) -> None:
        """What API Gateway answers itself (a body its validator refuses, throttling, auth, an unknown path,
        an integration timeout) in the runtime's error shape, `{"error": ..., "details": []}`.
        `messageString` is the message already quoted as a JSON string; the validator's detailed string is
        not (it may hold quotes), so a refused body says "Invalid request body" and not which field."""
        template = '{"error": $context.error.messageString, "details": []}'
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.api.add_gateway_response(
                f"ErrorShape{response_type.response_type}",
                type=response_type,
                templates={"application/json": template},
            )

    def _auth(self, config: RaglineConfig) -> apigw.MethodOptions:
        if config.api_auth is ApiAuth.IAM:
            return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.user_pool.add_client("QueryClient", auth_flows=cognito.AuthFlow(user_srp=True), generate_secret=False)
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.COGNITO, authorizer=authorizer)

    def _acknowledge(self, config: RaglineConfig) -> None:
        nag.acknowledge(
            self.api,
            "APIG3",
            "The query API is authenticated (IAM SigV4 or Cognito) and throttled per stage; a WAF web "
            "ACL ($5/month plus rules) is left to deployments exposed to untrusted callers.",
        )
        nag.acknowledge(
            self.api,
            "IAM4",
            "The account-level API Gateway logging role uses AmazonAPIGatewayPushToCloudWatchLogs, the "
            "policy AWS documents for it: it must write execution logs for any API of the account.",
            findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
        )
        if config.api_auth is ApiAuth.IAM:
            nag.acknowledge(
                self.api,
                "COG4",
                "Query API methods use IAM (SigV4) authorization by default; a Cognito authorizer is "
                "used when the context sets apiAuth=cognito.",
            )
