"""A synthesized profile (`cdk.out/<profile>/`) read as CloudFormation would deploy it.

`Assembly` loads every stack template of one profile; `Resolver` evaluates the intrinsic
functions the templates use (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub,
Fn::GetStackOutput, Fn::ImportValue) against the physical names and ARNs the mock cloud gave
each resource. Nothing here is hand-written settings: functions, environments, roles, policies,
queues and rules all come from the templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}


class UnresolvedError(LookupError):
    """An intrinsic the mock cloud has no value for (a resource it did not create)."""


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.logical_id)


@dataclass
class Stack:
    name: str
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Outputs", {})


@dataclass
class Assembly:
    """The stacks of one profile, in deployment order (dependencies first)."""

    folder: Path
    stacks: dict[str, Stack] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Assembly:
        manifest = json.loads((folder / "manifest.json").read_text())
        assembly = cls(folder)
        for artifact in manifest["artifacts"].values():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = artifact["properties"]["templateFile"]
            name = artifact.get("displayName") or Path(template_file).name.removesuffix(".template.json")
            assembly.stacks[name] = Stack(name, json.loads((folder / template_file).read_text()))
        return assembly

    def resources(self, *types: str) -> Iterator[Resource]:
        for stack in self.stacks.values():
            for logical_id, body in stack.resources.items():
                if not types or body["Type"] in types:
                    yield Resource(
                        stack.name, logical_id, body["Type"], body.get("Properties", {}), body.get("Metadata", {})
                    )

    def resource(self, stack: str, logical_id: str) -> Resource:
        body = self.stacks[stack].resources[logical_id]
        return Resource(stack, logical_id, body["Type"], body.get("Properties", {}), body.get("Metadata", {}))

    def asset_path(self, resource: Resource) -> Path:
        """The folder (or file) of a resource's code asset, as `cdk synth` staged it."""
        return self.folder / resource.metadata["aws:asset:path"]


@dataclass
class Resolver:
    """Evaluates intrinsics; `physical` maps (stack, logical id) to what the mock cloud created."""

    assembly: Assembly
    refs: dict[tuple[str, str], Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    lazy_attributes: Callable[[Resource, str], Any] | None = None
    lazy_refs: Callable[[Resource], Any] | None = None

    def resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {key: self.resolve(stack, item) for key, item in value.items()}
        ((function, argument),) = value.items()
        return getattr(self, "_" + function.replace("Fn::", "fn_").replace("::", "_"))(stack, argument)

    def _Ref(self, stack: str, name: str) -> Any:  # noqa: N802 (named after the intrinsic)
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::StackName":
            return stack
        parameters = self.assembly.stacks[stack].template.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default")
        if (stack, name) not in self.refs and self.lazy_refs and name in self.assembly.stacks[stack].resources:
            self.refs[(stack, name)] = self.lazy_refs(self.assembly.resource(stack, name))
        if (stack, name) not in self.refs:
            raise UnresolvedError(f"{stack}: Ref {name} ({self._type(stack, name)}) has no mock resource")
        return self.refs[(stack, name)]

    def _fn_GetAtt(self, stack: str, argument: Any) -> Any:  # noqa: N802
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        key = (stack, logical_id, attribute)
        if key not in self.attributes and self.lazy_attributes:
            self.attributes[key] = self.lazy_attributes(self.assembly.resource(stack, logical_id), attribute)
        if key not in self.attributes:
            raise UnresolvedError(f"{stack}: GetAtt {logical_id}.{attribute} has no mock value")
        return self.attributes[key]

    def _fn_Join(self, stack: str, argument: list) -> str:  # noqa: N802
        separator, parts = argument
        return separator.join(str(self.resolve(stack, part)) for part in self.resolve(stack, parts))

    def _fn_Select(self, stack: str, argument: list) -> Any:  # noqa: N802
        index, items = argument
        return self.resolve(stack, items)[int(self.resolve(stack, index))]

    def _fn_Split(self, stack: str, argument: list) -> list[str]:  # noqa: N802
        separator, text = argument
        return str(self.resolve(stack, text)).split(separator)

    def _fn_Sub(self, stack: str, argument: Any) -> str:  # noqa: N802
        text, names = (argument, {}) if isinstance(argument, str) else argument
        names = {key: self.resolve(stack, item) for key, item in names.items()}

        def substitute(match: re.Match) -> str:
            token = match.group(1)
            if token in names:
                return str(names[token])
            if "." in token:
                return str(self._fn_GetAtt(stack, token))
            return str(self._Ref(stack, token))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)

    def _fn_GetStackOutput(self, stack: str, argument: dict) -> Any:  # noqa: N802
        producer = argument["StackName"]
        output = self.assembly.stacks[producer].outputs[argument["OutputName"]]
        return self.resolve(producer, output["Value"])

    def _fn_ImportValue(self, stack: str, name: Any) -> Any:  # noqa: N802
        wanted = self.resolve(stack, name)
        for producer in self.assembly.stacks.values():
            for output in producer.outputs.values():
                export = output.get("Export", {}).get("Name")
                if export is not None and self.resolve(producer.name, export) == wanted:
                    return self.resolve(producer.name, output["Value"])
        raise UnresolvedError(f"{stack}: no export named {wanted}")

    def _type(self, stack: str, logical_id: str) -> str:
        return self.assembly.stacks[stack].resources.get(logical_id, {}).get("Type", "unknown")
