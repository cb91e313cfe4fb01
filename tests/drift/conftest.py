"""Shared fixtures of the drift tests: synthetic topics and a temporary archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragline.drift.synthetic import SyntheticArchive, TopicSpace, write_synthetic_archive


@pytest.fixture(scope="session")
def topics() -> TopicSpace:
    # Five topics: the baseline uses the first four, the fifth is the "new topic".
    return TopicSpace.random(5, seed=7)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


@pytest.fixture
def corpus(topics: TopicSpace, rng: np.random.Generator):
    """`corpus({topic: count})`: vectors drawn from those topics, and the true topic of each."""

    def draw(counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        parts = [topics.sample(topic, count, rng) for topic, count in counts.items()]
        truth = np.concatenate([np.full(count, topic) for topic, count in counts.items()])
        return np.vstack(parts), truth

    return draw


@pytest.fixture
def synthetic_archive(tmp_path: Path) -> SyntheticArchive:
    return write_synthetic_archive(tmp_path / "data", chunks_per_topic=60, prompts_per_day=20, days=3)
