"""Fast checks without a synth: config parsing, model bindings, bootstrap handler (the index mapping is checked
in tests/aws/test_adapters.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stacks.components.models import bedrock_model_arns, embedding_binding, endpoint_arn, generation_binding
from stacks.config import ModelMode, RaglineConfig


def config(**context: object) -> RaglineConfig:
    return RaglineConfig.model_validate(context)


def test_defaults_are_the_small_zero_idle_profile():
    cfg = config()
    assert cfg.embedding_mode is ModelMode.DEPLOY and cfg.embedding_dimension == 384
    assert cfg.generation_mode is ModelMode.BEDROCK
    assert cfg.search_instance_type == "t3.small.search" and cfg.search_instance_count == 1
    assert not cfg.search_zone_awareness


def test_context_strings_from_the_command_line_are_coerced():
    cfg = config(searchInstanceCount="4", jumpHost="false", availabilityZones="us-east-1a, us-east-1b")
    assert cfg.search_instance_count == 4 and cfg.jump_host is False
    assert cfg.availability_zones == ["us-east-1a", "us-east-1b"]
    assert cfg.search_zone_awareness and cfg.search_az_count == 2


@pytest.mark.parametrize(
    "context",
    [
        {"embeddingMode": "existing"},  # no endpoint name
        {"embeddingMode": "existing", "embeddingsModelEndpointName": "e"},  # no dimension
        {"generationMode": "existing"},
        {"embeddingMode": "bedrock", "embeddingDimension": "384"},  # Titan v2 has no 384
        {"searchMasterCount": "2"},
        {"logRetentionDays": "42"},
        {"embeddingMode": "sometimes"},
    ],
)
def test_invalid_contexts_fail_with_a_message(context):
    with pytest.raises(ValidationError):
        config(**context)


def test_existing_endpoints_are_scoped_by_name():
    cfg = config(
        embeddingMode="existing",
        embeddingsModelEndpointName="My-Embed",
        embeddingDimension="4096",
        generationMode="existing",
        textModelEndpointName="falcon",
    )
    embedding = embedding_binding(cfg)
    assert embedding.actions == ("sagemaker:InvokeEndpoint",)
    assert embedding.resources == (endpoint_arn("my-embed"),)
    assert embedding.environment["RAGLINE_EMBEDDING__ENDPOINT_NAME"] == "My-Embed"
    generation = generation_binding(cfg)
    assert generation.resources == (endpoint_arn("falcon"),)
    assert all("*" not in r.split(":")[-1] for r in embedding.resources + generation.resources)


def test_bedrock_models_are_scoped_to_the_model_or_its_inference_profile():
    cfg = config(embeddingMode="bedrock", generationMode="bedrock", generationModelId="us.amazon.nova-lite-v1:0")
    assert embedding_binding(cfg).environment["RAGLINE_EMBEDDING__DIMENSION"] == "1024"
    assert embedding_binding(cfg).resources[0].endswith("foundation-model/amazon.titan-embed-text-v2:0")
    profile, model = bedrock_model_arns("us.amazon.nova-lite-v1:0")
    assert profile.endswith("inference-profile/us.amazon.nova-lite-v1:0")
    assert model.endswith("foundation-model/amazon.nova-lite-v1:0")
    assert generation_binding(cfg).resources == (profile, model)


PROPS = {
    "IndexName": "chunks",
    "Dimension": "384",
    "Engine": "lucene",
    "SpaceType": "cosinesimil",
    "M": "16",
    "EfConstruction": "128",
    "Shards": "1",
    "Replicas": "0",
}


@pytest.fixture
def handler(monkeypatch):
    pytest.importorskip("aws_lambda_powertools")
    from lambdas.index_bootstrap import handler as module

    return module


def event(request: str, props: dict = PROPS) -> dict:
    return {
        "RequestType": request,
        "ResourceType": "Custom::RaglineSearchIndex",
        "ResourceProperties": props,
        "PhysicalResourceId": props["IndexName"],
    }


def test_the_index_resource_is_handed_to_the_runtime_bootstrap(handler, monkeypatch):
    from ragline.entrypoints.lambdas import index_bootstrap

    seen = []
    monkeypatch.setattr(index_bootstrap, "lambda_handler", lambda event, context: seen.append(event) or {"ok": 1})
    assert handler.on_event(event("Create")) == {"ok": 1}
    assert seen[0]["ResourceProperties"] == PROPS
