"""Filters on the document card, as the CLI and the HTTP API read them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ragline.filters import SearchFilter, parse_filter_expressions


def test_card_filters_are_read_from_their_cli_names():
    where = parse_filter_expressions(["issuer=best buy", "period=2023-Q2", "type=10q"])
    assert (where.issuer, where.period, where.doc_type) == ("best buy", "2023-Q2", "10-Q")


@pytest.mark.parametrize("period", ["2023", "2023-03", "2023-03-31", "2023-Q4"])
def test_a_period_is_a_year_month_day_or_quarter(period):
    assert SearchFilter(period=period).period == period


@pytest.mark.parametrize("period", ["23", "2023-3", "Q1 2023", "2023-Q5", "2023/03"])
def test_another_period_is_refused_saying_what_is_accepted(period):
    with pytest.raises(ValidationError, match="is not a year, month, day or quarter"):
        SearchFilter(period=period)


def test_a_card_filter_takes_equals_only():
    with pytest.raises(ValueError, match="period takes = only"):
        parse_filter_expressions(["period>=2023"])


def test_an_unknown_type_is_refused_with_the_types():
    with pytest.raises(ValidationError, match="'10-X' is not one of 10-K, 10-Q, 8-K"):
        SearchFilter(doc_type="10-X")


def test_card_filters_make_a_filter_non_empty():
    assert not SearchFilter(issuer="amcor").is_empty
