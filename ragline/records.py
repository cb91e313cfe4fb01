"""The archive record: one embedding, with enough context to attribute and window it.

The same JSON object is written by the local archive (JSON Lines files) and carried by
Firehose on AWS, and the drift jobs read it in both places. A bare vector (the original
pattern's defect 8) cannot be attributed to a document, a model or a time; this can.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property

# Prefixes shared by the local archive folder and the S3 archive bucket.
EMBEDDING_ARCHIVE_PREFIX = "embeddingarchive"
PROMPT_ARCHIVE_PREFIX = "promptarchive"
PROMPT_DISTANCE_PREFIX = "promptdistance"


#: Decimals an archived vector keeps: shorter lines, and far below the noise any drift statistic can see.
ARCHIVED_DECIMALS = 7


def archived_vector(vector: Sequence[float]) -> list[float]:
    """`vector` as archived: each value rounded to `ARCHIVED_DECIMALS`, as Python's `round` rounds it.

    A float32 vector (the local model's) is rounded by numpy, 15 times faster than value by value (which
    was a third of the local index stage's time): a float32 times 10**7 is exact in float64 (24 + 17
    bits), so numpy's multiply, round-half-even and divide gives the very double `round` gives. Other
    vectors (a remote model's, parsed from JSON as doubles) go value by value, where that argument does
    not hold. numpy is not imported here: the query function's package has none, and its vectors are lists.
    """
    if getattr(vector, "dtype", None) == "float32":
        return vector.astype("float64").round(ARCHIVED_DECIMALS).tolist()  # type: ignore[attr-defined]
    return [round(float(value), ARCHIVED_DECIMALS) for value in vector]


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
        return self._json

    @cached_property
    def _json(self) -> str:
        # Kept once made: the local store writes each record to its outbox and then to the archive, and writing 384
        # floats as text is most of the cost (3.6 CPU-seconds for 50 filings' 31,184 records, each time). The record
        # is frozen; its vector is a list that no caller changes once the record is made (a change would leave the
        # text stale), which is why records are built from a vector, never edited.
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
