"""The Registry port on a DynamoDB table keyed by `source` (the S3 URI of the document), and the
version ledger of windowed indexing (`ragline.windows`).

Reads are strongly consistent: the ingestion Lambdas decide from the registry whether a
content hash is already indexed, and a stale read would index a document twice.

The ledger: a source's row holds `indexing_id`, the content hash being indexed, beside
`document_id`, the one served. One more item, keyed `VERSIONS_KEY` (not an S3 URI, so never a
source), holds the string sets `staged` (versions being written) and `retired` (replaced
versions being deleted): searches exclude both. `publish` is one transaction over the row and
that item, which is what makes a new version appear and the old one disappear at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ragline.model import HOLDING, DocumentCard, DocumentState, DocumentStatus

_INDEXED_STATES = tuple(state.value for state in HOLDING)
VERSIONS_KEY = "ragline:versions-in-flight"


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
        "card": status.card.to_json() if status.card else None,
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
        card=DocumentCard.from_json(values["card"]) if values.get("card") else None,
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
        """A source holding this content in the index, if any (the first by source, as locally): a failed update
        that kept its chunks holds them too, so a new copy of that content is a duplicate, not indexed twice."""
        matches = [status for status in self._items_with_document_id(document_id) if status.holds_chunks]
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
        items = (item for page in pages for item in page.get("Items", []) if item["source"]["S"] != VERSIONS_KEY)
        return sorted((from_item(item) for item in items), key=lambda s: s.source)

    # --- the version ledger ---------------------------------------------------------------

    def begin(self, source: str, document_id: str) -> None:
        """`document_id` is now the version of `source` being indexed (superseding any other)."""
        self._dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"source": {"S": source}},
                        "UpdateExpression": "SET indexing_id = :id, #state = if_not_exists(#state, :indexing)",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {
                            ":id": {"S": document_id},
                            ":indexing": {"S": DocumentState.INDEXING.value},
                        },
                    }
                },
                self._versions_update("ADD staged :id", _set(document_id)),
            ]
        )

    def indexing(self, source: str) -> str | None:
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key={"source": {"S": source}},
            ConsistentRead=True,
            ProjectionExpression="indexing_id",
        )
        return response.get("Item", {}).get("indexing_id", {}).get("S")

    def serves(self, source: str, document_id: str) -> bool:
        current = self.get(source)
        return bool(current and current.document_id == document_id and current.state.value in _INDEXED_STATES)

    def publish(self, status: DocumentStatus) -> tuple[bool, str | None]:
        from botocore.exceptions import ClientError

        assert status.document_id, "a published status names its version"
        previous = self.get(status.source)
        replaced = previous.document_id if previous and previous.document_id != status.document_id else None
        hide = " ADD retired :old" if replaced else ""
        values: dict[str, Any] = {":new": {"SS": [status.document_id]}}
        if replaced:
            values[":old"] = {"SS": [replaced]}
        try:
            self._dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(status),  # no indexing_id: nothing is in flight any more
                            "ConditionExpression": "indexing_id = :id",
                            "ExpressionAttributeValues": {":id": {"S": status.document_id}},
                        }
                    },
                    self._versions_update(f"DELETE staged :new{hide}", values),
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False, None  # overwritten or deleted since: the row no longer names this version
            raise
        return True, replaced

    def abandon(self, source: str, document_id: str, reason: str | None) -> None:
        from botocore.exceptions import ClientError

        if reason is not None:
            try:
                self._dynamodb.update_item(
                    TableName=self._table,
                    Key={"source": {"S": source}},
                    UpdateExpression="SET #state = :failed, reason = :reason, updated_at = :now REMOVE indexing_id",
                    ConditionExpression="indexing_id = :id",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={
                        ":failed": {"S": DocumentState.FAILED.value},
                        ":reason": {"S": reason},
                        ":now": {"S": _now()},
                        ":id": {"S": document_id},
                    },
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise  # else: a newer version or a delete owns the row now; it is not this one's to mark
        self._dynamodb.update_item(
            **self._versions_update("DELETE staged :id", {":id": {"SS": [document_id]}})["Update"]
        )

    def unhide(self, document_id: str) -> None:
        self._dynamodb.update_item(
            **self._versions_update("DELETE retired :id", {":id": {"SS": [document_id]}})["Update"]
        )

    def hidden(self) -> frozenset[str]:
        """Versions every search excludes: being written, or replaced and being deleted."""
        response = self._dynamodb.get_item(
            TableName=self._table, Key={"source": {"S": VERSIONS_KEY}}, ConsistentRead=True
        )
        item = response.get("Item", {})
        return frozenset(item.get("staged", {}).get("SS", [])) | frozenset(item.get("retired", {}).get("SS", []))

    def _versions_update(self, expression: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"source": {"S": VERSIONS_KEY}},
                "UpdateExpression": expression,
                "ExpressionAttributeValues": values,
            }
        }


def _set(document_id: str) -> dict[str, Any]:
    return {":id": {"SS": [document_id]}}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
