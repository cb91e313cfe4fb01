"""The mock AWS account a synthesized profile is deployed into: moto as a server, IAM enforced.

`MockCloud` starts moto's server on loopback, creates every resource of the templates that the
runtime talks to (buckets with their EventBridge notifications, queues with their redrive
policies, topics and subscriptions, tables with their indexes, delivery streams, event rules
with their own patterns and targets, VPCs with their default security groups, roles with their
own policies) and then turns IAM enforcement on: from that moment a call succeeds only when the
caller's policies allow it.

The harness itself calls as an administrator user; each function calls with the credentials
of its own role, assumed through STS, exactly as Lambda hands them over.

Four gaps of moto's IAM evaluation are closed here, and said plainly:
- moto names an action after the operation; IAM authorizes Bedrock's Converse as InvokeModel
  and Lambda's Invoke as InvokeFunction;
- DynamoDB's TransactWriteItems has no IAM action of its own: each item is authorized as the
  operation it performs (PutItem, UpdateItem, DeleteItem, ConditionCheckItem) on its table;
- services other than S3 and SQS pass the resource "*" to the policy check, which would make
  every resource-scoped grant fail: the resource is derived from the request (table, topic,
  stream, endpoint, function, security group) where the request names it, and left to the
  action check otherwise;
- condition keys moto does not know (e.g. `s3:prefix`) are treated as satisfied.
KMS grants are not exercised: moto's S3, SQS and SNS do not call KMS.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement
from moto.server import ThreadedMotoServer

from tests.deployed.template import ACCOUNT, REGION, Assembly, Resolver, Resource, UnresolvedError

ADMIN_USER = "ragline-deployed-test-admin"


def _safe_name(stack: str, logical_id: str, limit: int = 63) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"{stack}-{logical_id}".lower())[:limit].rstrip("-")


@dataclass
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


@dataclass
class MockCloud:
    assembly: Assembly
    search_host: str  # the OpenSearch domain's endpoint (a local fake), as DomainEndpoint gives it
    server: ThreadedMotoServer | None = None
    endpoint: str = ""
    admin: Credentials | None = None
    resolver: Resolver = field(init=False)
    # A mutation check removes one statement: (stack, policy logical id, statement index).
    removed_statement: tuple[str, str, int] | None = None
    # (service, access key, secret key, session token) -> its client; see `client`.
    _clients: dict[tuple[str, str, str, str | None], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.resolver = Resolver(
            self.assembly, lazy_attributes=self._placeholder_attribute, lazy_refs=self._placeholder_ref
        )

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        with _iam_enforcement(False):
            self.admin = self._create_admin()
            self.provision()

    def stop(self) -> None:
        """Stop the server and forget every resource: moto's state lives in this process, not in the server."""
        if self.server:
            urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))
            self.server.stop()

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        """A client of the mock account with these credentials (the harness's admin by default), made once.

        Making a client loads its service's model from disk: made anew for every call (the event source
        mappings poll their queues after every invocation), that was an eighth of the 3,000-page scenario's CPU.
        """
        credentials = credentials or self.admin
        access_key, secret_key = (credentials.access_key, credentials.secret_key) if credentials else ("admin", "admin")
        token = credentials.session_token if credentials else None
        key = (service, access_key, secret_key, token)
        if key not in self._clients:
            self._clients[key] = boto3.session.Session().client(
                service,
                region_name=REGION,
                endpoint_url=self.endpoint,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                aws_session_token=token,
            )
        return self._clients[key]

    @contextmanager
    def enforcing(self) -> Iterator[None]:
        """IAM enforced for everything inside: the functions' calls and the harness's (as admin)."""
        with _iam_enforcement(True):
            yield

    def _create_admin(self) -> Credentials:
        iam = self.client("iam")
        iam.create_user(UserName=ADMIN_USER)
        iam.put_user_policy(
            UserName=ADMIN_USER,
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    # --- provisioning ---------------------------------------------------------------------

    def provision(self) -> None:
        order = (
            ("AWS::KMS::Key", self._key),
            ("AWS::EC2::VPC", self._vpc),
            ("AWS::S3::Bucket", self._bucket),
            ("AWS::SQS::Queue", self._queue),
            ("AWS::SNS::Topic", self._topic),
            ("AWS::DynamoDB::Table", self._table),
            ("AWS::IAM::Role", self._role),
            ("AWS::Lambda::Function", self._function),
            ("AWS::Lambda::LayerVersion", self._layer),
            ("AWS::Logs::LogGroup", self._log_group),
            ("AWS::OpenSearchService::Domain", self._domain),
            ("AWS::SageMaker::Endpoint", self._sagemaker_endpoint),
        )
        for resource_type, create in order:
            for resource in self.assembly.resources(resource_type):
                create(resource)
        for resource in self.assembly.resources("AWS::SQS::Queue"):
            self._redrive(resource)
        for resource in self.assembly.resources("AWS::SNS::Subscription"):
            self._subscription(resource)
        for resource in self.assembly.resources("AWS::KinesisFirehose::DeliveryStream"):
            self._delivery_stream(resource)
        for resource in self.assembly.resources("AWS::Events::Rule"):
            self._rule(resource)
        # Policies last: their statements name every other resource, which must have its ARN by now.
        for resource in self.assembly.resources("AWS::IAM::Role"):
            self._inline_policies(resource)
        for resource in self.assembly.resources("AWS::IAM::Policy"):
            self._policy(resource)

    def resolve(self, resource: Resource, value: Any) -> Any:
        return self.resolver.resolve(resource.stack, value)

    def _set(self, resource: Resource, ref: Any, **attributes: Any) -> None:
        self.resolver.refs[resource.key] = ref
        for name, value in attributes.items():
            self.resolver.attributes[(*resource.key, name)] = value

    def _placeholder_attribute(self, resource: Resource, attribute: str) -> Any:
        """A resource the runtime never calls (a VPC, a Glue job...): a well-formed stand-in."""
        if attribute == "Arn":
            service = resource.type.split("::")[1].lower()
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource.logical_id}"
        return f"{resource.logical_id}.{attribute}"

    def _placeholder_ref(self, resource: Resource) -> str:
        return f"mock-{resource.logical_id.lower()}"

    def ref(self, stack: str, logical_id: str) -> Any:
        return self.resolver.resolve(stack, {"Ref": logical_id})

    def _key(self, resource: Resource) -> None:
        key = self.client("kms").create_key(Description=resource.logical_id)["KeyMetadata"]
        self._set(resource, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])

    def _vpc(self, resource: Resource) -> None:
        """A VPC and its default security group, with the rules AWS gives that group: all egress, and
        ingress from the group's own members (moto leaves that one out)."""
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock=self.resolve(resource, resource.properties["CidrBlock"]))["Vpc"]
        filters = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
        [group] = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        members = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"], "UserId": ACCOUNT}]}
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[members])
        self._set(resource, vpc["VpcId"], VpcId=vpc["VpcId"], CidrBlock=vpc["CidrBlock"],
                  DefaultSecurityGroup=group["GroupId"])  # fmt: skip

    def _bucket(self, resource: Resource) -> None:
        name = resource.properties.get("BucketName") or _safe_name(resource.stack, resource.logical_id)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if resource.properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        notifications = resource.properties.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        self._set(resource, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com",
                  RegionalDomainName=f"{name}.s3.{REGION}.amazonaws.com")  # fmt: skip

    def _queue(self, resource: Resource) -> None:
        name = resource.properties.get("QueueName") or _safe_name(resource.stack, resource.logical_id, 80)
        attributes = {"VisibilityTimeout": str(resource.properties.get("VisibilityTimeout", 30))}
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self._set(resource, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _redrive(self, resource: Resource) -> None:
        redrive = resource.properties.get("RedrivePolicy")
        if redrive:
            self.client("sqs").set_queue_attributes(
                QueueUrl=self.ref(resource.stack, resource.logical_id),
                Attributes={"RedrivePolicy": json.dumps(self.resolve(resource, redrive))},
            )

    def _topic(self, resource: Resource) -> None:
        name = resource.properties.get("TopicName") or _safe_name(resource.stack, resource.logical_id, 256)
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self._set(resource, arn, TopicArn=arn, TopicName=name)

    def _subscription(self, resource: Resource) -> None:
        props = self.resolve(resource, resource.properties)
        attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
        self.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], Attributes=attributes
        )

    def _table(self, resource: Resource) -> None:
        props = resource.properties
        name = props.get("TableName") or _safe_name(resource.stack, resource.logical_id, 255)
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {key: value for key, value in index.items() if key in ("IndexName", "KeySchema", "Projection")}
                for index in props["GlobalSecondaryIndexes"]
            ]
        self.client("dynamodb").create_table(**request)
        self._set(resource, name, Arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")

    def _role(self, resource: Resource) -> None:
        props = resource.properties
        name = props.get("RoleName") or _safe_name(resource.stack, resource.logical_id)
        role = self.client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(self.resolve(resource, props["AssumeRolePolicyDocument"])),
        )["Role"]
        self._set(resource, name, Arn=role["Arn"], RoleId=role["RoleId"])

    def _inline_policies(self, resource: Resource) -> None:
        name = self.ref(resource.stack, resource.logical_id)
        for policy in resource.properties.get("Policies", []):
            self.client("iam").put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(self._policy_document(resource, policy["PolicyDocument"])),
            )

    def _policy(self, resource: Resource) -> None:
        props = resource.properties
        policy = dict(props["PolicyDocument"])
        if self.removed_statement and self.removed_statement[:2] == resource.key:
            statements = list(policy["Statement"])
            del statements[self.removed_statement[2]]
            policy["Statement"] = statements
        document = json.dumps(self._policy_document(resource, policy))
        for role in props.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=self.resolve(resource, role), PolicyName=props["PolicyName"], PolicyDocument=document
            )

    def _policy_document(self, resource: Resource, document: dict) -> dict:
        """The policy with every resource resolved; a statement on resources the cloud lacks keeps a stand-in."""
        resolved = []
        for statement in document["Statement"]:
            try:
                resolved.append(self.resolve(resource, statement))
            except UnresolvedError:
                resolved.append({**statement, "Resource": f"arn:aws:unresolved:::{resource.logical_id}"})
        return {**document, "Statement": resolved}

    def _function(self, resource: Resource) -> None:
        """The function's configuration in moto's Lambda (GetFunction answers: the CDK provider framework waits
        on it when an Invoke fails); its code runs in the harness's workers, so moto holds an empty package."""
        props = resource.properties
        name = props.get("FunctionName") or _safe_name(resource.stack, resource.logical_id, 64)
        empty_package = io.BytesIO()
        zipfile.ZipFile(empty_package, "w").close()
        created = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props["Runtime"],
            Role=self.resolve(resource, props["Role"]),
            Handler=props["Handler"],
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Code={"ZipFile": empty_package.getvalue()},
        )
        self._set(resource, name, Arn=created["FunctionArn"])

    def _layer(self, resource: Resource) -> None:
        self._set(resource, f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{resource.logical_id}:1")

    def _log_group(self, resource: Resource) -> None:
        name = resource.properties.get("LogGroupName") or f"/aws/ragline/{resource.logical_id}"
        self._set(resource, name, Arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*")

    def _domain(self, resource: Resource) -> None:
        name = resource.properties.get("DomainName") or _safe_name(resource.stack, resource.logical_id, 28)
        arn = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{name}"
        self._set(resource, name, Arn=arn, DomainArn=arn, DomainEndpoint=self.search_host)

    def _sagemaker_endpoint(self, resource: Resource) -> None:
        name = self.resolve(resource, resource.properties.get("EndpointName")) or resource.logical_id.lower()
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"
        self._set(resource, arn, EndpointName=name)

    def _delivery_stream(self, resource: Resource) -> None:
        props = self.resolve(resource, resource.properties)
        name = props.get("DeliveryStreamName") or _safe_name(resource.stack, resource.logical_id)
        destination = props["ExtendedS3DestinationConfiguration"]
        self.client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration={
                "RoleARN": destination["RoleARN"],
                "BucketARN": destination["BucketARN"],
                "Prefix": destination.get("Prefix", ""),
            },
        )
        self._set(resource, name, Arn=f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}")

    def _rule(self, resource: Resource) -> None:
        props = self.resolve(resource, resource.properties)
        name = props.get("Name") or _safe_name(resource.stack, resource.logical_id, 64)
        events = self.client("events")
        events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props.get("State", "ENABLED"))
        targets = [{"Id": target["Id"], "Arn": target["Arn"]} for target in props.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        self._set(resource, name, Arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")

    # --- roles ----------------------------------------------------------------------------

    def assume(self, role_arn: str, session: str) -> Credentials:
        """The role's temporary credentials, as Lambda gets them for a function."""
        with _iam_enforcement(False):
            found = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session[:64])["Credentials"]
        return Credentials(found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])


