"""The benchmark metrics against hand-computed values: no data set and no model needed."""

from __future__ import annotations

import math

import pytest

from bench.common import ndcg_at_k, percentile, recall_at_k
from bench.financebench import Question, Retrieved, hits_at, score


def test_ndcg_is_one_for_a_perfect_ranking():
    relevance = {"a": 1, "b": 1, "c": 1}
    assert ndcg_at_k(["a", "b", "c", "x", "y"], relevance, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "c", "a"], relevance, 10) == pytest.approx(1.0)  # any order of equal gains


def test_ndcg_on_a_hand_computed_case():
    # Relevant at ranks 2 and 4 of 2 relevant documents:
    # DCG = 1/log2(3) + 1/log2(5); IDCG = 1/log2(2) + 1/log2(3).
    relevance = {"r1": 1, "r2": 1}
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "r1", "y", "r2"], relevance, 10) == pytest.approx(expected)
    assert ndcg_at_k(["x", "r1", "y", "r2"], relevance, 10) == pytest.approx(0.6509209, abs=1e-6)


def test_ndcg_uses_graded_gains_and_cuts_at_k():
    relevance = {"high": 2, "low": 1}
    # Low first: DCG = 1 + 2/log2(3); IDCG = 2 + 1/log2(3).
    assert ndcg_at_k(["low", "high"], relevance, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["x", "high"], relevance, 1) == 0.0
    assert ndcg_at_k(["x"], {}, 10) == 0.0  # no relevant document: 0, as trec_eval reports it


def test_recall_at_k():
    relevance = {"a": 1, "b": 1, "c": 1, "d": 1}
    assert recall_at_k(["a", "x", "b"], relevance, 100) == pytest.approx(0.5)
    assert recall_at_k(["x", "a"], relevance, 1) == 0.0


def test_percentile_interpolates_like_numpy():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 99) == pytest.approx(4.96)
    assert percentile([7.0], 99) == 7.0


def test_page_hits_convert_zero_indexed_gold_pages():
    # FinanceBench's evidence page 59 (zero-indexed) is ragline's page 60.
    question = Question("q1", "capex?", "3M_2018_10K", frozenset({("3M_2018_10K", 60)}))
    on_page = Retrieved("3M_2018_10K", (59, 60))
    same_doc = Retrieved("3M_2018_10K", (10,))
    other_doc = Retrieved("3M_2022_10K", (60,))
    assert hits_at(question, [other_doc, on_page], 5) == (True, True)
    assert hits_at(question, [other_doc, same_doc], 5) == (False, True)
    assert hits_at(question, [other_doc] * 5 + [on_page], 5) == (False, False)
    scores = score({"q1": [other_doc] * 5 + [on_page]}, [question])
    assert scores["page_hit@5"] == 0.0
    assert scores["page_hit@10"] == 1.0
    assert scores["doc_hit@5"] == 0.0
