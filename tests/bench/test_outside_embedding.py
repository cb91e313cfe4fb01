"""bench.outside_embedding: each side's engine in its own process, the same texts on both, refused rounds kept out."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import outside_embedding
from bench.common import REPO_ROOT

DEMO_PDFS = sorted((REPO_ROOT / "demo" / "corpus").glob("*.pdf"))


def test_a_checkout_against_itself_embeds_the_same_texts_and_each_stage_has_its_cpu():
    # The suites run side by side in CI: no round could be taken as idle here, so none is refused.
    row = outside_embedding.measure(DEMO_PDFS, rounds=1, baseline=REPO_ROOT, max_other_cores=math.inf)
    (runs,) = row["rounds"]
    assert set(runs) == {"ours", "baseline"}
    for run in runs.values():
        assert run["chunks"] > 0 and run["pages"] > 0
        assert run["cpu_seconds"] > 0 and {"extract", "chunk", "index"} <= set(run["stage_cpu_seconds"])
        assert run["stage_cpu_seconds"]["embed"] < run["cpu_seconds"]  # free vectors: outside embedding is the rest
    ratio = row["ours_over_baseline"]
    assert ratio["min"] <= ratio["median"] <= ratio["max"]


def test_a_run_that_imports_ragline_from_elsewhere_is_refused(tmp_path: Path):
    # An empty folder holds no ragline: the child would measure the installed one, not the checkout named.
    with pytest.raises(RuntimeError, match="imported ragline from"):
        outside_embedding.run_once(tmp_path, DEMO_PDFS[:1])


def _fake_runs(monkeypatch, hashes: dict[Path, str], other_cores: float = 0.0) -> None:
    def run_once(tree: Path, files):
        return {"cpu_seconds": 2.0, "wall_seconds": 1.0, "stage_cpu_seconds": {}, "other_cores": other_cores,
                "texts_sha256": hashes[tree]}  # fmt: skip

    monkeypatch.setattr(outside_embedding, "run_once", run_once)


def test_different_texts_on_the_two_sides_stop_the_run(monkeypatch, tmp_path: Path):
    _fake_runs(monkeypatch, {REPO_ROOT: "a", tmp_path: "b"})
    with pytest.raises(SystemExit, match="different texts"):
        outside_embedding.measure(DEMO_PDFS, rounds=1, baseline=tmp_path)


def test_rounds_beside_other_work_are_refused_and_none_left_is_no_result(monkeypatch, tmp_path: Path):
    _fake_runs(monkeypatch, {REPO_ROOT: "a", tmp_path: "a"}, other_cores=0.5)
    with pytest.raises(SystemExit, match="every round ran beside other work"):
        outside_embedding.measure(DEMO_PDFS, rounds=2, baseline=tmp_path, max_other_cores=0.1)
