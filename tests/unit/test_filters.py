from datetime import date

import pytest
from pydantic import ValidationError

from ragline.filters import SearchFilter, parse_filter_expressions


def test_expressions_become_one_filter():
    parsed = parse_filter_expressions(["source=*.pdf", "tag=finance", "tag=legal", "page=3..5", "date>=2024-01-01"])
    assert parsed == SearchFilter(
        source="*.pdf", tags=("finance", "legal"), page_from=3, page_to=5, date_from=date(2024, 1, 1)
    )


def test_single_page_means_from_and_to():
    parsed = parse_filter_expressions(["page=7"])
    assert (parsed.page_from, parsed.page_to) == (7, 7)


def test_no_expressions_is_no_filter():
    assert parse_filter_expressions([]) is None


@pytest.mark.parametrize("expression", ["colour=red", "page", "source"])
def test_unreadable_expression_is_named_in_the_error(expression):
    with pytest.raises(ValueError, match="cannot read filter"):
        parse_filter_expressions([expression])


def test_reversed_ranges_are_rejected_with_both_values():
    with pytest.raises(ValidationError, match="page_from \\(5\\) is after page_to \\(3\\)"):
        parse_filter_expressions(["page=5..3"])
    with pytest.raises(ValidationError, match=r"valid date"):
        parse_filter_expressions(["date>=yesterday"])


def test_unknown_filter_fields_are_refused():
    with pytest.raises(ValidationError, match="colour"):
        SearchFilter.model_validate({"colour": "red"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"page_to": 2**63}, "less than or equal to 1000000"),
        ({"page_from": 10**30}, "less than or equal to 1000000"),
        ({"tags": ("x" * 257,)}, "at most 256 characters"),
        ({"tags": ("",)}, "at least 1 character"),
    ],
)
def test_every_field_is_bounded_so_no_value_overflows_an_index(fields, message):
    with pytest.raises(ValidationError, match=message):
        SearchFilter.model_validate(fields)


def test_the_largest_page_accepted_reaches_the_index(tmp_path):
    from ragline.adapters.local.index.sqlite import SqliteIndex
    from ragline.filters import MAX_PAGE
    from tests.contracts.index_contract import DIMENSION, PUMPS, unit

    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
    where = SearchFilter(page_from=1, page_to=MAX_PAGE)
    assert len(index.dense_search(unit(1, 0), k=5, where=where)) == 2
    index.close()


@pytest.mark.parametrize(
    ("fields", "location", "error_type"),
    [
        ({"issuer": " "}, ("issuer",), "blank"),
        ({"source": "\t"}, ("source",), "blank"),
        ({"tags": ["finance", "  "]}, ("tags", 1), "blank"),
        ({"date_from": "2023-1-1"}, ("date_from",), "date_type"),
        ({"date_to": 20230101}, ("date_to",), "date_type"),
    ],
)
def test_each_refusal_carries_its_machine_readable_type(fields, location, error_type):
    """The API's 400 lists every invalid field with its loc, msg and type: scripts branch on the type."""
    with pytest.raises(ValidationError) as refused:
        SearchFilter.model_validate(fields)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (location, error_type)
