"""cdk-nag acknowledgements: one helper, so every one carries a reason and is listed.

cdk-nag 3 runs as a CDK validation plugin (`Validations.of(app).add_plugins(...)`, see
`stacks.app.build_app`); findings are acknowledged through `Validations.of(construct)`.
A rule that reports several findings per resource (IAM4, IAM5) is acknowledged per finding,
`Rule[Finding]`, never wholesale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct, IValidation

PACK = "AwsSolutions"


@dataclass(frozen=True)
class Acknowledged:
    path: str
    rule_id: str
    reason: str


ACKNOWLEDGED: list[Acknowledged] = []


def acknowledge(scope: IConstruct, rule: str, reason: str, *, findings: Sequence[str] = ()) -> None:
    """Acknowledge `AwsSolutions-<rule>` (or only the listed findings of it) on `scope` and below."""
    ids = [f"{PACK}-{rule}[{finding}]" for finding in findings] or [f"{PACK}-{rule}"]
    Validations.of(scope).acknowledge(*[Acknowledgment(id=rule_id, reason=reason) for rule_id in ids])
    ACKNOWLEDGED.extend(Acknowledged(scope.node.path, rule_id, reason) for rule_id in ids)


def checkov_skip(resource: IConstruct, check: str, reason: str) -> None:
    """Skip checkov's `check` (e.g. CKV_AWS_2) on this one resource, the reason beside it in the template
    (`Metadata.checkov.skip`, which checkov reads): unlike .checkov.yaml's list, no other resource is spared."""
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource to mark for checkov")
    skips = (cfn.get_metadata("checkov") or {}).get("skip", [])
    cfn.add_metadata("checkov", {"skip": [*skips, {"id": check, "comment": reason}]})


def flatten(value: object) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids (flatten-cfn-reference)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if name == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(flatten(item) for item in items)
        if name == "Fn::Sub":
            return flatten(arg)
        if name == "Fn::GetAtt":
            return f"<{flatten(arg[0])}.{flatten(arg[1])}>"
        if name == "Fn::ImportValue":
            return flatten(arg)
        if name == "Ref":
            return f"<{flatten(arg)}>"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@jsii.implements(IValidation)
class _DeferredAcknowledgement:
    """Acknowledges resource findings once cross-stack references are resolved.

    A reference to another stack's resource only takes its final form (`Fn::GetStackOutput`)
    in CDK's prepare phase, so the finding id is computed in a construct validation, which
    runs after prepare and before the cdk-nag plugin.
    """

    def __init__(self, scope: IConstruct, rule: str, reason: str, resources: Sequence[str]) -> None:
        self._scope = scope
        self._rule = rule
        self._reason = reason
        self._resources = list(resources)

    def validate(self) -> list[str]:
        stack = Stack.of(self._scope)
        findings = [f"Resource::{flatten(stack.resolve(resource))}" for resource in self._resources]
        acknowledge(self._scope, self._rule, self._reason, findings=findings)
        return []


def acknowledge_resources(scope: IConstruct, reason: str, *, resources: Sequence[str], rule: str = "IAM5") -> None:
    """Acknowledge IAM5 findings for these (wildcard) resource ARNs, given as CDK tokens/strings."""
    scope.node.add_validation(_DeferredAcknowledgement(scope, rule, reason, resources))
