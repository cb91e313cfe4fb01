"""bench/throughput.py (issue 15): rounds in rotating order, ratios taken within a round, and a round refused
when the rest of the machine was busy during any of its runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import throughput
from bench.throughput import Run, order_of_round, summarize

DEMO = Path(__file__).resolve().parents[2] / "demo" / "corpus"


def _round(ragline: float, floor: float, langchain: float, busy: str | None = None) -> dict[str, Run]:
    """Three runs over 100 pages taking these seconds; `busy` names the run other processes disturbed."""
    seconds = {"ragline": ragline, "floor": floor, "langchain": langchain}
    return {name: Run(name, value, 100, 400, 1.5 if name == busy else 0.02, 0.5) for name, value in seconds.items()}


def test_each_pipeline_leads_a_round_in_turn_and_the_first_round_starts_with_ragline():
    orders = [order_of_round(number, throughput.PIPELINES) for number in range(3)]
    assert orders[0][0] == "ragline"  # the floor embeds what ragline produced
    assert {order[0] for order in orders} == set(throughput.PIPELINES)
    assert all(sorted(order) == sorted(throughput.PIPELINES) for order in orders)
    assert order_of_round(1, ["floor", "ragline"]) == ["floor", "ragline"]


def test_ratios_are_the_median_and_range_of_the_undisturbed_rounds_only():
    rounds = [
        _round(10, 9, 40),
        _round(10, 9, 20, busy="langchain"),  # LangChain's time here says nothing: refused
        _round(12, 10, 30),
        _round(11, 10, 33),
    ]
    summary = summarize(rounds, max_other_cores=0.1)
    assert summary["rounds_accepted"] == 3
    # pages/s ratio = LangChain's seconds / ragline's, per round: 4.0, 2.5, 3.0
    assert summary["ragline_over_langchain_pages_per_second"] == {"median": 3.0, "min": 2.5, "max": 4.0}
    assert summary["ragline_seconds_over_floor_seconds"]["median"] == pytest.approx(1.111, abs=1e-3)


def test_no_undisturbed_round_gives_no_ratio_and_says_why():
    summary = summarize([_round(10, 9, 40, busy="ragline")], max_other_cores=0.1)
    assert summary["rounds_accepted"] == 0
    assert "other processes" in summary["refused"]
    assert "ragline_over_langchain_pages_per_second" not in summary


@pytest.mark.slow
def test_two_rounds_on_a_demo_pdf_record_every_run_and_the_floor_embeds_what_ragline_did():
    row = throughput.run(
        [DEMO / "songbird-field-guide.pdf"],
        rounds=2,
        pipelines=["ragline", "floor"],
        max_other_cores=float("inf"),  # the suite runs beside other suites: nothing is refused here
        record=False,
    )
    runs = row["runs"]
    order = [(run["round"], run["pipeline"]) for run in runs]
    assert order == [(0, "ragline"), (0, "floor"), (1, "floor"), (1, "ragline")]
    assert len({run["chunks"] for run in runs}) == 1 and runs[0]["chunks"] > 0
    # Each run in a fresh process of its own: nothing one run leaves behind can slow the next.
    processes = [run["details"]["process"] for run in runs]
    assert len(set(processes)) == len(runs) and os.getpid() not in processes
    assert all(run["seconds"] > 0 and run["other_cores"] >= 0 for run in runs)
    assert row["summary"]["rounds_accepted"] == 2
    assert row["summary"]["ragline_seconds_over_floor_seconds"]["median"] > 0


def test_each_finished_round_is_kept_before_the_next_starts_so_a_stopped_run_loses_only_its_last(monkeypatch):
    written = []
    monkeypatch.setattr(throughput, "write_result", lambda name, row: written.append((name, row)))
    ragline, floor = Run("ragline", 10, 100, 400, 0.0, 0.1), Run("floor", 8, 100, 400, 0.0, 0.1)
    runs = {"ragline": ragline, "floor": floor}
    monkeypatch.setattr(throughput, "run_in_process", lambda pipeline, files, precision, texts_file: runs[pipeline])
    throughput.run([DEMO / "songbird-field-guide.pdf"], rounds=3, pipelines=["ragline", "floor"])
    assert [name for name, _ in written] == ["throughput-rounds", "throughput-rounds", "throughput"]
    assert [row["summary"]["rounds"] for _, row in written] == [1, 2, 3]
    assert [row.get("complete", True) for _, row in written] == [False, False, True]
    assert {run["round"] for run in written[1][1]["runs"]} == {0, 1}


def test_the_ratios_need_ragline():
    with pytest.raises(ValueError, match="must include ragline"):
        throughput.run([DEMO / "songbird-field-guide.pdf"], pipelines=["floor"], record=False)


def test_the_physical_limit_counts_each_distinct_text_once_with_its_special_tokens(monkeypatch):
    from bench import peak
    from ragline.adapters.local.embedding import packaged_model_dir

    monkeypatch.setattr(peak, "matmul_peak", lambda precision, shape, cores: 1e9)
    shape = peak.model_shape(packaged_model_dir())
    rounds = [
        {
            "ragline": throughput.Run("ragline", 6.0, 10, 2, 0.0, 0.0),
            "floor": throughput.Run("floor", 4.0, 10, 2, 0.0, 0.0),
        }
    ]
    limit = throughput.physical_limit(rounds, ["pumps move water", "pumps move water", "valves"], 10, "fp32")
    from bench.scifact import make_embedder

    counts = [make_embedder("fp32").tokens.count(text) + 2 for text in ("pumps move water", "valves")]
    expected_seconds = peak.operations(counts, shape) / 1e9
    assert limit["tokens"] == sum(counts) and limit["texts"] == 2
    assert limit["seconds"] == round(expected_seconds, 2)
    assert limit["ragline_median_over_physical"] == round(6.0 / limit["seconds"], 2)
    assert limit["floor_median_over_physical"] == round(4.0 / limit["seconds"], 2)


def test_a_run_that_fails_in_its_process_says_which_pipeline_and_why(tmp_path):
    missing = tmp_path / "texts.json"
    with pytest.raises(RuntimeError, match=r"the floor run failed(.|\n)*texts\.json: no texts to embed"):
        throughput.run_in_process("floor", [DEMO / "songbird-field-guide.pdf"], "fp32", missing)
