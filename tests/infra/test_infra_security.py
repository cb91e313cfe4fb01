"""Security properties of the synthesized app: encryption, IAM scope, networking, auth, static checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from aws_cdk.assertions import Match

from stacks import nag

# Actions that only accept Resource "*", each with the reason. Any other action on "*" fails.
RESOURCE_STAR_ALLOWED = {
    # Lambda attaching a function to the VPC: acts on ENIs that do not exist yet; Describe* has
    # no resource-level permissions (the same statement as AWSLambdaVPCAccessExecutionRole).
    "ec2:CreateNetworkInterface": "Lambda/SageMaker VPC attachment creates ENIs that do not exist yet",
    "ec2:DescribeNetworkInterfaces": "Describe actions have no resource-level permissions",
    "ec2:DescribeSubnets": "Describe actions have no resource-level permissions",
    "ec2:DeleteNetworkInterface": "the ENIs are created by the service at run time, ids unknown at deploy",
    "ec2:AssignPrivateIpAddresses": "acts on the run-time ENIs Lambda creates",
    "ec2:UnassignPrivateIpAddresses": "acts on the run-time ENIs Lambda creates",
    "ec2:CreateNetworkInterfacePermission": "SageMaker VPC endpoints attach through run-time ENIs",
    "ec2:DeleteNetworkInterfacePermission": "SageMaker VPC endpoints attach through run-time ENIs",
    "ec2:DescribeVpcs": "Describe actions have no resource-level permissions",
    "ec2:DescribeDhcpOptions": "Describe actions have no resource-level permissions",
    "ec2:DescribeSecurityGroups": "Describe actions have no resource-level permissions",
    # X-Ray active tracing: the service defines no resource types.
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    # Textract's async document analysis has no resource types either.
    "textract:StartDocumentAnalysis": "Textract has no resource-level permissions for async analysis",
    "textract:GetDocumentAnalysis": "Textract has no resource-level permissions for async analysis",
    # Metrics: no resource types; statements carry a cloudwatch:namespace condition.
    "cloudwatch:PutMetricData": "no resource-level permissions; scoped by cloudwatch:namespace condition",
    # Pulling a SageMaker model image: the registry token is account-wide.
    "ecr:GetAuthorizationToken": "ECR authorization tokens are not per repository",
}


def _statements(synthesized):
    """(path, statement) of every IAM statement the app authors: policies, inline role policies."""
    for logical_id, (stack, resource) in {
        **synthesized.resources("AWS::IAM::Policy"),
        **synthesized.resources("AWS::IAM::ManagedPolicy"),
    }.items():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            yield f"{stack}/{logical_id}", statement
    for logical_id, (stack, resource) in synthesized.resources("AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield f"{stack}/{logical_id}/{policy['PolicyName']}", statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_cdk_nag_leaves_no_unacknowledged_finding(synthesized):
    findings = [v for v in synthesized.violations if v["plugin"] == nag.PACK]
    assert not findings, "\n".join(f"{v['rule']} at {v['path']}" for v in findings)
    assert synthesized.synth_error is None, synthesized.synth_error


def test_every_acknowledgement_has_a_reason_specific_to_its_resource(synthesized):
    acknowledged = {(a.path, a.rule_id): a.reason for a in nag.ACKNOWLEDGED}
    assert acknowledged
    by_reason: dict[str, set[str]] = {}
    for (path, rule_id), reason in acknowledged.items():
        assert len(reason) >= 60, f"{rule_id} at {path}: reason too short to say why: {reason!r}"
        by_reason.setdefault(reason, set()).add(path)
    # The same text on two different resources would be a blanket reason, not a specific one.
    shared = {reason: paths for reason, paths in by_reason.items() if len(paths) > 1}
    assert not shared, shared


def test_cfn_lint_reports_no_error_on_any_template(synthesized):
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed (make infra-deps)"
    templates = sorted(str(synthesized.outdir / f"{name}.template.json") for name in synthesized.templates)
    result = subprocess.run(
        [cfn_lint, "--non-zero-exit-code", "error", "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line or line.split(":")[-3:-2] == ["error"]]
    assert result.returncode == 0, result.stdout + result.stderr
    assert not errors, "\n".join(errors)


def test_buckets_are_encrypted_versioned_private_and_tls_only(synthesized):
    buckets = synthesized.resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # ingest, archive, access logs
    for logical_id, (_, bucket) in buckets.items():
        props = bucket["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert rule["SSEAlgorithm"] in ("aws:kms", "AES256"), logical_id
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["VersioningConfiguration"]["Status"] == "Enabled", logical_id
    data = synthesized.assertions("data")
    for prefix in ("ingest/", "archive/"):
        data.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketEncryption": Match.object_like(
                    {
                        "ServerSideEncryptionConfiguration": [
                            Match.object_like(
                                {
                                    "ServerSideEncryptionByDefault": {
                                        "SSEAlgorithm": "aws:kms",
                                        "KMSMasterKeyID": Match.any_value(),
                                    }
                                }
                            )
                        ]
                    }
                ),
                "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": prefix},
            },
        )
    data.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )
    policies = synthesized.resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for logical_id, (_, policy) in policies.items():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false" for s in denies), logical_id


def test_tables_streams_queues_topics_logs_and_file_system_are_encrypted(synthesized):
    for logical_id, (_, table) in synthesized.resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert props["SSESpecification"]["SSEType"] == "KMS", logical_id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
    streams = synthesized.resources("AWS::KinesisFirehose::DeliveryStream")
    assert len(streams) == 2
    for logical_id, (_, stream) in streams.items():
        props = stream["Properties"]
        assert props["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK", logical_id
        s3 = props["ExtendedS3DestinationConfiguration"]
        assert s3["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"], logical_id
        assert s3["CompressionFormat"] == "GZIP", logical_id
        assert "year=!{timestamp:yyyy}" in s3["Prefix"], logical_id
    for kind, key in (
        ("AWS::SQS::Queue", "KmsMasterKeyId"),
        ("AWS::SNS::Topic", "KmsMasterKeyId"),
        ("AWS::Logs::LogGroup", "KmsKeyId"),
    ):
        resources = synthesized.resources(kind)
        assert resources, kind
        for logical_id, (_, resource) in resources.items():
            assert resource["Properties"].get(key), f"{kind} {logical_id} is not encrypted with KMS"
    for logical_id, (_, function) in synthesized.resources("AWS::Lambda::Function").items():
        if function["Properties"].get("Environment", {}).get("Variables"):  # CDK's own handlers have none
            assert function["Properties"].get("KmsKeyArn"), f"{logical_id}'s environment is encrypted by AWS's key"
    for logical_id, (_, fs) in synthesized.resources("AWS::EFS::FileSystem").items():
        assert fs["Properties"]["Encrypted"] is True and fs["Properties"]["KmsKeyId"], logical_id
    for logical_id, (_, key) in synthesized.resources("AWS::KMS::Key").items():
        assert key["Properties"]["EnableKeyRotation"] is True, logical_id


def test_search_domain_is_private_encrypted_and_fine_grained(synthesized):
    template = synthesized.template("data")
    (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::OpenSearchService::Domain"]
    props = domain["Properties"]
    assert props["EncryptionAtRestOptions"]["Enabled"] is True
    assert props["EncryptionAtRestOptions"]["KmsKeyId"]
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    security = props["AdvancedSecurityOptions"]
    assert security["Enabled"] is True
    assert security["InternalUserDatabaseEnabled"] is False
    assert security["MasterUserOptions"]["MasterUserARN"]
    assert props["ClusterConfig"]["InstanceType"] == "t3.small.search"
    assert props["ClusterConfig"]["InstanceCount"] == 1
    for log_type in ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"):
        assert props["LogPublishingOptions"][log_type]["Enabled"] is True
    subnet_ids = props["VPCOptions"]["SubnetIds"]
    assert subnet_ids
    for ref in subnet_ids:
        subnet = template["Resources"][ref["Ref"]]
        tags = {tag["Key"]: tag["Value"] for tag in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Private"
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    # HTTPS from the clients' security group only.
    for ref in props["VPCOptions"]["SecurityGroupIds"]:
        group = template["Resources"][ref["Fn::GetAtt"][0]]["Properties"]
        ingress = group.get("SecurityGroupIngress", [])
        assert all("CidrIp" not in rule for rule in ingress)
    # The access policy names one principal (the master role), never "*".
    statements = props["AccessPolicies"]["Statement"]
    assert all("*" not in str(s["Principal"]) for s in statements)


def test_no_iam_statement_grants_resource_star_except_for_actions_that_require_it(synthesized):
    offending = []
    for path, statement in _statements(synthesized):
        if statement["Effect"] != "Allow" or "*" not in _as_list(statement.get("Resource", [])):
            continue
        extra = [a for a in _as_list(statement["Action"]) if a not in RESOURCE_STAR_ALLOWED]
        if extra:
            offending.append(f"{path}: {extra}")
    assert not offending, "\n".join(offending)


def test_put_metric_data_is_limited_to_its_namespaces(synthesized):
    for path, statement in _statements(synthesized):
        if "cloudwatch:PutMetricData" in _as_list(statement["Action"]):
            assert "cloudwatch:namespace" in str(statement.get("Condition", {})), path


def test_model_invocation_is_scoped_to_the_configured_endpoint_and_model(synthesized):
    invoke = [
        (path, statement)
        for path, statement in _statements(synthesized)
        if any(a.startswith(("sagemaker:InvokeEndpoint", "bedrock:InvokeModel")) for a in _as_list(statement["Action"]))
    ]
    assert invoke
    rendered = [str(statement["Resource"]) for _, statement in invoke]
    for resource in rendered:
        assert "endpoint/ragline-embedding" in resource or "foundation-model/anthropic.claude-3-haiku" in resource


def test_datasync_can_write_but_not_delete(synthesized):
    template = synthesized.template("service")
    (task,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::DataSync::Task"]
    assert task["Properties"]["Options"]["PreserveDeletedFiles"] == "PRESERVE"
    assert task["Properties"]["Schedule"]["ScheduleExpression"] == "cron(0 * * * ? *)"
    assert task["Properties"]["CloudWatchLogGroupArn"]
    roles = [statement for path, statement in _statements(synthesized) if "IngestSyncBucketWriteRole" in path]
    actions = [action for statement in roles for action in _as_list(statement["Action"])]
    assert "s3:PutObject" in actions
    assert not [action for action in actions if "Delete" in action]


def test_jump_host_is_reached_through_ssm_only(synthesized):
    template = synthesized.template("service")
    (instance,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Instance"]
    assert "KeyName" not in instance["Properties"]
    assert instance["Properties"]["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    synthesized.assertions("service").has_resource_properties(
        "AWS::IAM::Role",
        {
            "ManagedPolicyArns": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Fn::Join": Match.array_with(
                                [Match.array_with([":iam::aws:policy/AmazonSSMManagedInstanceCore"])]
                            )
                        }
                    )
                ]
            )
        },
    )
    for _, (_, group) in synthesized.resources("AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("FromPort") != 22


def test_every_api_method_requires_auth(synthesized):
    methods = synthesized.resources("AWS::ApiGateway::Method")
    assert len(methods) >= 3
    for logical_id, (_, method) in methods.items():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        assert props["AuthorizationType"] in ("AWS_IAM", "COGNITO_USER_POOLS"), logical_id
        assert props.get("RequestValidatorId"), f"{logical_id} is not validated"
    service = synthesized.assertions("service")
    service.has_resource_properties(
        "AWS::ApiGateway::Method", {"HttpMethod": "POST", "RequestModels": {"application/json": Match.any_value()}}
    )
    service.has_resource_properties(
        "AWS::ApiGateway::Model",
        {"Schema": Match.object_like({"required": ["question"], "additionalProperties": False})},
    )
    service.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40})]
            ),
        },
    )


def test_only_the_index_writers_may_write_to_opensearch(synthesized):
    writers, readers = set(), set()
    for path, statement in _statements(synthesized):
        actions = _as_list(statement["Action"])
        if any(action.startswith("es:ESHttp") for action in actions):
            (writers if "es:ESHttpPut" in actions else readers).add(path.split("/")[1])
    # ingest_start writes when an upload turns a source into a copy of another's content: what the
    # source held goes, or passes to a copy of it.
    assert {name.split("Role")[0] for name in writers} == {
        "SearchIndexBootstrap",
        "IngestionIngestStart",
        "IngestionIndexDocument",
        "IngestionDeleteDocument",
    }
    assert {name.split("Role")[0] for name in readers} == {"Query"}


def test_the_gateway_validates_the_same_request_the_runtime_reads(synthesized):
    """Field names and limits of the API Gateway models are those of the request model each route's handler
    reads (ragline.api: ConversationRequest for /query, QueryRequest for /search)."""
    from ragline.api import QUESTION_MAX_CHARS
    from ragline.filters import SearchFilter
    from stacks.components.api import ROUTE_MODELS

    schemas = [
        resource["Properties"]["Schema"] for _, resource in synthesized.resources("AWS::ApiGateway::Model").values()
    ]
    models = dict(ROUTE_MODELS.values())
    requests = [schema for schema in schemas if schema.get("title") in models]
    assert len(requests) == 2
    for schema in requests:
        assert set(schema["properties"]) == set(models[schema["title"]].model_fields)
        assert set(schema["properties"]["filter"]["properties"]) == set(SearchFilter.model_fields)
        assert schema["properties"]["question"]["maxLength"] == QUESTION_MAX_CHARS


def test_the_gateway_answers_its_own_errors_in_the_runtime_error_shape(synthesized):
    """Throttling, auth, unknown paths, refused bodies and timeouts come from API Gateway, not the function:
    their bodies must still parse as ragline.api.ErrorResponse."""
    import json

    from ragline.api import ErrorResponse

    responses = {
        resource["Properties"]["ResponseType"]: resource["Properties"]["ResponseTemplates"]["application/json"]
        for _, resource in synthesized.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for template in responses.values():
        # What API Gateway substitutes for $context.error.messageString: the message as a quoted JSON string.
        body = template.replace("$context.error.messageString", json.dumps('Missing "Authentication" Token'))
        assert ErrorResponse.model_validate_json(body).error == 'Missing "Authentication" Token'


def _registry_grants(synthesized, action: str) -> dict[str, list]:
    """Role name prefix -> resources of the statements that allow `action` on the registry table or its indexes."""
    granted: dict[str, list] = {}
    for path, statement in _statements(synthesized):
        if action in _as_list(statement["Action"]) and "TablesRegistry" in str(statement["Resource"]):
            granted.setdefault(path.split("/")[1].split("Role")[0], []).extend(_as_list(statement["Resource"]))
    return granted


def test_registry_lookups_query_the_document_index_and_only_the_query_function_scans(synthesized):
    from stacks.components.tables import REGISTRY_DOCUMENT_INDEX

    (registry,) = [
        table
        for logical_id, (_, table) in synthesized.resources("AWS::DynamoDB::Table").items()
        if logical_id.startswith("TablesRegistry")
    ]
    (index,) = registry["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == REGISTRY_DOCUMENT_INDEX
    assert index["KeySchema"] == [{"AttributeName": "document_id", "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}  # the runtime reads whole statuses from it
    # The two functions that look up sources by content hash (ingest_start: is it a duplicate?
    # delete_document: which copy takes the chunks over?) are told the index, so neither falls
    # back to a scan; the others never look a hash up and are not given it.
    told = {
        logical_id.split("Function")[0]
        for logical_id, (_, function) in synthesized.resources("AWS::Lambda::Function").items()
        if function["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        .get("RAGLINE_INDEX__REGISTRY_DOCUMENT_INDEX")
        == REGISTRY_DOCUMENT_INDEX
    }
    assert told == {"IngestionIngestStart", "IngestionDeleteDocument"}
    # Querying a GSI needs its own ARN: the two functions that look sources up by content get exactly that one.
    index_queries = {
        role: resources
        for role, resources in _registry_grants(synthesized, "dynamodb:Query").items()
        if any("/index/" in str(resource) for resource in resources)
    }
    assert set(index_queries) == {"IngestionIngestStart", "IngestionDeleteDocument"}
    for resources in index_queries.values():
        rendered = [str(resource) for resource in resources if "/index/" in str(resource)]
        assert rendered and all(f"/index/{REGISTRY_DOCUMENT_INDEX}" in text for text in rendered)
    # GET /documents lists every document: the query function alone may scan the registry.
    assert set(_registry_grants(synthesized, "dynamodb:Scan")) == {"Query"}
