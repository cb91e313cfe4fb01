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
- a custom resource's properties (resolved) become the CloudFormation request sent to the
  function its ServiceToken names (the CDK provider framework, or a handler of its own), with a
  ResponseURL whose response is what the scenario checks;
- Lambda's Invoke API (the provider framework invoking its user handler) runs the function the
  harness knows by that name, once moto has authorized the caller (cloud.py).
Every invocation is recorded: the report lists each function, what drove it and the outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.aws.api_events import api_event, cognito_caller, iam_caller, sqs_event
from tests.deployed.cloud import (
    MockCloud,
    install_iam_completion,
    install_s3_delete_marker_events,
    install_s3_event_sequencers,
    install_s3_missing_key_answer,
)
from tests.deployed.functions import (
    DeployedFunction,
    Invocation,
    NodeFunction,
    layer_paths,
    node_runtime_sdk,
    python_handler_dir,
)
from tests.deployed.services import (
    CloudFormationResponse,
    CloudFormationResponses,
    ModelEndpoints,
    SearchDomain,
    TextractService,
    access_key_of,
)
from tests.deployed.template import ACCOUNT, REGION, Assembly, Resource

MAX_DELIVERY_ROUNDS = 100
# The custom resources without which no document can be indexed or searched, in the order they are created.
STACK_CREATION_CUSTOM_RESOURCES = ("Custom::RaglineSearchIndex", "Custom::RaglineSearchRoleMapping")


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
    cloudformation: CloudFormationResponses = field(default_factory=CloudFormationResponses)
    cloud: MockCloud | None = None
    functions: dict[str, DeployedFunction] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    undrivable: dict[str, str] = field(default_factory=dict)  # function label -> why it cannot run here
    physical_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # custom resource -> its physical id

    # --- set up ---------------------------------------------------------------------------

    def start(self, monkeypatch: Any, *, mutation: dict | None = None) -> None:
        """Deploy; `mutation` removes one variable ({"kind": "env", "function", "name"}) or one policy
        statement ({"kind": "statement", "stack", "policy", "index"}) to prove a scenario notices."""
        install_iam_completion(monkeypatch)
        install_s3_delete_marker_events(monkeypatch)
        install_s3_event_sequencers(monkeypatch)
        install_s3_missing_key_answer(monkeypatch)
        self.textract.install(monkeypatch)
        self.models.install(monkeypatch)
        self._serve_lambda_invoke(monkeypatch)
        self.search.start()
        self.cloudformation.start()
        self.cloud = MockCloud(self.assembly, search_host=self.search.host)
        if mutation and mutation["kind"] == "statement":
            self.cloud.removed_statement = (mutation["stack"], mutation["policy"], int(mutation["index"]))
        self.cloud.start()
        self.models.endpoint_formats.update(self._container_formats())
        removed_variable = (mutation["function"], mutation["name"]) if mutation and mutation["kind"] == "env" else None
        for resource in self.assembly.resources("AWS::Lambda::Function"):
            self._add_function(resource, removed_variable)

    def _add_function(self, resource: Resource, removed_variable: tuple[str, str] | None) -> None:
        assert self.cloud
        label = f"{resource.stack}/{resource.logical_id}"
        runtime = resource.properties.get("Runtime", "")
        if not runtime.startswith(("python", "nodejs")):
            self.undrivable[label] = f"{runtime} handler {resource.properties['Handler']}"
            return
        variables = resource.properties.get("Environment", {}).get("Variables", {})
        environment = {name: str(self.cloud.resolve(resource, value)) for name, value in variables.items()}
        if "RAGLINE_EMBEDDING__ENDPOINT_NAME" in environment and "RAGLINE_EMBEDDING__DIMENSION" in environment:
            endpoint = environment["RAGLINE_EMBEDDING__ENDPOINT_NAME"]
            self.models.endpoint_dimensions[endpoint] = int(environment["RAGLINE_EMBEDDING__DIMENSION"])
        if removed_variable and removed_variable[0] == label:
            environment.pop(removed_variable[1])
        asset = self.assembly.asset_path(resource)
        function_dir = python_handler_dir(resource)
        if function_dir is not None:
            self.functions[label] = DeployedFunction(
                resource,
                self.cloud,
                environment,
                asset,
                layer_paths(self.assembly, resource),
                trusted_certificates=self.search.certificate,
            )
        else:
            self.functions[label] = NodeFunction(
                resource,
                self.cloud,
                environment,
                asset,
                [node_runtime_sdk()],
                trusted_certificates=self.cloudformation.certificate,
                routes=self.cloudformation.routes,
            )

    def _serve_lambda_invoke(self, monkeypatch: Any) -> None:
        """Lambda's Invoke API for the templates' functions (moto's own runs a container): the function runs
        in its worker and the call is recorded like every other. moto has authorized the caller before this
        runs (lambda:InvokeFunction on the function's ARN, see cloud.py)."""
        from moto.awslambda.responses import LambdaResponse

        deployment = self
        moto_invoke = LambdaResponse.invoke

        def invoke(response: LambdaResponse) -> Any:
            function = deployment._function_named(unquote(response.path.rsplit("/", 2)[-2]))
            invocation_type = response.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
            if function is None or invocation_type != "RequestResponse":
                return moto_invoke(response)
            event = json.loads(response.body or "null")
            caller = deployment._caller(response.headers)
            return _lambda_invoke_response(deployment.invoke(function, event, trigger=f"Lambda Invoke from {caller}"))

        monkeypatch.setattr(LambdaResponse, "invoke", invoke)

    def stop(self) -> None:
        for function in self.functions.values():
            function.stop()
        if self.cloud:
            self.cloud.stop()
        self.search.stop()
        self.cloudformation.stop()

    def _container_formats(self) -> dict[str, str]:
        """endpoint name -> the request format of the container its model runs (from the templates)."""
        assert self.cloud
        formats = {}
        for endpoint in self.assembly.resources("AWS::SageMaker::Endpoint"):
            config = self.assembly.resource(endpoint.stack, endpoint.properties["EndpointConfigName"]["Fn::GetAtt"][0])
            [variant] = config.properties["ProductionVariants"]
            model = self.assembly.resource(endpoint.stack, variant["ModelName"]["Fn::GetAtt"][0])
            container = self.cloud.resolve(model, model.properties["PrimaryContainer"])
            image, environment = str(container.get("Image", "")), container.get("Environment", {})
            if environment.get("HF_TASK") == "sentence-embeddings":
                formats[endpoint.properties["EndpointName"]] = "hf-sentence-embeddings"
            elif "text-embeddings-inference" in image or "-tei" in image:
                formats[endpoint.properties["EndpointName"]] = "tei"
        return formats

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

    def deliver(self, *, only: str | None = None, rounds: int = MAX_DELIVERY_ROUNDS) -> list[Invocation]:
        """Run every event source mapping (or only those of the `only` handler) until their queues are
        empty, as Lambda's pollers would; or stop after `rounds` polls of each (a document's windows
        half done, for a scenario that acts in between)."""
        assert self.cloud
        handled: list[Invocation] = []
        for _ in range(rounds):
            delivered = False
            for mapping in self.queue_mappings():
                if only and mapping.function.handler.split(".", 1)[0] != only:
                    continue
                sqs = self._poller(mapping.function)
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
                    sqs_event(messages, mapping.queue_arn, REGION),
                    trigger=f"SQS {mapping.queue_arn.rsplit(':', 1)[1]}",
                )
                handled.append(invocation)
                self._settle(sqs, mapping.queue_url, messages, invocation)
            if not delivered:
                return handled
        if rounds < MAX_DELIVERY_ROUNDS:
            return handled
        raise AssertionError(f"queues still hold messages after {MAX_DELIVERY_ROUNDS} rounds")

    def _poller(self, function: DeployedFunction) -> Any:
        """An SQS client with the function's own role: Lambda's event source mapping polls, deletes and
        returns messages with the execution role's permissions, not with the harness's."""
        assert self.cloud
        if getattr(function, "credentials", None) is None:
            function.start()
        return self.cloud.client("sqs", function.credentials)

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

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        caller: str | None = None,
    ) -> dict:
        """A request to the REST API, as the AWS_PROXY integration hands it to the function. `caller` names a
        user: the request context then carries the identity the method's authorizer gives that user."""
        function = self._api_function(method, path)
        event = api_event(
            body,
            content_type=content_type if body is not None else None,
            method=method,
            path=path,
            caller=self._authenticated(method, path, caller) if caller else None,
        )
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
                if function.arn in uri:
                    return function
        raise AssertionError(f"{self.profile}: the API has no {method} {path} integrated with a function")

    def _authenticated(self, method: str, path: str, user: str) -> dict:
        """What API Gateway puts in the request context for `user` under the method's authorization type:
        a Cognito user pool's claims (its `sub`), or the SigV4 signer's IAM identity."""
        paths = self._api_paths()
        [authorization] = {
            resource.properties.get("AuthorizationType")
            for resource in self.assembly.resources("AWS::ApiGateway::Method")
            if resource.properties["HttpMethod"] == method
            and paths.get((resource.stack, resource.properties["ResourceId"].get("Ref"))) == path
        }
        if authorization == "COGNITO_USER_POOLS":
            return cognito_caller(str(uuid.uuid5(uuid.NAMESPACE_URL, user)), email=f"{user}@example.com")
        assert authorization == "AWS_IAM", f"{self.profile}: {method} {path} is authorized by {authorization}"
        return iam_caller(f"arn:aws:iam::{ACCOUNT}:user/{user}")

    def _api_paths(self) -> dict[tuple[str, str], str]:
        """Each AWS::ApiGateway::Resource's full path, from its PathPart and parents."""
        resources = {r.logical_id: r for r in self.assembly.resources("AWS::ApiGateway::Resource")}

        def full_path(logical_id: str) -> str:
            props = resources[logical_id].properties
            parent = props["ParentId"]
            prefix = full_path(parent["Ref"]) if isinstance(parent, dict) and parent.get("Ref") in resources else ""
            return f"{prefix}/{props['PathPart']}"

        return {(r.stack, logical_id): full_path(logical_id) for logical_id, r in resources.items()}

    def provision(self) -> None:
        """Where CloudFormation leaves a new stack: the search domain's custom resources created (the chunk index,
        then the functions' role mappings), each once. A scenario that already created one is not repeated."""
        assert self.cloud
        for resource_type in STACK_CREATION_CUSTOM_RESOURCES:
            [resource] = self.assembly.resources(resource_type)
            if resource.key in self.physical_ids:
                continue
            with self.cloud.enforcing():
                response = self.custom_resource(resource_type, "Create")
            assert response.status == "SUCCESS", f"{resource_type}: {response.reason}"

    def custom_resource(self, resource_type: str, request_type: str = "Create") -> CloudFormationResponse:
        """Send CloudFormation's request for the custom resource of this type to the function its ServiceToken
        names, and return the response that function PUT to the request's ResponseURL. Update and Delete
        carry the physical id the last successful response gave, as CloudFormation remembers it."""
        assert self.cloud
        [resource] = [r for r in self.assembly.resources(resource_type)]
        properties = self.cloud.resolve(resource, resource.properties)
        token = properties["ServiceToken"]
        function = self._function_by_arn(token)
        assert function, f"{resource_type}: its ServiceToken {token} is no function of the templates"
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{resource.stack}/{_stack_guid(resource.stack)}"
        request_id = str(uuid.uuid4())
        event = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": self.cloudformation.url(stack_id, resource.logical_id, request_id),
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": properties,
        }
        if request_type != "Create":
            assert resource.key in self.physical_ids, f"{resource_type}: {request_type} before a successful Create"
            event["PhysicalResourceId"] = self.physical_ids[resource.key]
        if request_type == "Update":
            event["OldResourceProperties"] = properties  # the same template deployed again
        invocation = self.invoke(function, event, trigger=f"CloudFormation {request_type} {resource_type}")
        response = self.cloudformation.response_to(event["ResponseURL"])
        if response is None:
            invocation.result  # noqa: B018 (raises with the function's error and logs when it failed)
            raise AssertionError(f"{function.label} sent no response to CloudFormation\n" + "\n".join(invocation.logs))
        if response.status == "SUCCESS":
            self.physical_ids[resource.key] = response.physical_resource_id
        return response

    def _function_by_arn(self, arn: str) -> DeployedFunction | None:
        return next((function for function in self.functions.values() if function.arn == arn), None)

    def _function_named(self, name: str) -> DeployedFunction | None:
        """The function an Invoke names: by name, ARN or partial ARN, with or without a qualifier."""
        parts = name.split(":")
        bare = parts[6] if name.startswith("arn:") else parts[2] if len(parts) > 2 else parts[0]
        return next((function for function in self.functions.values() if function.name == bare), None)

    def _caller(self, headers: Any) -> str:
        """Who signed a request: the function whose role session signed it, else the role or the harness."""
        from moto.sts.models import sts_backends

        assumed = sts_backends[ACCOUNT]["global"].get_assumed_role_from_access_key(access_key_of(headers))
        if assumed is None:
            return "the harness"
        by_session = (label for label, function in self.functions.items() if function.name == assumed.session_name)
        return next(by_session, assumed.role_arn)

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


def _lambda_invoke_response(invocation: Invocation) -> tuple[int, dict[str, str], str]:
    """What Lambda's Invoke API answers: the function's result, or its error with the FunctionError header."""
    headers = {"content-type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
    if invocation.ok:
        return 200, headers, json.dumps(invocation.outcome["result"])
    error = {
        "errorMessage": invocation.outcome["message"],
        "errorType": invocation.outcome["error"],
        "stackTrace": invocation.outcome.get("trace", "").splitlines(),
    }
    return 200, {**headers, "X-Amz-Function-Error": "Unhandled"}, json.dumps(error)


def _stack_guid(stack: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, stack)  # one stable stack id per stack name, as a deployed stack has


def profile_folder(profile: str) -> Path:
    return Path(__file__).resolve().parents[2] / "cdk.out" / profile
