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
from pydantic import BaseModel

from ragline.api import ConversationRequest, QueryRequest
from stacks import nag
from stacks.config import ApiAuth, RaglineConfig

JSON = apigw.JsonSchemaType
# API Gateway's default (and, without a quota increase, maximum) REST integration timeout; set
# explicitly so the template states it and tests/infra can compare the query function's with it.
INTEGRATION_TIMEOUT = Duration.seconds(29)

# Built from the runtime's own request models' JSON schemas (ragline.api: ConversationRequest for /query,
# QueryRequest for /search), so that the gateway never refuses what the runtime accepts (or the reverse) as
# either changes. tests/infra compares the two on boundary bodies.
_TYPES = {name.lower(): member for name, member in JSON.__members__.items()}
# Keywords API Gateway's draft-4 models take, by their apigw.JsonSchema names. Left out: `default` and
# `title` of fields (documentation only), and `format` (draft 4 does not make it a check; the runtime's
# formats carry a pattern instead).
_KEYWORDS = {
    "description": "description",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
    "enum": "enum",
    "required": "required",
    "additionalProperties": "additional_properties",
}


def _resolved(schema: dict, definitions: dict) -> dict:
    """The schema with a $ref replaced by its definition, and pydantic's `anyOf: [X, null]` (an optional
    field) folded into X with `type: [X's type, "null"]`: a JSON null means "not given" to the runtime."""
    if "$ref" in schema:
        schema = {**definitions[schema["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    variants = schema.get("anyOf")
    if variants is None:
        return schema
    given = [variant for variant in variants if variant != {"type": "null"}]
    if len(given) != 1 or len(variants) != 2:
        raise ValueError(f"no API Gateway model for the union {variants}: only X-or-null folds into one type")
    value = _resolved(given[0], definitions)
    outer = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**value, **outer, "type": [value["type"], "null"]}


def gateway_schema(source: dict, definitions: dict | None = None, **extra: object) -> apigw.JsonSchema:
    """apigw.JsonSchema for a pydantic JSON schema made of objects, arrays, strings, integers and enums;
    `extra` sets more of apigw.JsonSchema's options (the draft and title of a model)."""
    definitions = source.get("$defs", {}) if definitions is None else definitions
    schema = _resolved(source, definitions)
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    options: dict = {_KEYWORDS[key]: value for key, value in schema.items() if key in _KEYWORDS}
    options["type"] = [_TYPES[name] for name in types] if len(types) > 1 else _TYPES[types[0]]
    if "properties" in schema:
        options["properties"] = {
            name: gateway_schema(field, definitions) for name, field in schema["properties"].items()
        }
    if "items" in schema:
        options["items"] = gateway_schema(schema["items"], definitions)
    return apigw.JsonSchema(**options, **extra)


# The body each POST route's Lambda handler reads (ragline.entrypoints.lambdas.query).
ROUTE_MODELS: dict[str, tuple[str, type[BaseModel]]] = {
    "query": ("QueryRequest", ConversationRequest),
    "search": ("SearchRequest", QueryRequest),
}


def request_model(title: str, request: type[BaseModel]) -> apigw.JsonSchema:
    """The body schema of a POST route, `request`'s JSON schema as a draft-4 model titled `title`."""
    schema = request.model_json_schema()
    body = {key: value for key, value in schema.items() if key not in ("title", "description")}
    return gateway_schema(body, schema=apigw.JsonSchemaVersion.DRAFT4, title=title)


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
        for path, (title, request) in ROUTE_MODELS.items():
            schema = request_model(title, request)
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
