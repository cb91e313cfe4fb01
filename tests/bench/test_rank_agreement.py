"""bench.rank_agreement's comparison of two rankings of one question: where they part, by how much, and which hits
changed, on hand-made rankings whose answers are known."""

from __future__ import annotations

from bench.financebench import Question
from bench.rank_agreement import Ranked, compare

QUESTION = Question(
    id="q1", text="What was 3M's capex in 2018?", doc_name="3M_2018_10K", gold=frozenset({("3M_2018_10K", 60)})
)


def _ranking(*pages: int, scores: tuple[float, ...] | None = None) -> list[Ranked]:
    scores = scores or tuple(1.0 - rank / 100 for rank in range(len(pages)))
    return [Ranked("3M_2018_10K", (page,), f"chunk-{page}", score) for page, score in zip(pages, scores, strict=True)]


def test_identical_rankings_are_no_difference():
    assert compare(QUESTION, _ranking(1, 2, 3, 4, 5, 60), _ranking(1, 2, 3, 4, 5, 60)) is None


def test_a_near_tie_at_the_cut_off_is_reported_with_its_gap_and_the_hit_it_moved():
    first = _ranking(1, 2, 3, 4, 60, 5, scores=(0.9, 0.8, 0.7, 0.6, 0.50002, 0.5))
    second = _ranking(1, 2, 3, 4, 5, 60, scores=(0.9, 0.8, 0.7, 0.6, 0.50001, 0.50000))
    difference = compare(QUESTION, first, second)
    assert difference["first_differing_rank"] == 5
    assert abs(difference["score_gap_there"] - 0.00001) < 1e-9
    assert difference["same_chunks_in_top5"] is False
    assert difference["hits_changed"] == {"@5": {"page_hit": [True, False], "doc_hit": [True, True]}}


def test_a_swap_inside_the_top5_changes_no_hit():
    difference = compare(QUESTION, _ranking(60, 2, 3, 4, 5), _ranking(2, 60, 3, 4, 5))
    assert difference["first_differing_rank"] == 1
    assert difference["same_chunks_in_top5"] is True
    assert difference["hits_changed"] == {"@1": {"page_hit": [True, False], "doc_hit": [True, True]}}