@contextmanager
def _iam_enforcement(enabled: bool) -> Iterator[None]:
    previous = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if enabled else float("inf")
    ActionAuthenticatorMixin.request_count = 0
    try:
        yield
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = previous


# --- moto's IAM evaluation, completed for the services the runtime calls -----------------

_check_element_matches = IAMPolicyStatement._check_element_matches
_check_conditions = IAMPolicyStatement._check_conditions


def _element_matches(self: IAMPolicyStatement, element: str, value: str) -> bool:
    # moto passes "*" when it does not know the request's resource: leave it to the action check.
    if element == "Resource" and value == "*":
        return True
    return _check_element_matches(self, element, value)


def _conditions(self: IAMPolicyStatement, incoming: dict[str, str] | None) -> bool:
    condition = self._statement.get("Condition")
    if condition and not incoming:
        return True  # a key moto cannot evaluate (s3:prefix, aws:SourceArn): not enforced here
    return _check_conditions(self, incoming)


# IAM authorizes some operations under another action's name; moto names the action after the operation.
ACTION_ALIASES = {
    "bedrock:Converse": "bedrock:InvokeModel",
    "bedrock:ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "lambda:Invoke": "lambda:InvokeFunction",
}
_is_action_permitted = IAMPolicy.is_action_permitted


