"""CloudFormation custom resources for the OpenSearch domain (through a CDK Provider).

This function's role is the domain's fine-grained-access-control master user, so it is the
only principal that can create indexes and manage security roles. Two resource types:

- `Custom::RaglineSearchIndex` is handed to `ragline.entrypoints.lambdas.index_bootstrap`, which
  creates the chunk index with the runtime's own mapping or adds new fields to it, refuses a
  change of dimension, engine or space type, and keeps the index on Delete.
- `Custom::RaglineSearchRoleMapping` maps the ingestion Lambdas' IAM roles to a writer role
  and the query Lambda's role to a read-only role, both limited to the chunk index. Create and
  Update overwrite the mapping (PUT is idempotent); Delete removes it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from ragline.adapters.aws.clients import opensearch_client, opensearch_retry
from ragline.entrypoints.lambdas import index_bootstrap, runtime

logger = Logger(service=runtime.SERVICE)

WRITER_ROLE = "ragline_writer"
READER_ROLE = "ragline_reader"


def client() -> Any:
    """Built when a request needs it, never at import, by the same builder the index adapter uses."""
    settings = runtime.settings()
    return opensearch_client(settings.index, settings.aws, timeout=60)


def security_roles(index_name: str) -> dict[str, dict[str, Any]]:
    pattern = [index_name]
    return {
        WRITER_ROLE: {
            "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
            "index_permissions": [{"index_patterns": pattern, "allowed_actions": ["crud", "indices_monitor"]}],
        },
        READER_ROLE: {
            "cluster_permissions": ["cluster_composite_ops_ro"],
            "index_permissions": [{"index_patterns": pattern, "allowed_actions": ["read"]}],
        },
    }


@opensearch_retry  # PUT overwrites: safe to repeat
def map_roles(os_client: Any, props: dict[str, Any]) -> dict[str, Any]:
    backend_roles = {
        WRITER_ROLE: list(props.get("WriterRoleArns", [])),
        READER_ROLE: list(props.get("ReaderRoleArns", [])),
    }
    for role, body in security_roles(props["IndexName"]).items():
        os_client.transport.perform_request("PUT", f"/_plugins/_security/api/roles/{role}", body=body)
        os_client.transport.perform_request(
            "PUT", f"/_plugins/_security/api/rolesmapping/{role}", body={"backend_roles": backend_roles[role]}
        )
    logger.info("roles mapped", extra={"mapping": backend_roles})
    return {"Roles": ",".join(backend_roles)}


@opensearch_retry  # deleting what is already gone is fine: safe to repeat
def unmap_roles(os_client: Any) -> None:
    for role in (WRITER_ROLE, READER_ROLE):
        for kind in ("rolesmapping", "roles"):
            try:
                os_client.transport.perform_request("DELETE", f"/_plugins/_security/api/{kind}/{role}")
            except Exception as error:  # absent already: deleting twice is fine
                if getattr(error, "status_code", None) != 404:
                    raise


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request = event["RequestType"]
    resource_type = event["ResourceType"]
    props = event["ResourceProperties"]
    logger.info("custom resource request", extra={"request": request, "type": resource_type})
    if resource_type == "Custom::RaglineSearchIndex":
        # The index and its mapping belong to the runtime: the same adapter that writes the chunks.
        return index_bootstrap.lambda_handler(event, context)
    if resource_type == "Custom::RaglineSearchRoleMapping":
        physical_id = "ragline-search-role-mapping"  # constant: a new index name is an Update
        if request == "Delete":
            unmap_roles(client())
            return {"PhysicalResourceId": event.get("PhysicalResourceId", physical_id)}
        return {"PhysicalResourceId": physical_id, "Data": map_roles(client(), props)}
    raise ValueError(f"unknown resource type {resource_type}")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return on_event(event, context)
