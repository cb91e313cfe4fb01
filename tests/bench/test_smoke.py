"""Smoke versions of the benchmarks: tiny subsets of the real data through the real engine.

They check behaviour (a run produces a complete result row with sane values), never timings or fixed
results. Skipped where ../shared/data is absent (it is never shipped: non-commercial licences).
"""

from __future__ import annotations

import pytest

from bench.common import SHARED_DATA, DataMissingError, run_main
from ragline.config import SearchMode

needs_scifact = pytest.mark.skipif(not (SHARED_DATA / "scifact").is_dir(), reason="../shared/data/scifact is absent")
needs_financebench = pytest.mark.skipif(
    not (SHARED_DATA / "financebench").is_dir(), reason="../shared/data/financebench is absent"
)


def test_a_missing_data_set_is_a_clean_skip(monkeypatch, capsys):
    def main(argv):
        raise DataMissingError("/nowhere/scifact is absent")

    assert run_main(main, []) == 0
    assert "SKIPPED" in capsys.readouterr().err


@pytest.mark.data
@needs_scifact
def test_scifact_smoke_run_produces_a_row_per_mode(real_embedder):
    from bench import scifact

    (row,) = scifact.run(limit_queries=5, limit_docs=40, record=False, embedder=real_embedder, cache=False)
    assert row["queries"] == 5
    assert set(row["modes"]) == {"keyword", "dense", "hybrid", "hybrid_convex"}
    for scores in row["modes"].values():
        assert 0.0 <= scores["ndcg@10"] <= 1.0
        assert 0.0 <= scores["recall@100"] <= 1.0
    # Every judged document is in the small corpus, so recall@100 over ~60 abstracts is complete.
    assert row["modes"]["dense"]["recall@100"] == 1.0


@pytest.mark.data
@needs_scifact
def test_scifact_levers_reuse_the_engine_fusion():
    from bench import scifact

    dense = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
    keyword = [("c", 12.0), ("a", 3.0)]
    assert scifact.rrf_run(dense, keyword, rrf_k=60, candidates=50, k=3)[0] == "a"
    assert scifact.convex_run(dense, keyword, alpha=0.0, candidates=50, k=1) == ["c"]
    assert scifact.convex_run(dense, keyword, alpha=1.0, candidates=50, k=1) == ["a"]


@pytest.mark.data
@needs_financebench
def test_financebench_smoke_ingests_through_the_engine_and_scores(real_embedder):
    from bench import financebench

    row = financebench.run(
        names=financebench.SMOKE_FILES, record=False, embedder=real_embedder, modes=(SearchMode.HYBRID,)
    )
    ingest = row["ragline_ingest"]
    assert ingest["files"] == 2 and ingest["failed"] == []
    assert ingest["pages"] > 0 and ingest["chunks"] > 0 and ingest["pages_per_second"] > 0
    assert {"extract", "chunk", "embed", "index"} <= set(ingest["stage_seconds"])
    scores = row["retrieval"]["hybrid"]
    assert scores["questions"] == 2
    assert 0.0 <= scores["page_hit@5"] <= scores["page_hit@10"] <= 1.0


def test_latency_smoke_measures_every_path(tmp_path, real_embedder):
    from bench import latency

    row = latency.run_size(1000, 10, chroma=False, scratch=tmp_path, embedder=real_embedder, record=False)
    for key in ("ragline_retrieve_dense", "ragline_retrieve_keyword", "ragline_retrieve_hybrid"):
        assert row[key]["n"] == 10 and 0 < row[key]["p50_ms"] <= row[key]["p99_ms"]
    assert row["ragline_ask_extractive_hybrid"]["n"] >= 10


@pytest.mark.data
@needs_financebench
def test_langchain_baseline_smoke_when_the_bench_extra_is_installed(real_embedder):
    pytest.importorskip("langchain_chroma")
    pytest.importorskip("langchain_community")
    from bench import financebench
    from bench.langchain_pipeline import run_pipeline
    from bench.scifact import embed_truncated

    class SameModelOnOnnx:  # torch takes a minute to import on a loaded CI machine: same model, onnxruntime
        def embed_documents(self, texts):
            return embed_truncated(real_embedder, texts).tolist()  # MiniLM reads 256 tokens, as torch cuts

        def embed_query(self, text):
            return real_embedder.embed([text])[0].tolist()

    files = financebench.pdf_files(names=financebench.SMOKE_FILES[1:])
    questions = [q for q in financebench.load_questions() if q.doc_name == files[0].stem]
    result = run_pipeline(files, questions, k=5, embeddings=SameModelOnOnnx())
    assert result["pages"] > 0 and result["chunks"] > 0 and result["failed"] == []
    assert result["retrieval_dense"]["questions"] == len(questions)
