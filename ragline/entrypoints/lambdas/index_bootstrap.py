"""Create the OpenSearch chunk index, or add new fields to its mapping (custom resource or invoke).

Create and Update are idempotent: a missing index is created with the mapping of
`ragline.adapters.aws.opensearch_mapping`; an existing one gets any new fields. A change of dimension,
engine or space type cannot be applied to an existing index: the update fails and says so.
Delete keeps the index: the chunks outlive the stack.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from ragline.config import Settings
from ragline.entrypoints.lambdas import runtime

logger = Logger(service=runtime.SERVICE)


def _dimension(properties: dict[str, Any]) -> int:
    """The vector size: the resource property, else the settings, else one probe of the embedder."""
    if "Dimension" in properties:
        return int(properties["Dimension"])  # CloudFormation passes every property as a string
    declared = runtime.settings().embedding.dimension
    return declared or runtime.services().embedder.dimension


def _settings_with(properties: dict[str, Any]) -> Settings:
    """The settings, with the index name, engine and space type of the resource when it names them."""
    settings = runtime.settings()
    overrides = {
        "opensearch_index": properties.get("IndexName"),
        "opensearch_engine": properties.get("Engine"),
        "opensearch_space_type": properties.get("SpaceType"),
    }
    index = settings.index.model_copy(update={name: value for name, value in overrides.items() if value})
    return settings.model_copy(update={"index": index})


def ensure_index(properties: dict[str, Any]) -> dict[str, Any]:
    # The adapter is built here rather than by the factory: creating an index needs its shape,
    # not the embedding model's name that the factory wants for the chunks it will write.
    from ragline.adapters.aws.clients import opensearch_client
    from ragline.adapters.aws.opensearch_index import OpenSearchIndex

    settings = _settings_with(properties)
    index = settings.index
    adapter = OpenSearchIndex(
        opensearch_client(index, settings.aws),
        index.opensearch_index,
        dimension=_dimension(properties),
        engine=index.opensearch_engine,
        space_type=index.opensearch_space_type,
    )
    outcome = adapter.ensure_index(
        shards=int(properties.get("Shards", 1)),
        replicas=int(properties.get("Replicas", 0)),
        m=int(properties.get("M", 16)),
        ef_construction=int(properties.get("EfConstruction", 128)),
    )
    name = settings.index.opensearch_index
    logger.info("index ready", extra={"index": name, "outcome": outcome})
    return {"IndexName": name, "Outcome": outcome}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("RequestType", "Create")
    properties = event.get("ResourceProperties", {})
    name = properties.get("IndexName") or runtime.settings().index.opensearch_index
    if request == "Delete":
        logger.info("index kept on delete", extra={"index": name})
        return {"PhysicalResourceId": event.get("PhysicalResourceId", name)}
    return {"PhysicalResourceId": name, "Data": ensure_index(properties)}
