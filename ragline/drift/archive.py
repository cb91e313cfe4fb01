"""Reading the embedding archive (JSON Lines, plain or gzip) into a batch of vectors.

The selection rules live here once and the Spark reader applies the same ones, so that the
local run and the Glue run of the same archive analyse the same vectors in the same order:
keep one kind, one model and a time window; keep the latest record of each id (re-ingesting a
document archives its chunks again); sort by id; sample with the seed when there are too many.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ragline.errors import RaglineError
from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, EmbeddingRecord, RecordKind

ARCHIVE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".gz")


class ArchiveError(RaglineError):
    """The archive cannot be analysed as asked (unreadable line, mixed models, no data)."""


@dataclass(frozen=True)
class Selection:
    kind: RecordKind
    model: str | None = None  # None: the archive must hold exactly one model
    since: str | None = None  # ISO 8601, inclusive
    until: str | None = None  # ISO 8601, exclusive
    max_vectors: int = 20_000  # bounds memory and time; a seeded sample beyond it
    seed: int = 0

    def covers(self, time: str) -> bool:
        moment = parse_time(time)
        if self.since and moment < parse_time(self.since):
            return False
        return not (self.until and moment >= parse_time(self.until))


@dataclass(frozen=True)
class VectorBatch:
    """Vectors of one model, sorted by record id, with what identifies each one."""

    model: str
    ids: list[str]
    times: list[str]
    sources: list[str]
    document_ids: list[str | None]
    vectors: np.ndarray  # (n, d) float64
    skipped_other_models: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def first_time(self) -> str | None:
        return min(self.times, key=parse_time) if self.times else None

    @property
    def last_time(self) -> str | None:
        return max(self.times, key=parse_time) if self.times else None

    @classmethod
    def from_records(cls, records: Sequence[EmbeddingRecord], model: str, skipped: int = 0) -> VectorBatch:
        ordered = sorted(records, key=lambda record: record.id)
        if not ordered:
            raise ArchiveError(f"no {model} vectors in the selection")
        return cls(
            model=model,
            ids=[r.id for r in ordered],
            times=[r.time for r in ordered],
            sources=[r.source for r in ordered],
            document_ids=[r.document_id for r in ordered],
            vectors=np.asarray([r.vector for r in ordered], dtype=np.float64),
            skipped_other_models=skipped,
        )


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def archive_folder(data_dir: Path, kind: RecordKind) -> Path:
    prefix = EMBEDDING_ARCHIVE_PREFIX if kind is RecordKind.CHUNK else PROMPT_ARCHIVE_PREFIX
    return Path(data_dir) / "archive" / prefix


def archive_files(folder: Path) -> list[Path]:
    """Every archive file under `folder`, at any depth (Firehose writes YYYY/MM/DD/HH/)."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES))


def read_records(files: Iterable[Path]) -> Iterator[EmbeddingRecord]:
    """Parse every line; a bad line stops the run with its file and line number, never silently."""
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    yield EmbeddingRecord.from_json(line)
                except (ValueError, KeyError, TypeError) as error:
                    raise ArchiveError(f"{path}:{number}: not an archive record ({error})") from error


def select(records: Iterable[EmbeddingRecord], selection: Selection) -> VectorBatch:
    latest: dict[str, EmbeddingRecord] = {}
    for record in records:
        if record.kind is not selection.kind or not selection.covers(record.time):
            continue
        kept = latest.get(record.id)
        if kept is None or parse_time(record.time) >= parse_time(kept.time):
            latest[record.id] = record
    models = Counter(record.model for record in latest.values())
    model = choose_model(models, selection.model)
    chosen = [record for record in latest.values() if record.model == model]
    chosen.sort(key=lambda record: record.id)
    keep = sample_indices(len(chosen), selection.max_vectors, selection.seed)
    return VectorBatch.from_records([chosen[i] for i in keep], model, skipped=sum(models.values()) - models[model])


def choose_model(models: Counter, requested: str | None) -> str:
    """The model to analyse: the one asked for, or the only one present."""
    if requested is not None:
        if requested not in models:
            raise ArchiveError(f"no vectors of model {requested!r} in the selection (found: {sorted(models)})")
        return requested
    if not models:
        raise ArchiveError("the selection holds no vectors")
    if len(models) > 1:
        listed = ", ".join(f"{name} ({count})" for name, count in models.most_common())
        raise ArchiveError(f"vectors of several models cannot be compared; choose one with --model: {listed}")
    return next(iter(models))


def sample_indices(count: int, max_vectors: int, seed: int) -> np.ndarray:
    """Positions to keep among `count` id-sorted records: all, or a seeded sample in id order."""
    if count <= max_vectors:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=max_vectors, replace=False))


def read_local_archive(data_dir: Path, selection: Selection) -> VectorBatch:
    folder = archive_folder(data_dir, selection.kind)
    files = archive_files(folder)
    if not files:
        raise ArchiveError(f"no archive files under {folder}: ingest documents (or ask questions) first")
    return select(read_records(files), selection)
