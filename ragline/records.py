"""The archive record: one embedding, with enough context to attribute and window it.

The same JSON object is written by the local archive (JSON Lines files) and carried by
Firehose on AWS, and the drift jobs read it in both places. A bare vector (the original
pattern's defect 8) cannot be attributed to a document, a model or a time; this can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum

# Prefixes shared by the local archive folder and the S3 archive bucket.
EMBEDDING_ARCHIVE_PREFIX = "embeddingarchive"
PROMPT_ARCHIVE_PREFIX = "promptarchive"
PROMPT_DISTANCE_PREFIX = "promptdistance"


class RecordKind(StrEnum):
    CHUNK = "chunk"
    PROMPT = "prompt"


@dataclass(frozen=True)
class EmbeddingRecord:
    id: str  # chunk id, or a query id for prompts
    kind: RecordKind
    time: str  # ISO 8601, UTC
    source: str  # document source URI, or the client that asked
    model: str
    vector: list[float]
    document_id: str | None = None
    pages: tuple[int, ...] = ()

    @classmethod
    def now(cls, **fields: object) -> EmbeddingRecord:
        return cls(time=datetime.now(UTC).isoformat(timespec="milliseconds"), **fields)  # type: ignore[arg-type]

    def to_json(self) -> str:
        # Field by field: dataclasses.asdict deep-copies each of the vector's floats, which made serializing the
        # records most of the local index stage's time (2.6 of ~4 s for 2,469 chunks).
        payload = {field.name: getattr(self, field.name) for field in fields(self)}
        payload["kind"] = self.kind.value
        payload["pages"] = list(self.pages)
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> EmbeddingRecord:
        payload = json.loads(line)
        return cls(
            id=payload["id"],
            kind=RecordKind(payload["kind"]),
            time=payload["time"],
            source=payload["source"],
            model=payload["model"],
            vector=[float(value) for value in payload["vector"]],
            document_id=payload.get("document_id"),
            pages=tuple(payload.get("pages") or ()),
        )

    @property
    def archive_prefix(self) -> str:
        return EMBEDDING_ARCHIVE_PREFIX if self.kind is RecordKind.CHUNK else PROMPT_ARCHIVE_PREFIX
