"""Hybrid retrieval runs its dense and keyword searches at the same time (issue 13: at 1M chunks their sum was
18 ms p50 and the slower of the two 8; bench/RESULTS.md section 4.1), and a failure of either reaches the
caller as itself."""

from __future__ import annotations

import threading

import pytest

from ragline.config import RetrievalSettings, SearchMode
from ragline.retrieval import RetrievalRequest, Retriever
from tests.unit.test_hybrid_when_rankings_disagree import DENSE, KEYWORD, ScriptedIndex

#: Long enough never to expire when the two searches do overlap; a sequential retriever waits it out and fails.
OVERLAP_TIMEOUT_SECONDS = 10


class OverlapIndex(ScriptedIndex):
    """Each search answers only once the other has started: searches made one after the other never finish."""

    def __init__(self, fail: str | None = None) -> None:
        super().__init__(DENSE, KEYWORD)
        self.started = {"dense": threading.Event(), "keyword": threading.Event()}
        self.fail = fail

    def _meet(self, mine: str, other: str) -> None:
        self.started[mine].set()
        if not self.started[other].wait(OVERLAP_TIMEOUT_SECONDS):
            raise AssertionError(f"the {other} search never started while the {mine} search ran")
        if self.fail == mine:
            raise RuntimeError(f"{mine} search failed")

    def dense_search(self, vector, k, where=None):
        self._meet("dense", "keyword")
        return super().dense_search(vector, k, where)

    def keyword_search(self, query, k, where=None):
        self._meet("keyword", "dense")
        return super().keyword_search(query, k, where)


def _hybrid(index) -> list[str]:
    retriever = Retriever(index, RetrievalSettings(fusion="rrf", candidates=50))
    return [
        hit.chunk.id for hit in retriever.retrieve(RetrievalRequest("pump pressure", [1.0, 0.0], 4, SearchMode.HYBRID))
    ]


def test_the_dense_and_keyword_searches_of_a_hybrid_question_overlap():
    index = OverlapIndex()
    assert sorted(_hybrid(index)) == ["a", "b", "c", "d"]
    assert sorted(kind for kind, _, _ in index.asked) == ["dense", "keyword"]


@pytest.mark.parametrize("failing", ["dense", "keyword"])
def test_a_failing_search_raises_its_own_error(failing):
    with pytest.raises(RuntimeError, match=f"{failing} search failed"):
        _hybrid(OverlapIndex(fail=failing))
