"""Each Lambda function of a template, run as it is deployed: its asset, its environment, its role.

A `DeployedFunction` is read from its `AWS::Lambda::Function` resource: handler, runtime,
memory, timeout, environment (references resolved to the mock cloud's resources), role and
code asset (the folder `cdk synth` staged). A Python function runs in a worker process started
with `python -I -S` by a CPython of the runtime's version (`stacks.lambda_python`, the one the
build compiled the assets' bytecode with), whose only importable code is the standard library,
the staged code asset, the staged layers (`<layer>/python`, as Lambda mounts them under /opt)
and the SDK the Lambda runtime provides: exactly what deploys, nothing rebuilt for the test.

A `NodeFunction` (the CDK's own handlers: the custom resource provider framework, the VPC
default security group handler) runs in `worker.js` under the local `node`, with NODE_PATH
holding only its staged asset and the AWS SDK v3 clients the Lambda Node.js runtime provides
(pinned in `node-runtime/package-lock.json`, installed once into build/deployed/node-runtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import lambda_python
from tests.deployed.cloud import Credentials, MockCloud
from tests.deployed.template import REGION, Assembly, Resource
from tests.deployed.worker import RESULT_MARKER

WORKER = Path(__file__).with_name("worker.py")
NODE_WORKER = Path(__file__).with_name("worker.js")
NODE_RUNTIME = Path(__file__).with_name("node-runtime")  # package.json + package-lock.json of the runtime's SDK
REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "deployed"

# Beyond the template and the Lambda runtime, the harness sets only AWS_ENDPOINT_URL (every SDK client
# talks to the mock cloud), POWERTOOLS_TRACE_DISABLED (no X-Ray daemon here), and the CA bundle of its
# own HTTPS servers (search domain, CloudFormation's ResponseURL): REQUESTS_CA_BUNDLE / NODE_EXTRA_CA_CERTS.


@dataclass
class Invocation:
    function: str
    trigger: str
    outcome: dict[str, Any]
    logs: list[str]

    @property
    def ok(self) -> bool:
        return "error" not in self.outcome

    @property
    def usage(self) -> dict[str, float]:
        """Duration (seconds) and the environment's peak resident memory so far (MB), as Lambda reports them."""
        return self.outcome.get("usage", {})

    @property
    def result(self) -> Any:
        if not self.ok:
            raise AssertionError(
                f"{self.function} failed on {self.trigger}: {self.outcome['error']}: {self.outcome['message']}\n"
                f"{self.outcome.get('trace', '')}\n--- logs ---\n" + "\n".join(self.logs[-30:])
            )
        return self.outcome["result"]

    def metrics(self) -> dict[str, float]:
        """The EMF metrics the function printed, summed by name."""
        totals: dict[str, float] = {}
        for metric in self.emitted():
            totals[metric.name] = totals.get(metric.name, 0) + metric.value
        return totals

    def emitted(self) -> list[EmittedMetric]:
        """Every EMF metric the function printed, with the namespace and dimensions CloudWatch would file it under."""
        found = []
        for line in self.logs:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or "_aws" not in record:
                continue
            for directive in record["_aws"].get("CloudWatchMetrics", []):
                for dimension_set in directive.get("Dimensions", [[]]) or [[]]:
                    dimensions = tuple(sorted((name, str(record.get(name))) for name in dimension_set))
                    for metric in directive.get("Metrics", []):
                        value = record.get(metric["Name"], 0)
                        total = sum(value) if isinstance(value, list) else value
                        found.append(EmittedMetric(directive["Namespace"], metric["Name"], dimensions, total))
        return found


@dataclass(frozen=True)
class EmittedMetric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float


