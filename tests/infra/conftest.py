"""One synthesized ragline app for the whole infra test session.

The app is built from cdk.json's context (the default profile) with Lambda bundling skipped
(`aws:cdk:bundling-stacks: []`), with cdk-nag attached exactly as `app.py` does. Templates are
read from the cloud assembly directory, which CDK writes before the validation plugins run, so
a cdk-nag failure fails the nag test alone and the template assertions still run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GLUE_SCRIPTS = ("embedding_drift_analysis.py", "embedding_distance_analysis.py")

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class Synthesized:
    outdir: Path
    templates: dict[str, dict]  # stack name -> template
    stack_names: dict[str, str]  # role ("data", "models", "service") -> stack name
    violations: list[dict] = field(default_factory=list)  # validation report, all plugins
    synth_error: str | None = None

    _assertions: dict[str, object] = field(default_factory=dict)

    def template(self, role: str) -> dict:
        return self.templates[self.stack_names[role]]

    def assertions(self, role: str):
        """`aws_cdk.assertions.Template` of one stack ("data", "models", "service")."""
        from aws_cdk.assertions import Template

        if role not in self._assertions:
            self._assertions[role] = Template.from_json(self.template(role))
        return self._assertions[role]

    def resources(self, resource_type: str) -> dict[str, tuple[str, dict]]:
        """logical id -> (stack name, resource) for every resource of this type in the app."""
        found = {}
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == resource_type:
                    found[logical_id] = (stack, resource)
        return found


def _glue_scripts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """glue_jobs/ when its scripts exist; otherwise stand-ins outside the repo (same file names)."""
    real = REPO_ROOT / "glue_jobs"
    if all((real / name).is_file() for name in GLUE_SCRIPTS):
        return real
    stand_in = tmp_path_factory.mktemp("glue_jobs")
    for name in GLUE_SCRIPTS:
        (stand_in / name).write_text("# stand-in: glue_jobs/ is not written yet\n")
    return stand_in


def _violations(report_path: Path) -> list[dict]:
    if not report_path.is_file():
        return []
    report = json.loads(report_path.read_text())
    found = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", violation.get("violatingResources", [])):
                found.append(
                    {
                        "plugin": plugin.get("pluginName"),
                        "rule": violation["ruleName"],
                        "severity": violation.get("severity"),
                        "path": construct.get("constructPath"),
                    }
                )
    return found


def synth(context: dict, outdir: Path, glue_scripts_dir: Path) -> Synthesized:
    """The app synthesized with cdk.json's context plus `context` (bundling skipped) into `outdir`: its templates,
    stack names, cdk-nag findings and the synth error, if any."""
    import aws_cdk as cdk

    from stacks.app import build_app

    base = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(context={**base, "aws:cdk:bundling-stacks": [], **context}, outdir=str(outdir))
    ragline = build_app(app, glue_scripts_dir=glue_scripts_dir)
    error = None
    try:
        app.synth()
    except Exception as exc:  # a failed validation still leaves the templates and the report
        error = str(exc)
    names = {"data": ragline.data.stack_name, "service": ragline.service.stack_name}
    if ragline.models is not None:
        names["models"] = ragline.models.stack_name
    return Synthesized(
        outdir=outdir,
        templates={name: json.loads((outdir / f"{name}.template.json").read_text()) for name in names.values()},
        stack_names=names,
        violations=_violations(outdir / "validation-report.json"),
        synth_error=error,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synth({}, tmp_path_factory.mktemp("cdk.out"), _glue_scripts_dir(tmp_path_factory))
