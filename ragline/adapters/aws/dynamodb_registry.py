"""The Registry port on a DynamoDB table keyed by `source` (the S3 URI of the document).

Reads are strongly consistent: the ingestion Lambdas decide from the registry whether a
content hash is already indexed, and a stale read would index a document twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ragline.model import DocumentState, DocumentStatus

_INDEXED_STATES = (DocumentState.INDEXED.value, DocumentState.UNCHANGED.value)


def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def to_item(status: DocumentStatus) -> dict[str, Any]:
    fields = {
        "source": status.source,
        "state": status.state.value,
        "document_id": status.document_id,
        "chunk_count": status.chunk_count,
        "page_count": status.page_count,
        "scanned_pages": list(status.scanned_pages),
        "reason": status.reason,
        "updated_at": status.updated_at,
    }
    serializer = _serializer()
    return {name: serializer.serialize(value) for name, value in fields.items() if value is not None}


def from_item(item: dict[str, Any]) -> DocumentStatus:
    deserializer = _deserializer()
    values = {name: deserializer.deserialize(value) for name, value in item.items()}
    return DocumentStatus(
        source=values["source"],
        state=DocumentState(values["state"]),
        document_id=values.get("document_id"),
        chunk_count=int(values.get("chunk_count", 0)),
        page_count=int(values.get("page_count", 0)),
        scanned_pages=tuple(int(page) for page in values.get("scanned_pages", []) if isinstance(page, Decimal | int)),
        reason=values.get("reason"),
        updated_at=values.get("updated_at"),
    )


class DynamoDbRegistry:
    def __init__(self, dynamodb: Any, table_name: str, *, document_index: str | None = None) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._document_index = document_index

    def get(self, source: str) -> DocumentStatus | None:
        response = self._dynamodb.get_item(TableName=self._table, Key={"source": {"S": source}}, ConsistentRead=True)
        return from_item(response["Item"]) if "Item" in response else None

    def find_by_document_id(self, document_id: str) -> DocumentStatus | None:
        """An indexed source holding this content, if any (the first by source, as locally)."""
        matches = [
            status for status in self._items_with_document_id(document_id) if status.state.value in _INDEXED_STATES
        ]
        return min(matches, key=lambda status: status.source, default=None)

    def sources_of(self, document_id: str) -> list[DocumentStatus]:
        return sorted(self._items_with_document_id(document_id), key=lambda status: status.source)

    def _items_with_document_id(self, document_id: str) -> list[DocumentStatus]:
        condition = {":document_id": {"S": document_id}}
        if self._document_index:
            pages = self._dynamodb.get_paginator("query").paginate(
                TableName=self._table,
                IndexName=self._document_index,
                KeyConditionExpression="document_id = :document_id",
                ExpressionAttributeValues=condition,
            )
        else:  # no index on document_id: a filtered scan, fine for a registry of thousands of files
            pages = self._dynamodb.get_paginator("scan").paginate(
                TableName=self._table,
                FilterExpression="document_id = :document_id",
                ExpressionAttributeValues=condition,
                ConsistentRead=True,
            )
        return [from_item(item) for page in pages for item in page.get("Items", [])]

    def record(self, status: DocumentStatus) -> None:
        self._dynamodb.put_item(TableName=self._table, Item=to_item(status))

    def remove(self, source: str) -> None:
        self._dynamodb.delete_item(TableName=self._table, Key={"source": {"S": source}})

    def all(self) -> list[DocumentStatus]:
        pages = self._dynamodb.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True)
        return sorted((from_item(item) for page in pages for item in page.get("Items", [])), key=lambda s: s.source)
