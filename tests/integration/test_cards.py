"""Document cards through the real pipeline: header, registry, status, sources and filters.

Two filings with random file names and junk metadata titles: only their covers say whose they are.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from ragline.api import SearchResponse
from ragline.cards import card_header
from ragline.entrypoints.cli import app
from ragline.filters import SearchFilter
from tests import pdf_factory

HARBOUR = "a1b2c3d4e5f60718.pdf"
NORTHWIND = "0f1e2d3c4b5a6978.pdf"
HARBOUR_COVER = (
    "FORM 10-Q",
    "QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934",
    "For the quarterly period ended March 31, 2023",
    "Commission File Number 001-12345",
    "HARBOUR FOODS CORPORATION",
    "(Exact name of registrant as specified in its charter)",
)
NORTHWIND_COVER = (
    "FORM 10-K",
    "ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934",
    "For the fiscal year ended September 30, 2022",
    "Commission file number 1-9876",
    "NORTHWIND TRADERS, INC.",
    "(Exact name of registrant as specified in its charter)",
)
# The same words in both bodies: only the card can tell the two filings' chunks apart.
BODY = (
    "Net revenue rose because the Company shipped more cases of canned goods.",
    "The Company repaid its revolving credit facility during the period.",
)


@pytest.fixture
def filings(tmp_path):
    folder = tmp_path / "filings"
    folder.mkdir()
    pdf_factory.write_filing_pdf(folder, HARBOUR, HARBOUR_COVER, BODY, title="0001018724-23-000008")
    pdf_factory.write_filing_pdf(folder, NORTHWIND, NORTHWIND_COVER, BODY, title="Microsoft Word - draft3.docx")
    return folder


def _by_name(rows):
    return {row.source.rsplit("/", 1)[-1]: row for row in rows}


def test_the_card_is_kept_with_the_document_and_heads_every_chunk(fast_engine, filings):
    fast_engine.ingest([filings])
    rows = _by_name(fast_engine.status())
    harbour, northwind = rows[HARBOUR].card, rows[NORTHWIND].card
    assert (harbour.issuer, harbour.doc_type, harbour.period) == ("HARBOUR FOODS CORPORATION", "10-Q", "2023-03-31")
    assert (northwind.issuer, northwind.doc_type, northwind.period) == ("NORTHWIND TRADERS, INC.", "10-K", "2022-09-30")
    hits = fast_engine.search("revolving credit facility", k=10, mode="keyword").citations
    assert {hit.source.rsplit("/", 1)[-1] for hit in hits} == {HARBOUR, NORTHWIND}
    chunks = fast_engine.index.keyword_search("revolving credit facility", 10)
    for chunk, _ in chunks:
        assert chunk.card is not None
        assert chunk.embedding_text.startswith(card_header(chunk.card))
        assert chunk.title == chunk.card.title  # what sources show, not "0001018724-23-000008"
    assert "0001018724" not in " ".join(chunk.embedding_text for chunk, _ in chunks)


def test_sources_carry_the_card(fast_engine, filings):
    fast_engine.ingest([filings])
    retrieved = fast_engine.search("canned goods", k=4, mode="keyword")
    sources = SearchResponse.from_retrieved(retrieved).sources
    assert sources and all(source.card is not None for source in sources)
    by_name = {source.source.rsplit("/", 1)[-1]: source.card for source in sources}
    assert by_name[HARBOUR].issuer == "HARBOUR FOODS CORPORATION"
    assert by_name[NORTHWIND].period_text == "fiscal year ended September 30, 2022"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (SearchFilter(issuer="harbour foods"), {HARBOUR}),
        (SearchFilter(issuer="NORTHWIND"), {NORTHWIND}),
        (SearchFilter(period="2023"), {HARBOUR}),
        (SearchFilter(period="2022-09"), {NORTHWIND}),
        (SearchFilter(doc_type="10q"), {HARBOUR}),
        (SearchFilter(doc_type="10-K", period="2022"), {NORTHWIND}),
        (SearchFilter(doc_type="10-K", period="2023"), set()),
        (SearchFilter(issuer="harbour", doc_type="8-K"), set()),
    ],
)
def test_card_filters_restrict_every_mode(fast_engine, filings, where, expected):
    fast_engine.ingest([filings])
    for mode in ("dense", "keyword", "hybrid"):
        hits = fast_engine.search("revolving credit facility canned goods", k=10, mode=mode, where=where).citations
        assert {hit.source.rsplit("/", 1)[-1] for hit in hits} == expected, mode


def test_an_index_from_before_cards_opens_and_gains_the_columns(settings, hashing_embedder, filings):
    from ragline.bootstrap import build_engine

    settings.data_dir.mkdir(parents=True)
    path = settings.index_path
    with sqlite3.connect(path) as old:  # the schema as it was: no card columns
        old.executescript(
            "CREATE TABLE documents (source TEXT PRIMARY KEY, state TEXT NOT NULL, document_id TEXT, "
            "chunk_count INTEGER NOT NULL, page_count INTEGER NOT NULL, scanned_pages TEXT NOT NULL, reason TEXT, "
            "updated_at TEXT);"
            "INSERT INTO documents VALUES ('/old.pdf', 'failed', NULL, 0, 0, '[]', 'it was broken', NULL);"
        )
    engine = build_engine(settings, embedder=hashing_embedder)
    try:
        assert _by_name(engine.status())["old.pdf"].card is None
        engine.ingest([filings])
        assert _by_name(engine.status())[HARBOUR].card.doc_type == "10-Q"
    finally:
        engine.close()


runner = CliRunner()


def test_status_shows_the_card_and_json_has_it(data_dir, filings):
    assert runner.invoke(app, ["ingest", str(filings)]).exit_code == 0
    table = runner.invoke(app, ["status"]).output  # an 80-column table: a cell may wrap
    assert all(part in table for part in ("HARBOUR", "NORTHWIND", "10-Q", "10-K", "2023-03-31", "2022-09-30"))
    documents = json.loads(runner.invoke(app, ["status", "--json"]).output)["documents"]
    cards = {row["source"].rsplit("/", 1)[-1]: row["card"] for row in documents}
    assert cards[NORTHWIND]["issuer"] == "NORTHWIND TRADERS, INC." and cards[NORTHWIND]["doc_type"] == "10-K"


def test_ask_filters_by_card_and_names_a_bad_type(data_dir, filings):
    runner.invoke(app, ["ingest", str(filings)])
    result = runner.invoke(app, ["ask", "canned goods", "--json", "--mode", "keyword", "--filter", "type=10-K"])
    assert result.exit_code == 0, result.output
    sources = json.loads(result.output)["sources"]
    assert sources and {source["card"]["issuer"] for source in sources} == {"NORTHWIND TRADERS, INC."}
    bad = runner.invoke(app, ["ask", "canned goods", "--filter", "type=10-X"])
    assert bad.exit_code == 2
    assert "'10-X' is not one of 10-K, 10-Q, 8-K" in bad.output


def test_a_registry_file_from_before_cards_is_moved_in_without_cards(tmp_path):
    from ragline.adapters.local.registry import SqliteRegistry

    with sqlite3.connect(tmp_path / "registry.sqlite3") as old:
        old.executescript(
            "CREATE TABLE documents (source TEXT PRIMARY KEY, state TEXT NOT NULL, document_id TEXT, "
            "chunk_count INTEGER NOT NULL, page_count INTEGER NOT NULL, scanned_pages TEXT NOT NULL, reason TEXT, "
            "updated_at TEXT);"
            "INSERT INTO documents VALUES ('/old.pdf', 'indexed', 'abc', 3, 1, '[]', NULL, NULL);"
        )
    registry = SqliteRegistry(tmp_path / "index.sqlite3", legacy=tmp_path / "registry.sqlite3")
    try:
        [row] = registry.all()
        assert (row.source, row.chunk_count, row.card) == ("/old.pdf", 3, None)
    finally:
        registry.close()
