"""The local archive: JSON Lines files laid out like the S3 archive bucket.

`<archive_dir>/embeddingarchive/dt=YYYY-MM-DD/*.jsonl` holds chunk embeddings and
`promptarchive/...` question embeddings, one `EmbeddingRecord` per line, the same JSON that
Firehose carries on AWS, so the drift jobs read both the same way.

Chunk embeddings arrive in batches, one per indexed document, from the index's outbox
(`SqliteIndex.apply`), which delivers a batch again if a crash came between writing it and
clearing it. So a batch is written whole, atomically (a temporary file renamed), to a file
named by the hash of its lines: the same batch written twice is one file, never two copies of
its records for the drift statistics to count. Question embeddings are appended.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, EmbeddingRecord, RecordKind


class LocalArchive:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        batches: dict[Path, list[str]] = defaultdict(list)  # chunk records, by day partition
        appended: dict[Path, list[str]] = defaultdict(list)  # question records, by file
        for record in records:
            partition = self._root / record.archive_prefix / f"dt={record.time[:10]}"
            if record.kind is RecordKind.CHUNK:
                batches[partition].append(record.to_json())
            else:
                appended[partition / f"part-{os.getpid()}.jsonl"].append(record.to_json())
        with self._lock:
            for partition, lines in batches.items():
                _write_once(partition, lines)
            for path, lines in appended.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
        return sum(map(len, batches.values())) + sum(map(len, appended.values()))

    def read(self, prefix: str) -> Iterator[EmbeddingRecord]:
        """Every record under `embeddingarchive` or `promptarchive`, oldest partition first."""
        if prefix not in (EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX):
            raise ValueError(f"unknown archive prefix {prefix!r}")
        for path in sorted((self._root / prefix).glob("**/*.jsonl")):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield EmbeddingRecord.from_json(line)


def _write_once(partition: Path, lines: list[str]) -> None:
    """Write a batch to the file its content names, atomically: writing it again changes nothing."""
    text = "\n".join(lines) + "\n"
    path = partition / f"batch-{hashlib.sha256(text.encode()).hexdigest()[:32]}.jsonl"
    if path.exists():
        return
    partition.mkdir(parents=True, exist_ok=True)
    temporary = partition / f".{path.name}.{os.getpid()}.tmp"  # not *.jsonl: readers never see it
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class NullArchive:
    """For users who opt out of archiving (`archive.backend = "none"`)."""

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        return 0
