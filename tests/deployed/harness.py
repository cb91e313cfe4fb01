"""A synthesized profile deployed into the mock cloud, and driven the way AWS drives it.

`Deployment` owns the mock cloud, the services moto lacks, and one `DeployedFunction` per
`AWS::Lambda::Function` of the templates. Events reach functions only along the wiring the
templates declare:
- S3 object events go through the bucket's EventBridge notifications and the rules' own
  patterns to their SQS targets (moto's EventBridge does the matching);
- an `AWS::Lambda::EventSourceMapping` turns a queue's messages into the Lambda SQS event, with
  its batch size; the records a function reports as failed become visible again, and the
  queue's redrive policy (moto's SQS) moves them to the dead-letter queue;
- an API Gateway method with an AWS_PROXY integration turns a request into the REST proxy event;
- a custom resource's properties (resolved) become the CloudFormation request its handler gets.
Every invocation is recorded: the report lists each function, what drove it and the outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deployed.cloud import MockCloud, install_iam_completion, install_s3_delete_marker_events
from tests.deployed.functions import DeployedFunction, Invocation, dependency_paths, python_handler_dir
from tests.deployed.services import ModelEndpoints, SearchDomain, TextractService
from tests.deployed.template import ACCOUNT, REGION, Assembly, Resource

MAX_DELIVERY_ROUNDS = 50


@dataclass
class QueueMapping:
    function: DeployedFunction
    queue_url: str
    queue_arn: str
    batch_size: int


@dataclass
class Deployment:
    profile: str
    assembly: Assembly
    search: SearchDomain = field(default_factory=SearchDomain)
    textract: TextractService = field(default_factory=TextractService)
    models: ModelEndpoints = field(default_factory=ModelEndpoints)
    cloud: MockCloud | None = None
    functions: dict[str, DeployedFunction] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    undrivable: dict[str, str] = field(default_factory=dict)  # function label -> why it cannot run here

    # --- set up ---------------------------------------------------------------------------

    def start(self, monkeypatch: Any, *, mutation: dict | None = None) -> None:
        """Deploy; `mutation` removes one variable ({"kind": "env", "function", "name"}) or one policy
        statement ({"kind": "statement", "stack", "policy", "index"}) to prove a scenario notices."""
        install_iam_completion(monkeypatch)
        install_s3_delete_marker_events(monkeypatch)
        self.textract.install(monkeypatch)
        self.models.install(monkeypatch)
        self.search.start()
        self.cloud = MockCloud(self.assembly, search_host=self.search.host)
        if mutation and mutation["kind"] == "statement":
            self.cloud.removed_statement = (mutation["stack"], mutation["policy"], int(mutation["index"]))
        self.cloud.start()
        removed_variable = (mutation["function"], mutation["name"]) if mutation and mutation["kind"] == "env" else None
        for resource in self.assembly.resources("AWS::Lambda::Function"):
            self._add_function(resource, removed_variable)

    def _add_function(self, resource: Resource, removed_variable: tuple[str, str] | None) -> None:
        assert self.cloud
        label = f"{resource.stack}/{resource.logical_id}"
        function_dir = python_handler_dir(resource)
        if function_dir is None:
            self.undrivable[label] = f"{resource.properties.get('Runtime')} handler {resource.properties['Handler']}"
            return
        variables = resource.properties.get("Environment", {}).get("Variables", {})
        environment = {name: str(self.cloud.resolve(resource, value)) for name, value in variables.items()}
        if removed_variable and removed_variable[0] == label:
            environment.pop(removed_variable[1])
        self.functions[label] = DeployedFunction(
            resource,
            self.cloud,
            environment,
            self.assembly.asset_path(resource),
            dependency_paths(function_dir),
            trusted_certificates=self.search.certificate,
        )

    def stop(self) -> None:
        for function in self.functions.values():
            function.stop()
        if self.cloud:
            self.cloud.stop()
        self.search.stop()

    # --- lookups --------------------------------------------------------------------------

    def function(self, handler_dir: str) -> DeployedFunction:
        found = [f for f in self.functions.values() if f.handler.split(".", 1)[0] == handler_dir]
        assert len(found) == 1, f"{self.profile}: {len(found)} functions with handler {handler_dir}.*"
        return found[0]

    def output(self, name: str) -> Any:
        assert self.cloud
        for stack in self.assembly.stacks.values():
            if name in stack.outputs:
                return self.cloud.resolver.resolve(stack.name, stack.outputs[name]["Value"])
        raise KeyError(name)

    def queue_mappings(self) -> Iterator[QueueMapping]:
        assert self.cloud
        by_ref = {(f.resource.stack, f.resource.logical_id): f for f in self.functions.values()}
        for mapping in self.assembly.resources("AWS::Lambda::EventSourceMapping"):
            function_ref = mapping.properties["FunctionName"]["Ref"]
            function = by_ref.get((mapping.stack, function_ref))
            if function is None:
                continue
            arn = self.cloud.resolve(mapping, mapping.properties["EventSourceArn"])
            name = arn.rsplit(":", 1)[1]
            url = f"{self.cloud.endpoint}/{ACCOUNT}/{name}"
            yield QueueMapping(function, url, arn, int(mapping.properties.get("BatchSize", 10)))

    # --- driving --------------------------------------------------------------------------

    def invoke(self, function: DeployedFunction, event: dict, *, trigger: str) -> Invocation:
        invocation = function.invoke(event, trigger=trigger)
        self.invocations.append(invocation)
        return invocation

    def deliver(self) -> list[Invocation]:
        """Run every event source mapping until all their queues are empty, as Lambda's pollers would."""
        assert self.cloud
        sqs = self.cloud.client("sqs")
        handled: list[Invocation] = []
        for _ in range(MAX_DELIVERY_ROUNDS):
            delivered = False
            for mapping in self.queue_mappings():
                messages = sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(mapping.batch_size, 10),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                delivered = True
                invocation = self.invoke(
                    mapping.function,
                    _sqs_event(messages, mapping.queue_arn),
                    trigger=f"SQS {mapping.queue_arn.rsplit(':', 1)[1]}",
                )
                handled.append(invocation)
                self._settle(sqs, mapping.queue_url, messages, invocation)
            if not delivered:
                return handled
        raise AssertionError(f"queues still hold messages after {MAX_DELIVERY_ROUNDS} rounds")

    @staticmethod
    def _settle(sqs: Any, queue_url: str, messages: list[dict], invocation: Invocation) -> None:
        """Delete what succeeded; make what failed visible again (its receive count drives the redrive)."""
        if invocation.ok:
            failed = {item["itemIdentifier"] for item in (invocation.result or {}).get("batchItemFailures", [])}
        else:
            failed = {message["MessageId"] for message in messages}
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def api(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json") -> dict:
        """A request to the REST API, as the AWS_PROXY integration hands it to the function."""
        function = self._api_function(method, path)
        headers = {"Content-Type": content_type} if body is not None else {}
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": path,
                "httpMethod": method,
                "path": f"/prod{path}",
                "stage": "prod",
                "requestId": str(uuid.uuid4()),
                "accountId": ACCOUNT,
                "apiId": "mockapi",
                "identity": {"sourceIp": "127.0.0.1", "userArn": f"arn:aws:iam::{ACCOUNT}:user/caller"},
            },
            "body": body if isinstance(body, str) or body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        response = self.invoke(function, event, trigger=f"API {method} {path}").result
        return {**response, "json": json.loads(response["body"]) if response.get("body") else None}

    def _api_function(self, method: str, path: str) -> DeployedFunction:
        assert self.cloud
        paths = self._api_paths()
        for resource in self.assembly.resources("AWS::ApiGateway::Method"):
            props = resource.properties
            if props["HttpMethod"] != method or paths.get((resource.stack, props["ResourceId"].get("Ref"))) != path:
                continue
            uri = self.cloud.resolve(resource, props["Integration"]["Uri"])
            for function in self.functions.values():
                arn = self.cloud.resolver.resolve(
                    function.resource.stack, {"Fn::GetAtt": [function.resource.logical_id, "Arn"]}
                )
                if arn in uri:
                    return function
        raise AssertionError(f"{self.profile}: the API has no {method} {path} integrated with a function")

    def _api_paths(self) -> dict[tuple[str, str], str]:
        """Each AWS::ApiGateway::Resource's full path, from its PathPart and parents."""
        resources = {r.logical_id: r for r in self.assembly.resources("AWS::ApiGateway::Resource")}

        def full_path(logical_id: str) -> str:
            props = resources[logical_id].properties
            parent = props["ParentId"]
            prefix = full_path(parent["Ref"]) if isinstance(parent, dict) and parent.get("Ref") in resources else ""
            return f"{prefix}/{props['PathPart']}"

        return {(r.stack, logical_id): full_path(logical_id) for logical_id, r in resources.items()}

    def custom_resource(self, resource_type: str, request_type: str = "Create") -> Invocation:
        """The CloudFormation request for a custom resource, as the provider framework forwards it to its handler."""
        assert self.cloud
        [resource] = [r for r in self.assembly.resources(resource_type)]
        properties = self.cloud.resolve(resource, resource.properties)
        token = properties["ServiceToken"]
        handler = self._function_by_arn(token) or self._provider_handler(token)
        event = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": "http://127.0.0.1/unused",
            "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{resource.stack}/1",
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": properties,
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = properties.get("IndexName", resource.logical_id)
        return self.invoke(handler, event, trigger=f"CloudFormation {request_type} {resource_type}")

    def _function_by_arn(self, arn: str) -> DeployedFunction | None:
        assert self.cloud
        for function in self.functions.values():
            own = self.cloud.resolver.resolve(
                function.resource.stack, {"Fn::GetAtt": [function.resource.logical_id, "Arn"]}
            )
            if own == arn:
                return function
        return None

    def _provider_handler(self, framework_arn: str) -> DeployedFunction:
        """The user handler behind a CDK provider framework function (named by its USER_ON_EVENT_FUNCTION_ARN)."""
        assert self.cloud
        for resource in self.assembly.resources("AWS::Lambda::Function"):
            if self.arn_of(resource) != framework_arn:
                continue
            variables = resource.properties.get("Environment", {}).get("Variables", {})
            handler = self._function_by_arn(self.cloud.resolve(resource, variables["USER_ON_EVENT_FUNCTION_ARN"]))
            assert handler, f"{framework_arn}: its user handler is not a function of the templates"
            return handler
        raise AssertionError(f"no function has the ARN {framework_arn}")

    # --- what the report needs ------------------------------------------------------------

    def table(self) -> list[tuple[str, str, str, str]]:
        """(function, handler, trigger, outcome) for every function; undriven ones say so."""
        rows = []
        for label, function in sorted(self.functions.items()):
            mine = [i for i in self.invocations if i.function == label]
            triggers = sorted({i.trigger for i in mine}) or ["-"]
            ok = sum(i.ok for i in mine)
            outcome = f"{ok}/{len(mine)} ok" if mine else "NOT DRIVEN"
            rows.append((label, function.handler, "; ".join(triggers), outcome))
        for label, why in sorted(self.undrivable.items()):
            rows.append((label, why, "-", "NOT DRIVEN (cannot run here)"))
        return rows


def _sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """The event Lambda's SQS poller builds from received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def profile_folder(profile: str) -> Path:
    return Path(__file__).resolve().parents[2] / "cdk.out" / profile
