"""Hybrid search looks again inside the documents a question names (`retrieval.named_documents`, issue 12).

Corpus-wide, a filing's statement page competes with every other filing's statement pages: the candidates
that fusion and the card boost see can miss the named filing's right page entirely. The filings whose cards
best match the question are searched again, each on its own, and their hits join the candidates.
"""

from __future__ import annotations

import pytest

from ragline.config import RetrievalSettings, SearchMode
from ragline.filters import SearchFilter
from ragline.model import Chunk, DocumentCard
from ragline.retrieval import RetrievalRequest, Retriever, named_documents

HARBOUR_2023 = DocumentCard("Harbour Foods 10-K 2023", "10-K", "Harbour Foods Corporation", "2023-12-31")
HARBOUR_2022 = DocumentCard("Harbour Foods 10-K 2022", "10-K", "Harbour Foods Corporation", "2022-12-31")
NORTHWIND = DocumentCard("Northwind Traders 10-K 2023", "10-K", "Northwind Traders, Inc.", "2023-12-31")
QUESTION = "What was Harbour Foods' FY2023 capital expenditure?"
RISKS = "How did Harbour Foods' 10-K describe its risks?"


def _chunk(name: str, card: DocumentCard, page: int, score: float) -> tuple[Chunk, float]:
    chunk = Chunk(
        id=f"{name}:{page:05d}",
        document_id=name,
        source=f"/filings/{name}.pdf",
        title=card.title,
        position=page,
        text=f"page {page}",
        pages=(page,),
        heading_path=(),
        token_count=2,
        embedding_text=f"page {page}",
        card=card,
    )
    return chunk, score


# Corpus-wide, Northwind's statement pages outscore Harbour 2023's cash flow page (page 60), which is fourth.
CORPUS = [
    _chunk("northwind-2023", NORTHWIND, 40, 0.90),
    _chunk("harbour-2023", HARBOUR_2023, 12, 0.85),
    _chunk("northwind-2023", NORTHWIND, 41, 0.84),
    _chunk("harbour-2023", HARBOUR_2023, 60, 0.83),
    _chunk("harbour-2022", HARBOUR_2022, 55, 0.82),
]


class Corpus:
    """Both searches rank by the given scores; a filter on `source` (exact) keeps that document's chunks, and
    every search is recorded with its filter."""

    def __init__(self, ranked: list[tuple[Chunk, float]]) -> None:
        self.ranked = ranked
        self.filters: list[SearchFilter | None] = []
        self.asked: list[tuple[str, object, int]] = []  # (search, its vector or words, its depth)

    def _search(self, k: int, where: SearchFilter | None) -> list[tuple[Chunk, float]]:
        self.filters.append(where)
        kept = [hit for hit in self.ranked if where is None or where.source in (None, hit[0].source)]
        if where is not None and where.page_from is not None:
            kept = [hit for hit in kept if max(hit[0].pages) >= where.page_from]
        return kept[:k]

    def dense_search(self, vector, k, where=None):
        self.asked.append(("dense", tuple(vector), k))
        return self._search(k, where)

    def keyword_search(self, query, k, where=None):
        self.asked.append(("keyword", query, k))
        return [(chunk, 10 * score) for chunk, score in self._search(k, where)]

    def vectors_for(self, chunk_ids):
        return {chunk_id: [1.0, 0.0] for chunk_id in chunk_ids}


def _top(corpus: Corpus, question: str, k: int, where: SearchFilter | None = None, **settings) -> list[str]:
    retriever = Retriever(corpus, RetrievalSettings(candidates=3, **settings))
    hits = retriever.retrieve(RetrievalRequest(question, [1.0, 0.0], k, SearchMode.HYBRID, where))
    return [hit.chunk.id for hit in hits]


def test_the_named_filings_page_that_the_corpus_wide_lists_missed_is_found():
    without = _top(Corpus(CORPUS), QUESTION, 3, named_documents=0)
    assert "harbour-2023:00060" not in without  # only three candidates a list: page 60 is fourth
    found = _top(Corpus(CORPUS), QUESTION, 3, named_documents=2)
    # The named filing's cash flow page displaces the other issuer's second page.
    assert "harbour-2023:00060" in found
    assert "northwind-2023:00041" in without
    assert "northwind-2023:00041" not in found


def test_only_the_best_matching_filing_is_searched_again_with_the_questions_own_filter():
    corpus = Corpus(CORPUS)
    where = SearchFilter(page_from=2)
    _top(corpus, QUESTION, 3, where=where, named_documents=2)
    # Two corpus-wide searches, then two inside Harbour's 2023 10-K (issuer, year and span: the best match; its
    # 2022 10-K, issuer and span only, is not among the candidates anyway).
    assert corpus.filters == [where, where, *[where.model_copy(update={"source": "/filings/harbour-2023.pdf"})] * 2]
    # Inside it, the question's own vector and words, twice as deep as corpus-wide (3 candidates).
    asked = [("dense", (1.0, 0.0), 3), ("keyword", QUESTION, 3), ("dense", (1.0, 0.0), 6), ("keyword", QUESTION, 6)]
    assert sorted(corpus.asked) == sorted(asked)  # the dense searches run on worker threads: any order


def test_a_question_that_names_no_issuer_searches_nothing_more():
    corpus = Corpus(CORPUS)
    _top(corpus, "What was the FY2023 capital expenditure in the 10-K?", 3, named_documents=2)
    assert corpus.filters == [None, None]


def test_off_when_the_setting_is_zero():
    corpus = Corpus(CORPUS)
    _top(corpus, QUESTION, 3, named_documents=0)
    assert corpus.filters == [None, None]


@pytest.mark.parametrize(
    ("question", "limit", "expected"),
    [
        # Issuer, year and span: the 2023 10-K alone is the best match.
        (QUESTION, 1, ["/filings/harbour-2023.pdf"]),
        # "Harbour's 10-Ks": both match equally; two are allowed, so both are searched.
        (RISKS, 2, ["/filings/harbour-2022.pdf", "/filings/harbour-2023.pdf"]),
        # ... but with a limit of one, neither: the question names no filing in particular.
        (RISKS, 1, []),
        # Northwind's card matches the year and the type, not the issuer: never searched for it.
        ("What did the FY2023 10-K of Acme say?", 2, []),
    ],
)
def test_which_documents_a_question_names(question, limit, expected):
    candidates = [_chunk("harbour-2023", HARBOUR_2023, 1, 0.5), _chunk("harbour-2022", HARBOUR_2022, 1, 0.4),
                  _chunk("northwind-2023", NORTHWIND, 1, 0.3)]  # fmt: skip
    assert named_documents(question, candidates, limit) == expected
