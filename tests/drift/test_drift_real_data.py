"""Real embeddings: SciFact abstracts are the baseline, FinanceBench filing pages the new topic.

Embedded with the production MiniLM embedder (`real_embedder` in tests/conftest.py). Texts are
cut to their first 128 tokens, as a chunk would be, which also keeps the test fast. The data
is read from ../shared/data (never copied); the test skips where it is absent.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from ragline.drift.baseline import BaselineOptions, fit_baseline
from ragline.drift.snapshot import SnapshotOptions, compare_snapshot
from tests.conftest import SHARED_DATA

SCIFACT = SHARED_DATA / "scifact" / "corpus.jsonl.gz"
FINANCEBENCH = SHARED_DATA / "financebench" / "financebench_open_source.jsonl"
BASELINE_SIZE, SNAPSHOT_OLD, SNAPSHOT_NEW = 200, 160, 40  # the new topic is 20 % of the snapshot
TOKENS = 128

pytestmark = [
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.skipif(not (SCIFACT.is_file() and FINANCEBENCH.is_file()), reason="../shared/data is absent"),
]


def scifact_abstracts(count: int, seed: int) -> list[str]:
    with gzip.open(SCIFACT, "rt", encoding="utf-8") as lines:
        documents = [json.loads(line) for line in lines]
    chosen = np.random.default_rng(seed).choice(len(documents), size=count, replace=False)
    return [f"{documents[i]['title']}. {documents[i]['text']}" for i in chosen]


def financebench_pages(count: int, seed: int) -> list[str]:
    with FINANCEBENCH.open(encoding="utf-8") as lines:
        pages = {
            e["evidence_text"] for q in map(json.loads, lines) for e in q["evidence"] if e["evidence_text"].strip()
        }
    ordered = sorted(pages)
    chosen = np.random.default_rng(seed).choice(len(ordered), size=min(count, len(ordered)), replace=False)
    return [ordered[i] for i in chosen]


@pytest.fixture(scope="module")
def embedded(real_embedder):
    def embed(texts: list[str]) -> np.ndarray:
        cut = [real_embedder.tokens.split(text, TOKENS)[0] for text in texts]
        return real_embedder.embed(cut).astype(np.float64)

    science = embed(scifact_abstracts(BASELINE_SIZE + SNAPSHOT_OLD, seed=1))
    finance = embed(financebench_pages(SNAPSHOT_NEW, seed=2))
    return science[:BASELINE_SIZE], science[BASELINE_SIZE:], finance


@pytest.fixture(scope="module")
def baseline(embedded):
    science, _, _ = embedded
    return fit_baseline(science, BaselineOptions(), run_id="scifact", created="t", model="minilm")


def test_financebench_pages_in_a_scifact_corpus_are_drift(embedded, baseline):
    _, more_science, finance = embedded
    sources = ["scifact"] * len(more_science) + ["financebench"] * len(finance)
    report = compare_snapshot(
        baseline, np.vstack([more_science, finance]), SnapshotOptions(), run_id="s", created="t", sources=sources
    )
    assert report.drift_detected, report.reasons
    assert report.new_topic_clusters, [(c.size, c.median_z, c.top_sources) for c in report.clusters]
    for cluster in report.new_topic_clusters:
        assert report.clusters[cluster].top_sources[0][0] == "financebench"


def test_more_scifact_abstracts_are_not_drift(embedded, baseline):
    _, more_science, _ = embedded
    report = compare_snapshot(baseline, more_science, SnapshotOptions(), run_id="s", created="t")
    assert not report.drift_detected, report.reasons
