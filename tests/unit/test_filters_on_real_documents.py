"""Filters as users write them, on the local index: chunks spanning pages, file names that share
prefixes and suffixes, dates on the boundaries (issue 16: the filters the suite let break)."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.adapters.local.index.sqlite import SqliteIndex
from ragline.filters import SearchFilter, parse_filter_expressions
from tests.contracts.index_contract import DIMENSION, embedded, unit

REPORT = "/docs/annual-report.pdf"
REPORT_2023 = "/docs/annual-report-2023.pdf"
NESTED = "/docs/2023/annual-report.pdf"
OLD = "/archive/old-annual-report.pdf"
SOURCES = (REPORT, REPORT_2023, NESTED, OLD)


def _document(source: str, number: int, date: str, pages: list[tuple[int, ...]], tags=()) -> list:
    document_id = f"{number:x}" * 64
    return [
        embedded(
            source,
            document_id[:64],
            position,
            f"Pumping station {source} part {position} reports the quarterly pressure.",
            unit(1, position + 1, number),
            pages=chunk_pages,
            date=date,
            tags=tags,
        )
        for position, chunk_pages in enumerate(pages)
    ]


@pytest.fixture
def index(tmp_path):
    index = SqliteIndex(tmp_path / "index.sqlite3", dimension=DIMENSION)
    # The report: a one-page chunk, a chunk running over pages 3 to 5, and one on page 6.
    index.replace_document(REPORT, "a" * 64, _document(REPORT, 10, "2024-03-01", [(1,), (3, 4, 5), (6,)], ("ops",)))
    index.replace_document(REPORT_2023, "b" * 64, _document(REPORT_2023, 11, "2024-02-29", [(1,)], ("finance",)))
    index.replace_document(NESTED, "c" * 64, _document(NESTED, 12, "2024-03-02", [(2,)], ("finance", "ops")))
    index.replace_document(OLD, "d" * 64, _document(OLD, 13, "2023-12-31", [(1, 2)]))
    yield index
    index.close()


def _found(index: SqliteIndex, where: SearchFilter) -> dict[str, list[tuple[int, ...]]]:
    """Source -> pages of every chunk found, by dense and by keyword search alike."""
    dense = index.dense_search(np.asarray(unit(1, 1, 1)), k=50, where=where)
    keyword = index.keyword_search("quarterly pressure", k=50, where=where)
    by_dense = sorted((chunk.source, chunk.pages) for chunk, _ in dense)
    by_keyword = sorted((chunk.source, chunk.pages) for chunk, _ in keyword)
    assert by_dense == by_keyword, "the two searches filter alike"
    found: dict[str, list[tuple[int, ...]]] = {}
    for source, pages in by_dense:
        found.setdefault(source, []).append(pages)
    return found


# --- pages: a chunk belongs to every page it spans ------------------------------------------------


def test_a_chunk_running_over_pages_3_to_5_is_found_from_page_4(index):
    assert _found(index, SearchFilter(source=REPORT, page_from=4)) == {REPORT: [(3, 4, 5), (6,)]}


def test_a_chunk_running_over_pages_3_to_5_is_found_up_to_page_4(index):
    assert _found(index, SearchFilter(source=REPORT, page_to=4)) == {REPORT: [(1,), (3, 4, 5)]}


def test_one_page_inside_a_chunk_finds_that_chunk_alone(index):
    assert _found(index, SearchFilter(source=REPORT, page_from=5, page_to=5)) == {REPORT: [(3, 4, 5)]}
    assert _found(index, SearchFilter(source=REPORT, page_from=2, page_to=2)) == {}


def test_page_bounds_are_inclusive_at_both_ends(index):
    assert _found(index, SearchFilter(source=REPORT, page_from=1, page_to=3)) == {REPORT: [(1,), (3, 4, 5)]}
    assert _found(index, SearchFilter(source=REPORT, page_from=6, page_to=6)) == {REPORT: [(6,)]}


# --- sources: exact, bare name, glob --------------------------------------------------------------


def test_an_exact_path_finds_that_file_and_not_those_sharing_its_name(index):
    assert set(_found(index, SearchFilter(source=REPORT))) == {REPORT}


def test_a_bare_file_name_finds_that_name_in_any_folder_and_no_longer_name(index):
    assert set(_found(index, SearchFilter(source="annual-report.pdf"))) == {REPORT, NESTED}


def test_a_glob_on_the_name_finds_names_with_that_prefix_but_not_with_that_suffix(index):
    assert set(_found(index, SearchFilter(source="annual-report*.pdf"))) == {REPORT, REPORT_2023, NESTED}
    assert set(_found(index, SearchFilter(source="*/annual-report*.pdf"))) == {REPORT, REPORT_2023, NESTED}
    assert set(_found(index, SearchFilter(source="*annual-report.pdf"))) == {REPORT, NESTED, OLD}
    assert set(_found(index, SearchFilter(source="/archive/*"))) == {OLD}


# --- dates: both bounds include the day itself ----------------------------------------------------


def test_a_document_dated_on_the_first_day_is_in_and_the_day_before_is_out(index):
    assert set(_found(index, SearchFilter(date_from="2024-03-01"))) == {REPORT, NESTED}


def test_a_document_dated_on_the_last_day_is_in_and_the_day_after_is_out(index):
    assert set(_found(index, SearchFilter(date_to="2024-03-01"))) == {REPORT, REPORT_2023, OLD}


def test_a_one_day_range_finds_that_day_alone(index):
    assert set(_found(index, SearchFilter(date_from="2024-02-29", date_to="2024-02-29"))) == {REPORT_2023}


def test_every_given_field_must_hold(index):
    where = SearchFilter(tags=("ops",), date_from="2024-03-01", page_to=2)
    assert _found(index, where) == {REPORT: [(1,)], NESTED: [(2,)]}


def test_tags_match_any_of_the_given_tags(index):
    assert set(_found(index, SearchFilter(tags=("finance",)))) == {REPORT_2023, NESTED}
    assert set(_found(index, SearchFilter(tags=("finance", "ops")))) == {REPORT, REPORT_2023, NESTED}


# --- the CLI's expressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "pages"),
    [
        ("page>=4", (4, None)),
        ("page<=4", (None, 4)),
        ("page=3..", (3, None)),
        ("page=..5", (None, 5)),
        (" page = 3 .. 5 ", (3, 5)),
    ],
)
def test_page_expressions_set_the_bounds_they_name(expression, pages):
    parsed = parse_filter_expressions([expression])
    assert (parsed.page_from, parsed.page_to) == pages


def test_date_expressions_set_the_bounds_they_name():
    parsed = parse_filter_expressions(["date>=2024-02-29", "date<=2024-03-01"])
    assert (parsed.date_from.isoformat(), parsed.date_to.isoformat()) == ("2024-02-29", "2024-03-01")
    single = parse_filter_expressions(["date=2024-02-29"])
    assert single.date_from == single.date_to


def test_a_range_with_two_dots_twice_is_refused_naming_the_bound_and_what_was_left():
    # Only the first ".." separates the bounds: the rest is the upper bound, which is not a page.
    with pytest.raises(ValueError, match=r"page_to\n.*valid integer.*input_value='5\.\.7'"):
        parse_filter_expressions(["page=3..5..7"])


def test_a_later_expression_for_the_same_bound_wins():
    assert parse_filter_expressions(["page>=2", "page>=4"]).page_from == 4


def test_a_source_expression_keeps_its_glob_and_a_tag_expression_adds_a_tag():
    parsed = parse_filter_expressions(["source=*/annual-report*.pdf", "tag=ops"])
    assert (parsed.source, parsed.tags) == ("*/annual-report*.pdf", ("ops",))


@pytest.mark.parametrize("expression", ["issuer>=acme", "period<=2023", "type>=10-K"])
def test_card_fields_take_equals_only_and_the_error_names_the_expression(expression):
    with pytest.raises(ValueError, match=f"cannot read filter '{expression}': .* takes = only"):
        parse_filter_expressions([expression])


def test_the_error_for_an_unreadable_expression_lists_what_can_be_written():
    with pytest.raises(ValueError) as refused:
        parse_filter_expressions(["colour=red"])
    assert str(refused.value) == (
        "cannot read filter 'colour=red': expected source=GLOB, tag=NAME, page=N, page=N..M, page>=N, "
        "page<=N, date>=YYYY-MM-DD, date<=YYYY-MM-DD, issuer=TEXT, period=YYYY[-MM[-DD]] or type=10-K|10-Q|8-K|..."
    )


def test_a_range_with_dates_in_the_wrong_order_names_both():
    with pytest.raises(ValueError, match=r"date_from \(2024-03-02\) is after date_to \(2024-03-01\)"):
        SearchFilter(date_from="2024-03-02", date_to="2024-03-01")
    assert SearchFilter(date_from="2024-03-01", date_to="2024-03-01").date_from.isoformat() == "2024-03-01"
    assert SearchFilter(page_from=3, page_to=3).page_from == 3


@pytest.mark.parametrize("period", ["2023", "2023-03", "2023-03-31", "2023-Q1", "2023-Q4"])
def test_a_period_is_a_year_month_day_or_quarter(period):
    assert SearchFilter(period=period).period == period


@pytest.mark.parametrize("period", ["23", "2023-Q5", "2023-3", "Q1-2023", "2023-03-31T00", " 2023"])
def test_any_other_period_is_refused_with_the_shapes_it_may_take(period):
    with pytest.raises(ValueError, match=r"is not a year, month, day or quarter \(2023, 2023-03"):
        SearchFilter(period=period)


def test_an_empty_filter_is_empty_and_any_field_makes_it_not():
    assert SearchFilter().is_empty
    assert not SearchFilter(page_from=1).is_empty
    assert not SearchFilter(tags=("ops",)).is_empty