@dataclass
class DeployedFunction:
    resource: Resource
    cloud: MockCloud
    environment: dict[str, str]
    code_asset: Path
    dependency_paths: list[Path]
    trusted_certificates: Path | None = None
    credentials: Credentials | None = None  # the role's, once started
    _process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.cloud.ref(self.resource.stack, self.resource.logical_id)

    @property
    def handler(self) -> str:
        return self.resource.properties["Handler"]

    @property
    def runtime(self) -> str:
        return self.resource.properties.get("Runtime", "")

    @property
    def label(self) -> str:
        return f"{self.resource.stack}/{self.resource.logical_id}"

    @property
    def arn(self) -> str:
        return self.cloud.resolver.resolve(self.resource.stack, {"Fn::GetAtt": [self.resource.logical_id, "Arn"]})

    def start(self) -> None:
        props = self.resource.properties
        role_arn = self.cloud.resolve(self.resource, props["Role"])
        credentials: Credentials = self.cloud.assume(role_arn, self.name)
        self.credentials = credentials  # the event source mapping polls its queue with them too
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "LAMBDA_TASK_ROOT": str(self.code_asset),
            "_HANDLER": self.handler,
            "AWS_ENDPOINT_URL": self.cloud.endpoint,
            **({"AWS_LAMBDA_LOG_FORMAT": "JSON"} if props.get("LoggingConfig", {}).get("LogFormat") == "JSON" else {}),
            **self.runtime_variables(),
            **credentials.environment(),
            **self.environment,
        }
        config = {
            "handler": self.handler,
            "function_name": self.name,
            "memory_mb": int(props.get("MemorySize", 128)),
            "timeout_s": int(props.get("Timeout", 3)),
            "arn": self.arn,
            **self.worker_config(),
        }
        self._process = subprocess.Popen(
            [*self.worker_command(), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            cwd=self.code_asset,
        )

    def worker_command(self) -> list[str]:
        return [str(lambda_python.interpreter()), "-I", "-S", str(WORKER)]

    def runtime_variables(self) -> dict[str, str]:
        variables = {"POWERTOOLS_TRACE_DISABLED": "true"}
        if self.trusted_certificates:
            variables["REQUESTS_CA_BUNDLE"] = str(self.trusted_certificates)
        return variables

    def worker_config(self) -> dict[str, Any]:
        return {"paths": [*map(str, self.code_paths()), *map(str, self.dependency_paths)]}

    def code_paths(self) -> list[Path]:
        """The staged code asset; with RAGLINE_DEPLOYED_LIVE_CODE=1, the working tree instead (a faster
        edit-and-rerun loop while developing: no re-synth; CI always runs the staged asset)."""
        if os.environ.get("RAGLINE_DEPLOYED_LIVE_CODE") == "1":
            return [REPO / "lambdas", REPO]
        return [self.code_asset]

    def invoke(self, event: dict[str, Any], *, trigger: str) -> Invocation:
        if self._process is None:
            self.start()
        process = self._process
        assert process and process.stdin and process.stdout
        process.stdin.write(json.dumps({"event": event}) + "\n")
        process.stdin.flush()
        logs: list[str] = []
        for line in process.stdout:
            if line.rstrip("\n") == RESULT_MARKER:
                outcome = json.loads(process.stdout.readline())
                return Invocation(self.label, trigger, outcome, logs)
            logs.append(line.rstrip("\n"))
        return Invocation(self.label, trigger, {"error": "WorkerExited", "message": "\n".join(logs[-20:])}, logs)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            assert self._process.stdin
            self._process.stdin.close()
            self._process.wait(timeout=30)
        self._process = None


@dataclass
class NodeFunction(DeployedFunction):
    """A Node.js function: its staged asset and the runtime's SDK on NODE_PATH, run by worker.js."""

    # "host:443" -> local port: where the worker connects for an https URL on that host (see worker.js).
    routes: dict[str, int] = field(default_factory=dict)

    def worker_command(self) -> list[str]:
        return ["node", str(NODE_WORKER)]

    def runtime_variables(self) -> dict[str, str]:
        # NODE_PATH is the runtime's own variable (on Lambda: /opt/nodejs/..., /var/runtime/node_modules, /var/task).
        variables = {"NODE_PATH": os.pathsep.join(map(str, [self.code_asset, *self.dependency_paths]))}
        if self.trusted_certificates:
            variables["NODE_EXTRA_CA_CERTS"] = str(self.trusted_certificates)
        return variables

    def worker_config(self) -> dict[str, Any]:
        return {"task_root": str(self.code_asset), "routes": self.routes}


def python_handler_dir(resource: Resource) -> str | None:
    """`query` for the handler `query.handler.lambda_handler`; None for a function of another runtime."""
    if not resource.properties.get("Runtime", "").startswith("python"):
        return None
    return resource.properties["Handler"].split(".", 1)[0]


def layer_paths(assembly: Assembly, resource: Resource) -> list[Path]:
    """The function's staged layers, as Lambda puts them on sys.path (`/opt/python`), then the runtime's SDK."""
    layers = []
    for layer in resource.properties.get("Layers", []):
        if set(layer) != {"Ref"}:
            raise ValueError(f"{resource.logical_id}: a layer the suite cannot stage: {layer}")
        layers.append(assembly.asset_path(assembly.resource(resource.stack, layer["Ref"])) / "python")
    return [*layers, runtime_sdk()]


def runtime_sdk() -> Path:
    """The SDK the Lambda runtime provides (boto3, botocore, s3transfer), pinned in pyproject, with its bytecode
    (the runtime ships its own compiled)."""
    from stacks import assets

    marker = BUILD / "sdk-lambda" / ".ragline-bytecode"
    sdk = assets.install_runtime_sdk(BUILD / "sdk-lambda", python_version=assets.LAMBDA_PYTHON)
    if not marker.is_file():
        assets.compile_bytecode(sdk)
        marker.touch()
    return sdk


def node_runtime_sdk() -> Path:
    """The node_modules folder of the SDK the Lambda Node.js runtime provides, installed by `npm ci` from the
    pinned lock file (skipped when the installed copy was made from the same lock)."""
    target = BUILD / "node-runtime"
    lock = (NODE_RUNTIME / "package-lock.json").read_bytes()
    stamp = target / "node_modules" / ".ragline-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return target / "node_modules"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(NODE_RUNTIME / name, target / name)
    subprocess.run(["npm", "ci", "--prefix", str(target), "--no-audit", "--no-fund", "--loglevel=error"], check=True)
    stamp.write_text(digest)
    return target / "node_modules"


if __name__ == "__main__":
    # `make test` installs both runtimes' SDKs once, before the suite's two processes start: each would
    # otherwise install them into the same folders at the same time.
    print(f"Python runtime SDK: {runtime_sdk()}\nNode.js runtime SDK: {node_runtime_sdk()}")
