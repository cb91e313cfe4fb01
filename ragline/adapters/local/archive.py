"""The local archive: JSON Lines files laid out like the S3 archive bucket.

`<archive_dir>/embeddingarchive/dt=YYYY-MM-DD/part-<pid>.jsonl` holds chunk embeddings and
`promptarchive/...` question embeddings, one `EmbeddingRecord` per line, the same JSON that
Firehose carries on AWS, so the drift jobs read both the same way.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, EmbeddingRecord


class LocalArchive:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        by_file: dict[Path, list[str]] = defaultdict(list)
        for record in records:
            by_file[self._file_for(record)].append(record.to_json())
        with self._lock:
            for path, lines in by_file.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
        return sum(len(lines) for lines in by_file.values())

    def _file_for(self, record: EmbeddingRecord) -> Path:
        day = record.time[:10]
        return self._root / record.archive_prefix / f"dt={day}" / f"part-{os.getpid()}.jsonl"

    def read(self, prefix: str) -> Iterator[EmbeddingRecord]:
        """Every record under `embeddingarchive` or `promptarchive`, oldest partition first."""
        if prefix not in (EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX):
            raise ValueError(f"unknown archive prefix {prefix!r}")
        for path in sorted((self._root / prefix).glob("**/*.jsonl")):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield EmbeddingRecord.from_json(line)


class NullArchive:
    """For users who opt out of archiving (`archive.backend = "none"`)."""

    def write(self, records: Iterable[EmbeddingRecord]) -> int:
        return 0
