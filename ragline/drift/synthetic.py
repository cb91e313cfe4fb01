"""Synthetic embeddings with known topics, for tests and for notebooks on an empty archive.

Real sentence embeddings of one topic spread over a few directions around a topic centre and
are L2-normalised; these do the same, so PCA, k-means and the drift signals behave as they would
on a real corpus while the truth (which vector belongs to which topic) stays known.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from ragline.records import (
    EMBEDDING_ARCHIVE_PREFIX,
    PROMPT_ARCHIVE_PREFIX,
    EmbeddingRecord,
    RecordKind,
    archived_vector,
)

SYNTHETIC_MODEL = "synthetic-topics-384"


@dataclass(frozen=True)
class TopicSpace:
    centres: np.ndarray  # (topics, d) unit vectors
    directions: np.ndarray  # (topics, rank, d) orthonormal within-topic directions
    spread: float
    noise: float

    @classmethod
    def random(
        cls,
        topics: int,
        *,
        dimension: int = 384,
        rank: int = 8,
        spread: float = 0.5,
        noise: float = 0.01,
        seed: int = 0,
    ) -> TopicSpace:
        rng = np.random.default_rng(seed)
        centres = _unit(rng.standard_normal((topics, dimension)))
        directions = np.stack([np.linalg.qr(rng.standard_normal((dimension, rank)))[0].T for _ in range(topics)])
        return cls(centres=centres, directions=directions, spread=spread, noise=noise)

    def sample(self, topic: int, count: int, rng: np.random.Generator) -> np.ndarray:
        rank = self.directions.shape[1]
        within = rng.standard_normal((count, rank)) @ self.directions[topic] * (self.spread / np.sqrt(rank))
        noise = rng.standard_normal((count, self.centres.shape[1])) * self.noise
        return _unit(self.centres[topic] + within + noise)

    def far_from_all(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Vectors on no topic at all: random directions, as an off-topic question would be."""
        return _unit(rng.standard_normal((count, self.centres.shape[1])))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@dataclass(frozen=True)
class SyntheticArchive:
    data_dir: Path
    baseline_until: str  # ISO time: records before it are the baseline corpus
    old_topics: int
    new_topic_source: str


def write_synthetic_archive(
    data_dir: Path,
    *,
    old_topics: int = 4,
    chunks_per_topic: int = 150,
    new_topic_share: float = 0.2,
    prompts_per_day: int = 60,
    off_topic_prompt_share: float = 0.1,
    days: int = 5,
    seed: int = 0,
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
) -> SyntheticArchive:
    """Day 0: `old_topics` topics of documents. Last day: documents on one new topic, making
    `new_topic_share` of the corpus. Every day: prompts on the old topics, some off-topic, and
    from the last day on a growing share about the new topic. Written as Firehose would (one
    folder per hour, gzip for the later days)."""
    rng = np.random.default_rng(seed)
    space = TopicSpace.random(old_topics + 1, seed=seed)
    new_topic = old_topics
    old_total = old_topics * chunks_per_topic
    new_count = round(old_total * new_topic_share / (1 - new_topic_share))
    new_source = "docs/new-topic-report.pdf"

    chunk_batches = [(start, topic, chunks_per_topic, f"docs/topic-{topic}.pdf") for topic in range(old_topics)]
    chunk_batches.append((start + timedelta(days=days - 1), new_topic, new_count, new_source))
    for moment, topic, count, source in chunk_batches:
        vectors = space.sample(topic, count, rng)
        records = [_record(f"{source}#{i:04d}", RecordKind.CHUNK, moment, source, v) for i, v in enumerate(vectors)]
        _write_records(Path(data_dir), EMBEDDING_ARCHIVE_PREFIX, moment, records, gzip_it=moment > start)

    for day in range(days):
        moment = start + timedelta(days=day, hours=12)
        vectors = _day_of_prompts(space, rng, prompts_per_day, old_topics, off_topic_prompt_share, day == days - 1)
        records = [
            _record(f"q-{day:02d}-{i:04d}", RecordKind.PROMPT, moment + timedelta(minutes=i), "notebook", v)
            for i, v in enumerate(vectors)
        ]
        _write_records(Path(data_dir), PROMPT_ARCHIVE_PREFIX, moment, records, gzip_it=day > 0)
    return SyntheticArchive(
        data_dir=Path(data_dir),
        baseline_until=(start + timedelta(days=1)).isoformat(),
        old_topics=old_topics,
        new_topic_source=new_source,
    )


def _day_of_prompts(space, rng, count, old_topics, off_topic_share, new_topic_day) -> np.ndarray:
    off_topic = round(count * off_topic_share)
    about_new = count // 3 if new_topic_day else 0
    on_topic = count - off_topic - about_new
    parts = [space.sample(int(t), 1, rng) for t in rng.integers(old_topics, size=on_topic)]
    parts.append(space.far_from_all(off_topic, rng))
    if about_new:
        parts.append(space.sample(old_topics, about_new, rng))
    return np.vstack(parts)


def _record(record_id, kind, moment, source, vector) -> EmbeddingRecord:
    return EmbeddingRecord(
        id=record_id,
        kind=kind,
        time=moment.isoformat(timespec="milliseconds"),
        source=source,
        model=SYNTHETIC_MODEL,
        vector=archived_vector(vector),
        document_id=source if kind is RecordKind.CHUNK else None,
    )


def _write_records(
    data_dir: Path, prefix: str, moment: datetime, records: list[EmbeddingRecord], *, gzip_it: bool
) -> None:
    folder = data_dir / "archive" / prefix / f"{moment:%Y/%m/%d/%H}"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(record.to_json() + "\n" for record in records)
    name = f"synthetic-{moment:%Y%m%dT%H%M%S}-{len(list(folder.iterdir())):03d}.jsonl"
    if gzip_it:
        (folder / f"{name}.gz").write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        (folder / name).write_text(text, encoding="utf-8")
