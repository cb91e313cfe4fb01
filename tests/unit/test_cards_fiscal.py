"""Fiscal years and spans: a question's "FY2024" or "Q2 of FY2024" meets the filing of that fiscal year and that
span, however the company's fiscal calendar sits against the calendar year."""

from __future__ import annotations

from datetime import date

import pytest

from ragline.cards import card_match, card_matches, card_spans, fiscal_year, question_facets
from ragline.model import DocumentCard


def _card(doc_type: str, period: str | None, period_text: str | None = None, issuer: str = "Harbour Foods Inc."):
    return DocumentCard(f"{issuer} {doc_type}", doc_type, issuer, period, period_text)


@pytest.mark.parametrize(
    ("card", "year"),
    [
        (_card("10-K", "2023-06-30", "fiscal year ended June 30, 2023"), "2023"),
        (_card("10-K", "2023-01-28", "fiscal year ended January 28, 2023"), "2023"),  # a retailer's: named by its end
        (
            _card("10-K", "2023-01-01", "fiscal year ended January 1, 2023"),
            "2022",
        ),  # 52/53 weeks ending in early January
        (_card("10-Q", "2022-12-31", "quarterly period ended December 31, 2022"), "2022"),  # no calendar known
        (_card("8-K", "2023-01-03", "report dated January 3, 2023"), "2023"),  # a date, not a fiscal year
        (_card("earnings release", "2022", "fourth quarter and full year 2022"), "2022"),
        (_card("other", None), None),
    ],
)
def test_a_cards_fiscal_year_is_the_year_its_fiscal_year_is_named_by(card, year):
    assert fiscal_year(card) == year


@pytest.mark.parametrize(
    ("quarter_end", "year_end", "year"),
    [
        ("2022-12-31", date(2023, 6, 30), "2023"),  # a June fiscal year: its second quarter ends in December
        ("2023-07-29", date(2023, 1, 28), "2024"),  # a January fiscal year: its second quarter ends in July
        ("2023-06-30", date(2022, 12, 31), "2023"),  # a calendar fiscal year
        ("2023-10-28", date(2019, 2, 2), "2024"),  # an older year's end places it as well
        ("2022-10-02", date(2023, 1, 1), "2022"),  # its year ends early in January: named by the year before
    ],
)
def test_a_quarter_falls_in_the_fiscal_year_that_ends_after_it(quarter_end, year_end, year):
    quarter = _card("10-Q", quarter_end, f"quarterly period ended {quarter_end}")
    assert fiscal_year(quarter, year_end) == year


@pytest.mark.parametrize(
    ("card", "spans"),
    [
        (_card("10-K", "2023-06-30"), {"year"}),
        (_card("10-Q", "2023-03-31"), {"quarter"}),
        (_card("earnings release", "2023-06-30", "Twelve Months Ended June 30, 2023"), {"year"}),
        (_card("earnings release", "2022-12-31", "quarter and year ended December 31, 2022"), {"year", "quarter"}),
        (_card("earnings release", "2023-03-25", "12 weeks ended March 25, 2023"), {"quarter"}),
        (_card("8-K", "2023-05-03", "report dated May 3, 2023"), set()),
    ],
)
def test_a_cards_span_is_what_its_period_covers(card, spans):
    assert card_spans(card) == spans


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("Which category performed best during Q2 of FY2024?", "quarter"),
        ("What was the second quarter's revenue in 2023?", "quarter"),
        ("Has the quick ratio improved between FY2023 and FY2022?", "year"),
        ("Which segment grew the most?", None),
    ],
)
def test_a_question_asks_about_a_quarter_a_year_or_neither(question, span):
    assert question_facets(question).span == span


def test_a_year_question_prefers_the_years_filing_to_a_quarter_of_the_same_fiscal_year():
    facets = question_facets("Does Harbour Foods have an improving gross margin profile as of FY2023?")
    annual = _card("10-K", "2023-06-30", "fiscal year ended June 30, 2023")
    quarter = _card("10-Q", "2022-12-31", "quarterly period ended December 31, 2022")
    annual_match, quarter_match = card_matches([annual, quarter], facets)
    assert annual_match == pytest.approx(1.0)  # issuer, fiscal year, span
    assert quarter_match == pytest.approx(0.75)  # issuer and fiscal year 2023 (the annual card's calendar)


def test_the_issuers_fiscal_calendar_comes_from_its_year_long_cards_among_the_candidates():
    facets = question_facets("Which Harbour Foods category performed best during Q2 of FY2024?")
    quarter = _card("10-Q", "2023-07-29", "quarterly period ended July 29, 2023")
    annual = _card("10-K", "2023-01-28", "fiscal year ended January 28, 2023")
    stranger = _card("10-K", "2023-12-31", "fiscal year ended December 31, 2023", issuer="Northwind Traders Inc.")
    assert card_matches([quarter, annual, stranger, None], facets) == pytest.approx([1.0, 0.5, 0.0, 0.0])
    # without a year-long card of its issuer, the quarter is named by its calendar year: no fiscal 2024
    assert card_matches([quarter, stranger], facets) == pytest.approx([0.75, 0.0])


def test_a_named_type_outweighs_the_span():
    facets = question_facets("What did Harbour Foods' 10-Q say about FY2023?")
    annual = _card("10-K", "2023-06-30", "fiscal year ended June 30, 2023")
    assert card_match(annual, facets) == pytest.approx(0.75)  # issuer and year; the type named is not this one
