"""Document cards from synthetic first pages: what a document is when its metadata says nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragline.cards import card_header, make_card, normalize_type, usable_title
from ragline.chunking import Chunker
from ragline.model import Document, Page

TEN_Q_COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
Washington, D.C. 20549
FORM 10-Q
☒ QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the quarterly period ended March 31, 2023
OR
☐ TRANSITION REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the transition period from __________ to __________
Commission File Number 001-12345
HARBOUR\u00a0FOODS\u00a0CORPORATION
(Exact\u00a0name\u00a0of\u00a0registrant\u00a0as\u00a0specified\u00a0in\u00a0its\u00a0charter)
Delaware 12-3456789
"""

TEN_K_COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
FORM 10-K
☒ ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the fiscal year ended September 30, 2022
Commission file number 1-9876
______________________ NORTHWIND TRADERS, INC.
(Exact name of registrant as specified in its charter)
The Company's Quarterly Report on Form 10-Q for the quarter ended June 30, 2022 is incorporated by reference.
"""

# A cover with no "(Exact name ...)" caption: the name follows the file number.
TEN_K_WITHOUT_CAPTION = """FORM 10-K
ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the fiscal year ended December 31, 2021
Commission file number 1-3285
CONTOSO COMPANY
State of Incorporation: Delaware
"""

EIGHT_K_COVER = """FORM 8-K
CURRENT REPORT
Pursuant to Section 13 or 15(d) of the Securities Exchange Act of 1934
Date of report (Date of earliest event reported): May 20, 2022 (May 18, 2022)
Fabrikam, Inc.
(Exact name of registrant as specified in charter)
"""

EARNINGS_RELEASE = """Exhibit 99.1
Fabrikam Reports Fourth Quarter and Fiscal 2022 Results
Net sales of $3.2 billion
BOLINGBROOK, Ill.--(BUSINESS WIRE)-- Fabrikam, Inc. (NASDAQ: FBKM) today announced financial results for the
fifty-two-week period ("fiscal year") ended January 28, 2023 compared to the same period ended January 29, 2022.
Please refer to our Quarterly Report on Form 10-Q for more information.
"""

PAPER = """Sparse retrieval for long documents
A. Author and B. Author
Abstract
We study retrieval over long filings.
1 Introduction
"""


def test_a_10q_cover_gives_issuer_type_and_quarter_end():
    card = make_card([TEN_Q_COVER, "Part I financial information"], "/docs/0001018724-23-000008.pdf")
    assert card.doc_type == "10-Q"
    assert card.issuer == "HARBOUR FOODS CORPORATION"
    assert card.period == "2023-03-31"
    assert card.period_text == "quarterly period ended March 31, 2023"
    assert card.title == "HARBOUR FOODS CORPORATION Form 10-Q for the quarterly period ended March 31, 2023"


def test_a_10k_is_not_taken_for_a_10q_it_mentions():
    card = make_card([TEN_K_COVER], "/docs/report.pdf")
    assert card.doc_type == "10-K"
    assert card.issuer == "NORTHWIND TRADERS, INC."  # without the underscores before it
    assert card.period == "2022-09-30"  # the cover's fiscal year, not the quarter a later sentence names
    assert card.period_text == "fiscal year ended September 30, 2022"


def test_an_issuer_under_the_file_number_when_the_caption_is_missing():
    card = make_card([TEN_K_WITHOUT_CAPTION], "/docs/x.pdf")
    assert (card.doc_type, card.issuer, card.period) == ("10-K", "CONTOSO COMPANY", "2021-12-31")


def test_an_8k_is_dated_by_its_report_date():
    card = make_card([EIGHT_K_COVER], "/docs/x.pdf")
    assert (card.doc_type, card.issuer, card.period) == ("8-K", "Fabrikam, Inc.", "2022-05-20")
    assert card.title == "Fabrikam, Inc. Form 8-K, report dated May 20, 2022"


def test_an_earnings_release_has_its_headline_for_title_and_the_latest_period():
    card = make_card([EARNINGS_RELEASE], "/docs/a1b2c3d4e5f60718.pdf")
    assert card.doc_type == "earnings release"  # not the 10-Q it refers to
    assert card.issuer == "Fabrikam, Inc."  # the name before the ticker, not the dateline
    assert card.period == "2023-01-28"  # the year it reports on, not the one it compares with
    assert card.title == "Fabrikam Reports Fourth Quarter and Fiscal 2022 Results"


def test_a_paper_is_recognised_by_its_abstract():
    card = make_card([PAPER], "/docs/paper.pdf")
    assert card.doc_type == "paper"
    assert card.title == "Sparse retrieval for long documents"


@pytest.mark.parametrize(
    "junk",
    [
        "0001018724-23-000008",  # an SEC accession number
        "Microsoft Word - draft3.docx",
        "Microsoft Word - F20_10K_VFinal_07.01.2020",
        "annual_report_final.pdf",
        "2023",
        "2023-03-31",
        "03/31/2023",
        "March 31, 2023",
        "D:20230331120000",
        "",
        "   ",
        "Untitled",
        "UNITED STATES SECURITIES AND EXCHANGE COMMISSION",
        None,
    ],
)
def test_junk_metadata_titles_are_not_used(junk):
    assert usable_title(junk) is None
    card = make_card([TEN_Q_COVER], "/docs/x.pdf", metadata_title=junk)
    assert card.title.startswith("HARBOUR FOODS CORPORATION Form 10-Q")


@pytest.mark.parametrize("title", ["Form 10-K for Microsoft Corp filed 07/27/2023", "ADBE 10-K FY22", "Field notes"])
def test_a_metadata_title_that_reads_like_one_is_kept(title):
    assert usable_title(title) == title
    assert make_card([TEN_Q_COVER], "/docs/x.pdf", metadata_title=title).title == title


def test_the_file_name_fills_in_what_the_pages_do_not_say():
    card = make_card(["Some notes without a cover."], "/docs/AMCOR_2023Q2_10Q.pdf")
    assert (card.doc_type, card.issuer, card.period) == ("10-Q", "AMCOR", "2023-Q2")


def test_a_random_file_name_names_nobody():
    card = make_card(["Some notes without a cover."], "/docs/3f9a2c71d0e4b8a6.pdf")
    assert (card.doc_type, card.issuer, card.period) == ("other", None, None)
    assert card.title == "document"


def test_the_pages_win_over_the_file_name():
    card = make_card([TEN_Q_COVER], "/docs/OTHERCO_2019_10K.pdf")
    assert (card.doc_type, card.issuer, card.period) == ("10-Q", "HARBOUR FOODS CORPORATION", "2023-03-31")


def test_only_the_first_pages_are_read():
    pages = ["Nothing here.", "Nor here.", "Or here.", TEN_Q_COVER]
    assert make_card(pages, "/docs/x.pdf").doc_type == "other"


def test_the_header_says_who_what_and_when_in_few_words():
    assert card_header(make_card([TEN_Q_COVER], "/docs/x.pdf")) == (
        "HARBOUR FOODS, 10-Q, quarterly period ended March 31, 2023"
    )
    release = make_card([EARNINGS_RELEASE], "/docs/x.pdf")
    assert card_header(release) == "Fabrikam, earnings release, period ended January 28, 2023"
    boeing = make_card([TEN_K_COVER.replace("NORTHWIND TRADERS, INC.", "THE BOEING COMPANY")], "/docs/x.pdf")
    assert card_header(boeing).startswith("BOEING, 10-K, ")
    nothing = make_card(["Some notes without a cover."], "/docs/field-notes.pdf")
    assert card_header(nothing) == nothing.title == "field notes"  # no facts: the title


@pytest.mark.parametrize(
    ("typed", "expected"), [("10k", "10-K"), ("10-Q", "10-Q"), ("Earnings Release", "earnings release")]
)
def test_types_are_read_as_users_type_them(typed, expected):
    assert normalize_type(typed) == expected


def test_an_unknown_type_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"'10-X' is not one of 10-K, 10-Q, 8-K"):
        normalize_type("10-X")


def test_every_chunk_is_headed_by_the_card_not_the_files_title(token_counter):
    card = make_card([EARNINGS_RELEASE], "/docs/x.pdf")
    document = Document(
        id="d" * 64,
        source="/docs/x.pdf",
        title="0001018724-23-000008",
        pages=(Page(1, "Net sales rose in every region."), Page(2, "Stores opened in three new states.")),
        card=card,
    )
    chunker = Chunker(token_counter, max_tokens=64, overlap_tokens=8, contextual_header=True)
    chunks = chunker.chunk(document)
    assert chunks
    for chunk in chunks:
        assert chunk.embedding_text.startswith(card_header(card) + "\n")
        assert chunk.card == card
    untitled = chunker.chunk(replace(document, card=None))  # documents from before cards keep their title
    assert untitled[0].embedding_text.startswith("0001018724-23-000008\n")
