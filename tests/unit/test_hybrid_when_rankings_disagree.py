"""Hybrid retrieval when the keyword and the dense rankings disagree (issue 16: a hybrid that fused the
dense ranking twice, or ignored `fusion = "convex"`, passed every test)."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.adapters.local.index.sqlite import SqliteIndex
from ragline.config import RetrievalSettings, SearchMode
from ragline.filters import SearchFilter
from ragline.model import Chunk
from ragline.retrieval import RetrievalRequest, Retriever
from tests.contracts.index_contract import DIMENSION, embedded, unit


def _chunk(name: str) -> Chunk:
    return Chunk(
        id=name,
        document_id=name,
        source=f"/docs/{name}.pdf",
        title=name,
        position=0,
        text=name,
        pages=(1,),
        heading_path=(),
        token_count=1,
        embedding_text=name,
    )


class ScriptedIndex:
    """Answers each search with a fixed ranking (best first, with its scores), cut to the depth asked."""

    def __init__(self, dense: list[tuple[str, float]], keyword: list[tuple[str, float]]) -> None:
        self._dense, self._keyword = dense, keyword
        self.asked: list[tuple[str, int, SearchFilter | None]] = []

    def dense_search(self, vector, k, where=None):
        self.asked.append(("dense", k, where))
        return [(_chunk(name), score) for name, score in self._dense[:k]]

    def keyword_search(self, query, k, where=None):
        self.asked.append(("keyword", k, where))
        return [(_chunk(name), score) for name, score in self._keyword[:k]]

    def vectors_for(self, chunk_ids):
        return {}


# Dense prefers a, b, c; the words of the question are only in c and d.
DENSE = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
KEYWORD = [("c", 30.0), ("d", 3.0)]


def _ranking(index, k: int = 4, **settings) -> list[tuple[str, float]]:
    # RRF unless a test names another fusion: the default became convex (bench/RESULTS.md, section 6).
    retriever = Retriever(index, RetrievalSettings(**{"fusion": "rrf", "candidates": 50, **settings}))
    hits = retriever.retrieve(RetrievalRequest("pump pressure", [1.0, 0.0], k, SearchMode.HYBRID))
    return [(hit.chunk.id, hit.score) for hit in hits]


def test_rrf_puts_first_the_chunk_both_rankings_hold_then_breaks_ties_by_id():
    ranking = _ranking(ScriptedIndex(DENSE, KEYWORD))
    best = 2 / 61  # first in both lists
    assert [name for name, _ in ranking] == ["c", "a", "b", "d"]
    assert [score for _, score in ranking] == pytest.approx(
        [(1 / 63 + 1 / 61) / best, (1 / 61) / best, (1 / 62) / best, (1 / 62) / best]
    )


def test_rrf_k_sets_how_much_a_lower_rank_costs():
    ranking = dict(_ranking(ScriptedIndex(DENSE, KEYWORD), rrf_k=1))
    assert ranking["a"] == pytest.approx((1 / 2) / (2 / 2))
    assert ranking["c"] == pytest.approx((1 / 4 + 1 / 2) / (2 / 2))


def test_convex_fusion_keeps_the_dense_margin_that_rrf_throws_away():
    ranking = _ranking(ScriptedIndex(DENSE, KEYWORD), fusion="convex", dense_weight=0.7)
    # a = 0.7 * 1; b = 0.7 * 0.5; c = 0.7 * 0 + 0.3 * 1; d = 0.3 * 0 (min-max over each list)
    assert [name for name, _ in ranking] == ["a", "b", "c", "d"]
    assert [score for _, score in ranking] == pytest.approx([0.7, 0.35, 0.3, 0.0])


def test_the_dense_weight_moves_convex_fusion_towards_the_keywords():
    ranking = _ranking(ScriptedIndex(DENSE, KEYWORD), fusion="convex", dense_weight=0.2)
    assert [name for name, _ in ranking][:2] == ["c", "a"]
    assert dict(ranking)["c"] == pytest.approx(0.8)


def test_each_list_is_read_to_the_candidate_depth_not_to_k():
    # x is third in both rankings, so fusion puts it above chunks only one list holds first; it is
    # found only because each list is read beyond the k hits asked for.
    index = ScriptedIndex([("a", 0.9), ("b", 0.8), ("x", 0.7)], [("c", 9.0), ("d", 8.0), ("x", 7.0)])
    assert [name for name, _ in _ranking(index, k=1, candidates=3)] == ["x"]
    assert [k for _, k, _ in index.asked] == [3, 3]
    index = ScriptedIndex(DENSE, KEYWORD)
    _ranking(index, k=4, candidates=2)
    assert [k for _, k, _ in index.asked] == [4, 4]  # never fewer than k


def test_k_cuts_the_fused_ranking():
    assert [name for name, _ in _ranking(ScriptedIndex(DENSE, KEYWORD), k=2)] == ["c", "a"]


def test_both_searches_get_the_filter():
    index = ScriptedIndex(DENSE, KEYWORD)
    where = SearchFilter(tags=("ops",))
    Retriever(index, RetrievalSettings()).retrieve(RetrievalRequest("q", [1.0], 2, SearchMode.HYBRID, where))
    # The two searches run at once, so in either order.
    assert dict((search, filter_) for search, _, filter_ in index.asked) == {"dense": where, "keyword": where}
    assert len(index.asked) == 2


@pytest.mark.parametrize(("mode", "expected"), [(SearchMode.DENSE, ["a", "b"]), (SearchMode.KEYWORD, ["c", "d"])])
def test_a_single_mode_ranks_by_its_own_list_and_scores(mode, expected):
    index = ScriptedIndex(DENSE, KEYWORD)
    hits = Retriever(index, RetrievalSettings()).retrieve(RetrievalRequest("q", [1.0], 2, mode))
    assert [hit.chunk.id for hit in hits] == expected
    assert [hit.score for hit in hits] == [dict(DENSE + KEYWORD)[name] for name in expected]
    assert [search for search, _, _ in index.asked] == [mode.value]


# --- the same disagreement in the real local index ----------------------------------------------------


@pytest.fixture
def real_index(tmp_path):
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    # The vector of the question points at the impeller note; only the seal note has its words.
    index.replace_document(
        "/docs/impeller.pdf", "i" * 64, [embedded("/docs/impeller.pdf", "i" * 64, 0, "Impellers wear.", unit(1, 0))]
    )
    index.replace_document(
        "/docs/seals.pdf",
        "s" * 64,
        [embedded("/docs/seals.pdf", "s" * 64, 0, "Mechanical seal leakage limits.", unit(0, 1))],
    )
    yield index
    index.close()


def test_in_the_local_index_hybrid_returns_what_each_search_alone_finds(real_index):
    retriever = Retriever(real_index, RetrievalSettings())
    question, vector = "seal leakage", np.asarray(unit(1, 0))
    dense = retriever.retrieve(RetrievalRequest(question, vector, 1, SearchMode.DENSE))
    keyword = retriever.retrieve(RetrievalRequest(question, vector, 1, SearchMode.KEYWORD))
    hybrid = retriever.retrieve(RetrievalRequest(question, vector, 2, SearchMode.HYBRID))
    assert [hit.chunk.source for hit in dense] == ["/docs/impeller.pdf"]
    assert [hit.chunk.source for hit in keyword] == ["/docs/seals.pdf"]
    assert {hit.chunk.source for hit in hybrid} == {"/docs/impeller.pdf", "/docs/seals.pdf"}
    # The similarity is the cosine whatever ranked the hit: 1 for the impeller note, 0 for the seals.
    assert {hit.chunk.source: round(hit.similarity, 5) for hit in hybrid} == {
        "/docs/impeller.pdf": 1.0,
        "/docs/seals.pdf": 0.0,
    }


def test_a_tie_breaks_by_chunk_id_whichever_list_found_the_chunk_first():
    # z (second in the dense list) and b (second in the keyword list) fuse to the same score.
    index = ScriptedIndex([("a", 0.9), ("z", 0.5)], [("c", 9.0), ("b", 3.0)])
    assert [name for name, _ in _ranking(index)] == ["a", "c", "b", "z"]
