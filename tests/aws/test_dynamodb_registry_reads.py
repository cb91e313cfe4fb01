"""The DynamoDB registry reads strongly consistently and answers in source order, whatever the
table's own order (moto's DynamoDB, the requests seen on botocore's events).

DynamoDB scans a table in the hash order of its partitions, not in key order; moto's scan happens
to return the keys sorted, which would hide a missing sort. Scans here come back in reverse.
"""

from __future__ import annotations

import boto3
import pytest

from ragline.adapters.aws.dynamodb_registry import DynamoDbRegistry
from ragline.model import DocumentState, DocumentStatus
from tests.aws.test_contracts import _registry_table

CONTENT = "c" * 64
SOURCES = ("s3://ingest/m.pdf", "s3://ingest/z.pdf", "s3://ingest/a.pdf", "s3://ingest/q.pdf")


@pytest.fixture
def requests(aws) -> list[tuple[str, dict]]:
    """Every DynamoDB request of the registry's client: (operation, parameters)."""
    return []


@pytest.fixture
def registry(requests) -> DynamoDbRegistry:
    dynamodb = boto3.client("dynamodb")
    _registry_table(dynamodb, with_document_index=False)
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, model, **_: requests.append((model.name, dict(params)))
    )
    dynamodb.meta.events.register("after-call.dynamodb.Scan", _not_in_key_order)
    return DynamoDbRegistry(dynamodb, "registry")


def _not_in_key_order(parsed: dict, **_) -> None:
    parsed.get("Items", []).reverse()


def indexed(source: str) -> DocumentStatus:
    return DocumentStatus(source=source, state=DocumentState.INDEXED, document_id=CONTENT, chunk_count=3)


def test_every_source_is_listed_in_source_order(registry):
    for source in SOURCES:
        registry.record(indexed(source))
    registry.begin(SOURCES[0], "d" * 64)  # the ledger's own item is not a document
    assert [status.source for status in registry.all()] == sorted(SOURCES)


def test_the_same_content_under_several_sources_is_found_under_the_first_source(registry):
    for source in SOURCES:
        registry.record(indexed(source))
    assert registry.find_by_document_id(CONTENT).source == "s3://ingest/a.pdf"


def test_every_read_of_a_source_the_ledger_or_the_table_is_strongly_consistent(registry, requests):
    # The ingestion functions decide from these reads whether to index: a stale one indexes twice.
    registry.record(indexed(SOURCES[0]))
    registry.get(SOURCES[0])
    registry.hidden()
    registry.indexing(SOURCES[0])
    registry.serves(SOURCES[0], CONTENT)
    registry.all()
    registry.find_by_document_id(CONTENT)  # no index on document_id here: a scan
    registry.sources_of(CONTENT)
    reads = [(operation, params) for operation, params in requests if operation in ("GetItem", "Scan")]
    assert [operation for operation, _ in reads] == ["GetItem"] * 4 + ["Scan"] * 3
    assert all(params["ConsistentRead"] is True for _, params in reads)
