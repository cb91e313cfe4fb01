"""bench.chunk_counting on the demo PDFs: both ways give the same chunks, and each round's CPU is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import chunk_counting

DEMO_PDFS = sorted((Path(__file__).resolve().parents[2] / "demo" / "corpus").glob("*.pdf"))


def test_both_ways_of_counting_give_the_same_chunks_and_each_round_is_timed():
    row = chunk_counting.measure(chunk_counting.documents(DEMO_PDFS), rounds=2)
    assert row["chunks"] > 0
    assert all(len(values) == 2 and min(values) > 0 for values in row["cpu_seconds"].values())
    ratios = row["added_over_recounted"]
    assert ratios["min"] <= ratios["median"] <= ratios["max"]


def test_a_difference_in_the_chunks_stops_the_run(monkeypatch):
    original = chunk_counting.fingerprint
    calls = iter(range(2))
    monkeypatch.setattr(chunk_counting, "fingerprint", lambda chunks: original(chunks) + str(next(calls)))
    with pytest.raises(SystemExit, match="different chunks"):
        chunk_counting.measure(chunk_counting.documents(DEMO_PDFS[:1]), rounds=1)