# moto names a few services after their signing name rather than their IAM prefix.
SERVICE_ALIASES = {"monitoring": "cloudwatch"}


def _aliased_action_permitted(self: IAMPolicy, action: str, resource: str = "*", *args: Any, **kwargs: Any) -> Any:
    service, _, name = action.partition(":")
    action = f"{SERVICE_ALIASES.get(service, service)}:{name}"
    return _is_action_permitted(self, ACTION_ALIASES.get(action, action), resource, *args, **kwargs)


def install_s3_delete_marker_events(monkeypatch: Any) -> None:
    """S3 reports a delete in a versioned bucket (a delete marker) as "Object Deleted"; moto sends nothing."""
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    original = S3Backend.delete_object

    def delete_object(self: S3Backend, bucket_name: str, key_name: str, version_id: str | None = None, **kwargs: Any):
        bucket = self.get_bucket(bucket_name)
        deleted = bucket.keys.get(key_name)
        outcome = original(self, bucket_name, key_name, version_id, **kwargs)
        if bucket.is_versioned and version_id is None and deleted is not None:
            notifications.send_event(
                self.account_id,
                notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                bucket,
                deleted,
            )
        return outcome

    monkeypatch.setattr(S3Backend, "delete_object", delete_object)


def install_s3_event_sequencers(monkeypatch: Any) -> None:
    """S3 gives each event of a key a new, larger `sequencer`; moto sends the same one with every event.
    ingest_start names its Textract job after the upload's sequencer, so the same bytes uploaded again
    must start a new job as on AWS, not be answered with the first upload's job and no completion."""
    from moto.events.models import Rule

    original = Rule.send_to_targets
    numbers = itertools.count(1)
    last: list[dict] = []  # the event numbered last (held, so that its id is not reused)

    def send_to_targets(self: Rule, event: dict, transform_input: bool = True) -> None:
        # moto passes one event to every rule of the bus as the same dict: number it once, at the first rule.
        if event.get("source") == "aws.s3" and not (last and last[0] is event):
            event["detail"]["object"]["sequencer"] = f"{next(numbers):016X}"
            last[:] = [event]
        return original(self, event, transform_input)

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)


