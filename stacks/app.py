"""Builds the whole deployment into a CDK app: used by app.py and by tests/infra."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.components.drift import DEFAULT_SCRIPTS_DIR
from stacks.config import ModelMode, RaglineConfig
from stacks.data_stack import RaglineDataStack
from stacks.models_stack import RaglineModelsStack
from stacks.service_stack import RaglineServiceStack


@dataclass(frozen=True)
class RaglineApp:
    config: RaglineConfig
    data: RaglineDataStack
    models: RaglineModelsStack | None
    service: RaglineServiceStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [stack for stack in (self.data, self.models, self.service) if stack is not None]


def build_app(app: cdk.App, *, glue_scripts_dir: Path = DEFAULT_SCRIPTS_DIR, nag: bool = True) -> RaglineApp:
    """Adds ragline's stacks to `app`. Stacks are environment-agnostic: synth needs no account."""
    config = RaglineConfig.from_context(app.node)
    name = config.pascal_name
    data = RaglineDataStack(app, f"{name}Data", config=config, description="ragline: stateful resources")
    models = None
    if ModelMode.DEPLOY in (config.embedding_mode, config.generation_mode):
        models = RaglineModelsStack(
            app, f"{name}Models", config=config, vpc=data.network.vpc, description="ragline: SageMaker endpoints"
        )
    service = RaglineServiceStack(
        app,
        f"{name}Service",
        config=config,
        data=data,
        glue_scripts_dir=glue_scripts_dir,
        description="ragline: ingestion, query API, drift jobs, monitoring",
    )
    if models is not None:
        service.add_stack_dependency(models, "Lambdas call the endpoints this app deploys")
    for stack in (data, models, service):
        if stack is not None:
            cdk.Tags.of(stack).add("project", "ragline")
            cdk.Tags.of(stack).add("ragline:app", config.app_name)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return RaglineApp(config=config, data=data, models=models, service=service)
