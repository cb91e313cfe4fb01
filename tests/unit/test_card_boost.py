"""Questions meet cards: what a question names, and the soft boost it gives matching documents."""

from __future__ import annotations

import pytest

from ragline.cards import card_match, question_facets
from ragline.config import RetrievalSettings, SearchMode
from ragline.model import Chunk, DocumentCard
from ragline.retrieval import RetrievalRequest, Retriever

ANNUAL = DocumentCard("Harbour Foods Corporation Form 10-K", "10-K", "Harbour Foods Corporation", "2022-12-31")
QUARTERLY = DocumentCard("Harbour Foods Corporation Form 10-Q", "10-Q", "Harbour Foods Corporation", "2023-03-31")
OTHER = DocumentCard("Northwind Traders, Inc. Form 10-Q", "10-Q", "Northwind Traders, Inc.", "2023-03-31")


@pytest.mark.parametrize(
    ("question", "card", "expected"),
    [
        ("What did Harbour Foods report in its 10-Q for 2023?", QUARTERLY, 1.0),
        ("What did Harbour Foods report in its 10-Q for 2023?", ANNUAL, 0.5),  # the issuer only: half
        ("What did Harbour Foods report in its 10-Q for 2023?", OTHER, 0.5),  # the type and the year: a quarter each
        ("What was Harbour Foods' FY22 capital expenditure?", ANNUAL, 1.0),  # and a year's filing for a year
        ("What was Harbour Foods' FY22 capital expenditure?", QUARTERLY, 0.5),
        ("Which segment grew the most?", QUARTERLY, 0.0),
        ("Which segment grew the most?", None, 0.0),
    ],
)
def test_a_card_matches_what_the_question_names_the_issuer_weighing_most(question, card, expected):
    assert card_match(card, question_facets(question)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("issuer", "question", "named"),
    [
        ("BEST BUY CO., INC.", "Which Best Buy category grew?", True),
        ("BEST BUY CO., INC.", "Which category performed the best?", False),  # a word, not the name
        ("MGM Resorts International", "Which region had the highest EBITDAR for MGM?", True),  # ticker-like first word
        ("3M COMPANY", "What is 3M's capital expenditure?", True),
        ("General Mills, Inc.", "What is the general outlook?", False),  # an ordinary first word is not enough
        ("PepsiCo, Inc.", "How did PepsiCo's revenue grow?", True),
        ("Johnson & Johnson", "How did JnJ's sales grow?", True),  # the initials, with the "n" of "&"
        ("Johnson & Johnson", "How did J&J's sales grow?", True),
        ("American Express Company", "Was AMEX able to retain card members?", True),  # the words' beginnings
        ("JPMorgan Chase & Co.", "Which of JPM's segments had the lowest revenue?", True),  # one word's beginning
        ("JPMorgan Chase & Co.", "Which JP segment grew?", False),  # too short to be one word's beginning alone
        ("PepsiCo, Inc.", "What was PepsiCo's EPS?", True),
        ("Eastman Paper Supply", "How did the EPS of Acme grow?", True),  # what an abbreviation cannot tell apart
        ("Northwind Traders, Inc.", "What was the EPS in FY2022 in the US?", False),  # other capitals, no match
        ("Johnson & Johnson", "How did jnj's sales grow?", False),  # no capitals: a word, not an abbreviation
    ],
)
def test_an_issuer_is_named_by_its_name_not_by_a_common_word(issuer, question, named):
    card = DocumentCard("t", "other", issuer)
    assert (card_match(card, question_facets(question)) > 0) is named


def _chunk(name: str, card: DocumentCard) -> Chunk:
    return Chunk(
        id=f"{name}:00000",
        document_id=name,
        source=f"/docs/{name}.pdf",
        title=card.title,
        position=0,
        text="Net revenue rose on higher volumes.",
        pages=(1,),
        heading_path=(),
        token_count=8,
        embedding_text="Net revenue rose on higher volumes.",
        card=card,
    )


class Filings:
    """Both searches rank the annual report first: only the cards can tell the question wants the 10-Q."""

    def __init__(self, ranked: list[tuple[Chunk, float]]) -> None:
        self.ranked = ranked

    def dense_search(self, vector, k, where=None):
        return self.ranked[:k]

    def keyword_search(self, query, k, where=None):
        return [(chunk, 10 * score) for chunk, score in self.ranked[:k]]

    def vectors_for(self, chunk_ids):
        return {chunk_id: [1.0, 0.0] for chunk_id in chunk_ids}


CLOSE = [(_chunk("annual", ANNUAL), 0.9), (_chunk("quarterly", QUARTERLY), 0.85), (_chunk("other", OTHER), 0.1)]
QUESTION = "How did Harbour Foods' net revenue change in its 10-Q for the quarter of 2023?"


def _ranking(ranked, question: str, **settings: object) -> list[str]:
    retriever = Retriever(Filings(ranked), RetrievalSettings(**settings))
    hits = retriever.retrieve(RetrievalRequest(question, [1.0, 0.0], len(ranked), SearchMode.HYBRID))
    return [hit.chunk.document_id for hit in hits]


@pytest.mark.parametrize(("fusion", "boost"), [("rrf", 0.1), ("convex", 0.2)])
def test_the_boost_puts_the_filing_the_question_names_first(fusion, boost):
    assert _ranking(CLOSE, QUESTION, fusion=fusion, card_boost=0.0) == ["annual", "quarterly", "other"]
    assert _ranking(CLOSE, QUESTION, fusion=fusion, card_boost=boost) == ["quarterly", "annual", "other"]


def test_a_question_that_names_nothing_keeps_the_fused_order_and_every_candidate():
    assert _ranking(CLOSE, "How did net revenue change?", card_boost=0.2) == ["annual", "quarterly", "other"]


def test_the_boost_is_soft_it_does_not_overturn_a_clear_lead():
    # Convex fusion over two candidates: the annual report leads by the whole range (1.0 against 0.0).
    clear = CLOSE[:2]
    assert _ranking(clear, QUESTION, fusion="convex", card_boost=0.2) == ["annual", "quarterly"]