def install_s3_missing_key_answer(monkeypatch: Any) -> None:
    """S3 answers a missing key with 404 only to a caller allowed s3:ListBucket, 403 to others; moto
    always says 404. A function that tells "deleted" from "forbidden" by that status needs the grant."""
    from moto.s3.responses import S3Response

    from tests.deployed.services import AccessDeniedError, access_key_of, role_permits

    original = S3Response.head_object

    def head_object(self: S3Response, bucket_name: str, query: dict, key_name: str, headers: dict) -> Any:
        status, response_headers, body = original(self, bucket_name, query, key_name, headers)
        if status == 404 and settings_enforced():
            try:
                allowed = role_permits(access_key_of(self.headers), "s3:ListBucket", f"arn:aws:s3:::{bucket_name}")
            except AccessDeniedError:
                allowed = False
            if not allowed:
                return 403, response_headers, ""
        return status, response_headers, body

    monkeypatch.setattr(S3Response, "head_object", head_object)


def settings_enforced() -> bool:
    return moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == 0


def install_iam_completion(monkeypatch: Any) -> None:
    monkeypatch.setattr(IAMPolicy, "is_action_permitted", _aliased_action_permitted)
    monkeypatch.setattr(IAMPolicyStatement, "_check_element_matches", _element_matches)
    monkeypatch.setattr(IAMPolicyStatement, "_check_conditions", _conditions)
    _install_resource_resolvers(monkeypatch)
    _install_transaction_authorization(monkeypatch)
    _install_lambda_access_denied_in_json(monkeypatch)


def _install_lambda_access_denied_in_json(monkeypatch: Any) -> None:
    """moto refuses a call with an XML body; Lambda's API answers in JSON, the only error the JavaScript SDK
    can read there (else a refused Invoke reaches the provider framework as "not valid JSON")."""
    from moto.awslambda.responses import LambdaResponse
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    authorize = LambdaResponse._authenticate_and_authorize_normal_action

    def authorize_in_json(self: LambdaResponse, resource: str = "*") -> None:
        try:
            authorize(self, resource)
        except AccessDeniedError as refused:
            denied = JsonRESTError("AccessDeniedException", f"{refused.message} on resource: {resource}")
            denied.code = 403
            raise denied from refused

    monkeypatch.setattr(LambdaResponse, "_authenticate_and_authorize_normal_action", authorize_in_json)


# "Permissions for Put, Update, Delete [...] are governed by the permissions used for the underlying
# PutItem, UpdateItem, DeleteItem [...] operations" (DynamoDB developer guide, "Using IAM with DynamoDB
# transactions"); moto checks one action named after the operation, dynamodb:TransactWriteItems.
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _install_transaction_authorization(monkeypatch: Any) -> None:
    from moto.dynamodb.responses import DynamoHandler

    authorize = DynamoHandler._authenticate_and_authorize_normal_action

    def authorize_each_item(self: DynamoHandler, resource: str = "*") -> None:
        if self._get_action() != "TransactWriteItems":
            return authorize(self, resource)
        body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
        try:
            for item in body.get("TransactItems", []):
                [(kind, operation)] = item.items()
                self._get_action = lambda kind=kind: TRANSACT_ITEM_ACTIONS[kind]  # type: ignore[method-assign]
                authorize(self, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{operation['TableName']}")
        finally:
            vars(self).pop("_get_action", None)
        return None

    monkeypatch.setattr(DynamoHandler, "_authenticate_and_authorize_normal_action", authorize_each_item)


def _install_resource_resolvers(monkeypatch: Any) -> None:
    """Tell moto which resource a DynamoDB, SNS, Firehose, SageMaker, Lambda or EC2 request is about."""
    from moto.awslambda.responses import LambdaResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.ec2.responses import EC2Response
    from moto.firehose.responses import FirehoseResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
    from moto.sns.responses import SNSResponse

    def request_json(self: Any) -> dict:
        body = self.body
        return body if isinstance(body, dict) else json.loads(body or "{}")

    def dynamodb_resource(self: Any) -> str:
        body = request_json(self)
        table = body.get("TableName")
        if not table:
            return "*"
        index = body.get("IndexName")
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
        return f"{arn}/index/{index}" if index else arn

    def sns_resource(self: Any) -> str:
        return self._get_param("TopicArn") or "*"

    def firehose_resource(self: Any) -> str:
        name = request_json(self).get("DeliveryStreamName")
        return f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}" if name else "*"

    def sagemaker_resource(self: Any) -> str:
        match = re.search(r"/endpoints/([^/]+)/invocations", self.path or "")
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{match.group(1).lower()}" if match else "*"

    def lambda_resource(self: Any) -> str:
        # /2015-03-31/functions/<name, ARN or partial ARN, URL-encoded>/invocations
        match = re.search(r"/functions/([^/?]+)", self.path or "")
        if not match:
            return "*"
        name = unquote(match.group(1))
        return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    def ec2_resource(self: Any) -> str:
        group = self._get_param("GroupId")
        return f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}" if group else "*"

    for response_class, resolver in (
        (DynamoHandler, dynamodb_resource),
        (SNSResponse, sns_resource),
        (FirehoseResponse, firehose_resource),
        (SageMakerRuntimeResponse, sagemaker_resource),
        (LambdaResponse, lambda_resource),
        (EC2Response, ec2_resource),
    ):
        monkeypatch.setattr(response_class, "_determine_resource", resolver, raising=False)
