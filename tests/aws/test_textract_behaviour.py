"""What the Textract adapter promises its callers, beyond the contract suite and test_adapters.

Three groups: how a finished result becomes pages (layout labels, headings, parse failures,
partial results), how `extract` hands the bytes to Textract (staging, sources read in place,
the idempotency token, bad input), and how the page windows of a large document are read from
the result files Textract wrote (cursors across files, truncated results, configuration).
Textract itself is a botocore Stubber, or moto completed by `TextractRecorder`.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ragline.adapters.aws import textract
from ragline.adapters.aws.textract import TextractExtractor, parse_analysis
from ragline.chunking import BlockKind, document_blocks
from ragline.errors import ConfigurationError, DocumentError
from ragline.model import content_hash
from ragline.windows import ResultCursor
from tests.aws.textract_recorder import RESULT_FILE_BLOCKS
from tests.aws.textract_responses import PageContent, analysis_blocks, paged_responses, pages_from_pdf

SOURCE = "s3://ingest/manuals/pumps.pdf"
REPO = Path(__file__).resolve().parents[2]


def _document(responses: list[dict], source: str = SOURCE):
    """The document of job `job-1`, Textract answering `responses` in turn."""
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        for response in responses:
            stubber.add_response("get_document_analysis", response)
        return TextractExtractor(textract).document("job-1", source=source, document_id="d" * 64)


def _one_page(content: PageContent) -> dict:
    return paged_responses(analysis_blocks([content]), 10_000, 1)[0]


# --- a finished result becomes pages ------------------------------------------------------


def test_titles_and_section_headers_become_the_chunker_s_first_and_second_level_headings():
    content = PageContent(
        paragraphs=[("LAYOUT_TITLE", "Pump maintenance"), ("LAYOUT_SECTION_HEADER", "Seals and gaskets"), "Seals wear."]
    )
    document = _document([_one_page(content)])
    headings = [(block.text, block.level) for block in document_blocks(document) if block.kind is BlockKind.HEADING]
    assert headings == [("Pump maintenance", 1), ("Seals and gaskets", 2)]


def test_headers_footers_and_page_numbers_labelled_by_textract_are_dropped_even_on_a_single_page():
    # One page: the shared clean-up has no second page to see them repeat, and "p. 7" is no page
    # number pattern it knows; only Textract's layout labels can tell these lines apart.
    response = _one_page(
        PageContent(paragraphs=["Valves stop the flow."], header="ACME confidential", footer="Prepared by plant staff")
    )
    response = _relabelled(response, "Prepared by plant staff", "LAYOUT_FOOTER")
    with_number = _one_page(PageContent(paragraphs=["Valves stop the flow."], footer="p. 7"))
    with_number = _relabelled(with_number, "p. 7", "LAYOUT_PAGE_NUMBER")
    assert _document([response]).pages[0].text == "Valves stop the flow."
    assert _document([with_number]).pages[0].text == "Valves stop the flow."


def _relabelled(response: dict, line: str, layout: str) -> dict:
    """The response with the layout block around `line` labelled `layout`, as Textract may label it."""
    blocks = response["Blocks"]
    line_id = next(block["Id"] for block in blocks if block["BlockType"] == "LINE" and block.get("Text") == line)
    for block in blocks:
        children = [id for relation in block.get("Relationships", []) for id in relation["Ids"]]
        if block["BlockType"].startswith("LAYOUT_") and children == [line_id]:
            block["BlockType"] = layout
    return response


def test_the_document_names_the_source_it_was_read_from():
    document = _document([_one_page(PageContent(paragraphs=["Valves stop the flow."]))])
    assert (document.source, document.title) == (SOURCE, "pumps")


def test_a_result_that_textractor_cannot_parse_is_a_document_error_naming_the_source():
    truncated = _one_page(PageContent(paragraphs=["Valves stop the flow."]))
    truncated["DocumentMetadata"]["Pages"] = 2  # the result of a two-page job, one page lost
    with pytest.raises(DocumentError) as failure:
        _document([truncated])
    assert failure.value.source == SOURCE
    assert failure.value.reason.startswith("Textract's result could not be parsed: AssertionError")


TEXTRACTOR_ENTITIES = {f"textractor.entities.{name}" for name in ("word", "line", "page", "layout", "document")}


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """Each run of the cyclic garbage collector while the test runs ("start" callbacks)."""
    seen: list[str] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(phase)

    gc.callbacks.append(count)
    try:
        yield seen
    finally:
        gc.callbacks.remove(count)


def test_the_collector_does_not_run_while_a_result_is_parsed_and_is_left_as_it_was(collections):
    # Thousands of blocks: textractor makes enough objects of them that a running collector runs many times.
    # Each page in words of its own: text repeated on every page is page furniture, which the parse drops.
    words = ["valves", "pumps", "filters", "meters", "pipes"]
    pages = [PageContent(paragraphs=[f"The {word} hold. " * 20 for _ in range(6)]) for word in words]
    response = {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 5}, "Blocks": analysis_blocks(pages)}
    parse_analysis(response, source=SOURCE, document_id="d" * 64)  # textractor's first import collects a lot
    collections.clear()
    assert gc.isenabled()
    document = parse_analysis(response, source=SOURCE, document_id="d" * 64)
    assert [page.text.count(f"The {word} hold.") for page, word in zip(document.pages, words, strict=True)] == [120] * 5
    # Running, the collector runs about ten times a page here (55); paused, only the clean-up after textractor
    # may set it off, once or so.
    assert len(collections) < len(words), collections
    # Nothing of textractor's outlives the parse: its entities hold reference cycles that only a collection frees,
    # and a warm Lambda environment would otherwise carry each window's into the next.
    assert not [entity for entity in gc.get_objects() if type(entity).__module__ in TEXTRACTOR_ENTITIES]
    assert gc.isenabled()  # a Lambda environment parses window after window: its cycles must be collected
    gc.disable()
    try:
        parse_analysis(response, source=SOURCE, document_id="d" * 64)
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


@pytest.fixture
def collector_run_rarely() -> Iterator[None]:
    """The collector's first threshold raised far above what a parse allocates, as a process tuned to collect
    rarely sets it: no automatic collection starts while the test runs."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def test_textractor_s_entities_are_freed_as_the_parse_ends_even_where_the_collector_runs_rarely(collector_run_rarely):
    # A warm Lambda environment parses window after window: entities left to the interpreter's own schedule were
    # carried from each window into the next (1,240 MB after four 100-page windows instead of 496, CPython 3.14).
    # Here a high threshold stands in for a schedule that does not collect soon after the parse.
    response = _one_page(PageContent(paragraphs=["Valves stop the flow. " * 30 for _ in range(8)]))
    document = parse_analysis(response, source=SOURCE, document_id="d" * 64)
    assert document.pages[0].text.count("Valves stop the flow.") == 240
    left = Counter(
        type(entity).__name__ for entity in gc.get_objects() if type(entity).__module__ in TEXTRACTOR_ENTITIES
    )
    assert not left, left


def test_the_collector_is_running_again_after_a_result_that_cannot_be_parsed():
    truncated = _one_page(PageContent(paragraphs=["Valves stop the flow."]))
    truncated["DocumentMetadata"]["Pages"] = 2
    with pytest.raises(DocumentError):
        _document([truncated])
    assert gc.isenabled()


# --- textractor's copy of each page's lines is not made: the same pages, sooner -------------------


def _demo_pdf_result(name: str) -> dict:
    pages = pages_from_pdf((REPO / "demo" / "corpus" / name).read_bytes())
    return {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": len(pages)}, "Blocks": analysis_blocks(pages)}


def _synthetic_filing_window() -> dict:
    # Headings, a table, paragraphs running over page breaks: the deployed suite's long filing, 12 pages of it.
    from tests.deployed import large_document

    pages = large_document.pages(12, "alpha")
    return {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": len(pages)}, "Blocks": analysis_blocks(pages)}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(_synthetic_filing_window, id="synthetic-filing"),
        pytest.param(lambda: _demo_pdf_result("riverbend-water-operations-runbook.pdf"), id="runbook"),
        pytest.param(lambda: _demo_pdf_result("northwind-cycles-annual-report-2025.pdf"), id="annual-report"),
    ],
)
def test_every_page_reads_as_textractor_reads_it_with_its_own_copy_of_the_lines(result, monkeypatch):
    response = result()
    shared = parse_analysis(response, source=SOURCE, document_id="d" * 64)
    monkeypatch.setattr(textract, "_page_lines_shared", contextlib.nullcontext)  # textractor's parse, copy and all
    copied = parse_analysis(response, source=SOURCE, document_id="d" * 64)
    assert shared == copied
    assert sum(len(page.text) for page in shared.pages) > 1000  # pages with text, not two empty documents


def test_textractor_s_parser_is_left_as_it_was_after_a_result_and_after_one_that_cannot_be_parsed():
    from textractor.parsers import response_parser

    parse_analysis(_one_page(PageContent(paragraphs=["Valves stop the flow."])), source=SOURCE, document_id="")
    assert response_parser.deepcopy is copy.deepcopy
    truncated = _one_page(PageContent(paragraphs=["Valves stop the flow."]))
    truncated["DocumentMetadata"]["Pages"] = 2
    with pytest.raises(DocumentError):
        parse_analysis(truncated, source=SOURCE, document_id="")
    assert response_parser.deepcopy is copy.deepcopy


def test_a_parser_whose_copy_was_replaced_elsewhere_is_left_alone_and_reads_the_same(monkeypatch):
    # Another parse under way in this process (or another library) has replaced it: it is neither used nor restored.
    from textractor.parsers import response_parser

    copies = []

    def elsewhere(value):
        copies.append(value)
        return copy.deepcopy(value)

    response = _synthetic_filing_window()
    expected = parse_analysis(response, source=SOURCE, document_id="")
    monkeypatch.setattr(response_parser, "deepcopy", elsewhere)
    assert parse_analysis(response, source=SOURCE, document_id="") == expected
    assert response_parser.deepcopy is elsewhere
    assert len(copies) == 12  # textractor's own copy, once a page


def test_a_page_textract_found_no_text_on_is_reported_as_without_a_text_layer_the_others_not():
    """Ingestion reports a document's pages without text (the CLI's "no text layer on page(s) ..."), as locally."""
    pages = [
        PageContent(paragraphs=["Valves stop the flow."]),
        PageContent(paragraphs=[]),
        PageContent(paragraphs=["Seals."]),
    ]
    document = _document([paged_responses(analysis_blocks(pages), 10_000, len(pages))[0]])
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert document.scanned_pages == (2,)


def test_a_result_with_blocks_but_no_page_is_a_document_error_naming_the_source():
    lines = [block for block in _one_page(PageContent(paragraphs=["Stray."]))["Blocks"] if block["BlockType"] != "PAGE"]
    response = {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 0}, "Blocks": lines}
    with pytest.raises(DocumentError) as failure:
        _document([response])
    assert (failure.value.source, failure.value.reason) == (SOURCE, "Textract found no pages in the document")


def test_a_page_block_without_its_page_number_is_a_document_error_naming_the_block():
    response = _one_page(PageContent(paragraphs=["Valves stop the flow."]))
    page_block = next(block for block in response["Blocks"] if block["BlockType"] == "PAGE")
    del page_block["Page"]
    with pytest.raises(DocumentError) as failure:
        _document([response])
    assert failure.value.source == SOURCE
    assert failure.value.reason == f"a block of Textract's result has no page number: {page_block['Id']}"


def test_a_partly_failed_job_keeps_its_pages_and_warns_with_the_job_source_and_textract_s_warnings(caplog):
    response = _one_page(PageContent(paragraphs=["Valves stop the flow."]))
    response["JobStatus"] = "PARTIAL_SUCCESS"
    response["Warnings"] = [{"ErrorCode": "UNSUPPORTED_PAGE", "Pages": [2]}]
    with caplog.at_level(logging.WARNING, logger="ragline.adapters.aws.textract"):
        document = _document([response])
    assert [page.text for page in document.pages] == ["Valves stop the flow."]
    assert [record.getMessage() for record in caplog.records] == [
        f"Textract job job-1 for {SOURCE} partly failed: [{{'ErrorCode': 'UNSUPPORTED_PAGE', 'Pages': [2]}}]"
    ]


def test_the_whole_result_is_one_response_with_every_block_and_no_token_left_to_follow():
    blocks = analysis_blocks([PageContent(paragraphs=[f"Line {word}."]) for word in ("one", "two", "three")])
    responses = paged_responses(blocks, page_size=5, pages=3)
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        for response in responses:
            stubber.add_response("get_document_analysis", response)
        result = TextractExtractor(textract).result("job-1", source=SOURCE)
    assert "NextToken" not in result
    assert result["Blocks"] == blocks
    assert result["DocumentMetadata"] == {"Pages": 3}


def test_a_result_whose_first_page_has_no_blocks_is_a_document_error_saying_nothing_was_read():
    response = {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 1}}  # Blocks is optional in the API's shape
    with pytest.raises(DocumentError) as failure:
        _document([response])
    assert (failure.value.source, failure.value.reason) == (SOURCE, "Textract found nothing to read in the document")


def test_a_result_page_without_blocks_is_read_as_empty_and_the_token_chain_goes_on():
    blocks = analysis_blocks([PageContent(paragraphs=[f"Line {word}."]) for word in ("one", "two")])
    first, last = paged_responses(blocks, page_size=len(blocks) - 2, pages=2)
    empty = {"JobStatus": "SUCCEEDED", "NextToken": "after-the-empty-page"}
    first["NextToken"] = "to-the-empty-page"
    textract = boto3.client("textract")
    with Stubber(textract) as stubber:
        for response in (first, empty, last):
            stubber.add_response("get_document_analysis", response)
        result = TextractExtractor(textract).result("job-1", source=SOURCE)
        stubber.assert_no_pending_responses()
    assert result["Blocks"] == blocks


# --- extract: the bytes in hand go to Textract ---------------------------------------------

PDF = b"%PDF-1.7\n% a pump manual\n"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    for bucket in ("ingest", "staging", "results"):
        client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture
def planned(textract):
    """Whatever Textract is asked to read, it reads one page saying "Valves stop the flow."."""
    textract.plan("*", analysis_blocks([PageContent(paragraphs=["Valves stop the flow."])]), pages=1)
    return textract


def _extractor(**options) -> TextractExtractor:
    return TextractExtractor(boto3.client("textract"), sleep=lambda seconds: None, **options)


def test_local_bytes_are_staged_and_textract_reads_exactly_them_under_their_content_hash(s3, planned):
    document = _extractor(s3=s3, staging_bucket="staging").extract("/docs/pumps.pdf", PDF)
    (request,) = planned.requests
    location = request["DocumentLocation"]["S3Object"]
    assert location == {"Bucket": "staging", "Name": f"staging/{content_hash(PDF)}/pumps.pdf"}
    assert s3.get_object(Bucket="staging", Key=location["Name"])["Body"].read() == PDF
    assert [page.text for page in document.pages] == ["Valves stop the flow."]


def test_extracting_asks_for_the_job_by_content_hash_so_a_retry_does_not_pay_for_a_second_job(s3, planned):
    _extractor(s3=s3, staging_bucket="staging").extract("/docs/pumps.pdf", PDF)
    (request,) = planned.requests
    assert (request["ClientRequestToken"], request["JobTag"]) == (content_hash(PDF), content_hash(PDF))


@pytest.mark.parametrize("with_s3_client", [True, False], ids=["s3-client-without-staging-bucket", "no-s3-client"])
def test_an_s3_source_is_read_where_it_is_when_no_staging_bucket_is_set(s3, planned, with_s3_client):
    extractor = _extractor(s3=s3 if with_s3_client else None)
    document = extractor.extract("s3://ingest/reports/2024/q1 pumps.pdf", PDF)
    (request,) = planned.requests
    assert request["DocumentLocation"]["S3Object"] == {"Bucket": "ingest", "Name": "reports/2024/q1 pumps.pdf"}
    assert s3.list_objects_v2(Bucket="staging")["KeyCount"] == 0
    assert document.source == "s3://ingest/reports/2024/q1 pumps.pdf"


def test_a_local_file_without_a_staging_bucket_is_refused_with_the_setting_to_set(s3, planned):
    with pytest.raises(DocumentError) as failure:
        _extractor(s3=s3).extract("/docs/pumps.pdf", PDF)
    assert failure.value.source == "/docs/pumps.pdf"
    assert failure.value.reason == "Textract reads from S3: set extraction.staging_bucket to extract local files"
    assert planned.requests == []


NOT_A_DOCUMENT = (
    "not a PDF or image: no %PDF- header starts in the file's first 1,025 bytes"
    " and no PNG, JPEG or TIFF header at its start"
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"<html>not a manual</html>", NOT_A_DOCUMENT),
    ],
    ids=["empty", "html"],
)
def test_bytes_textract_would_refuse_are_refused_before_any_job_naming_the_file(s3, planned, data, reason):
    with pytest.raises(DocumentError) as failure:
        _extractor(s3=s3, staging_bucket="staging").extract("/docs/pumps.pdf", data)
    assert (failure.value.source, failure.value.reason) == ("/docs/pumps.pdf", reason)
    assert planned.requests == []


@pytest.mark.parametrize("padding", [b" ", b"x"], ids=["whitespace", "junk"])
@pytest.mark.parametrize(("offset", "accepted"), [(1024, True), (1025, False)], ids=["at-1024", "at-1025"])
def test_a_pdf_header_may_start_up_to_byte_1024_as_the_local_extractor_reads_it(s3, planned, padding, offset, accepted):
    # The rule of pdfium, the local reader (tests/contracts/test_extractor_local.py checks it against pdfium), so a
    # file refused here is refused on a laptop too; whitespace before the header counts like any other byte.
    data = padding * offset + PDF
    extractor = _extractor(s3=s3, staging_bucket="staging")
    if accepted:
        assert [page.text for page in extractor.extract("/docs/pumps.pdf", data).pages] == ["Valves stop the flow."]
        return
    with pytest.raises(DocumentError) as failure:
        extractor.extract("/docs/pumps.pdf", data)
    assert failure.value.reason == NOT_A_DOCUMENT
    assert planned.requests == []


@pytest.mark.parametrize(
    "header",
    [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*"],
    ids=["png", "jpeg", "tiff-le", "tiff-be"],
)
def test_an_image_is_read_when_its_header_is_at_byte_0_where_an_image_decoder_looks(header):
    textract.check_readable("s3://ingest/scans/page.png", header + b"\x00" * 64)
    with pytest.raises(DocumentError) as failure:
        textract.check_readable("s3://ingest/scans/page.png", b" " + header + b"\x00" * 64)
    assert failure.value.source == "s3://ingest/scans/page.png"
    assert failure.value.reason == NOT_A_DOCUMENT


class _TestClock:
    """The extractor's clock, moved only by its own sleeps, which it records."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _job_that_never_finishes(textract, monkeypatch, now: float) -> _TestClock:
    """Textract answers every poll IN_PROGRESS; the extractor reads the returned clock."""
    textract.plan(
        "*", analysis_blocks([PageContent(paragraphs=["Valves stop the flow."])]), pages=1, status="IN_PROGRESS"
    )
    clock = _TestClock(now)
    monkeypatch.setattr("ragline.adapters.aws.textract.time.monotonic", lambda: clock.now)
    return clock


def test_a_synchronous_extract_waits_one_hour_for_its_job_by_default(s3, textract, monkeypatch):
    """What the factory builds (it sets no deadline): a job still running after an hour is given up."""
    clock = _job_that_never_finishes(textract, monkeypatch, now=0.0)
    extractor = TextractExtractor(
        boto3.client("textract"), s3=s3, staging_bucket="staging", poll_seconds=600, sleep=clock.sleep
    )
    with pytest.raises(DocumentError) as failure:
        extractor.extract("/docs/pumps.pdf", PDF)
    assert clock.now == 4200  # polled at 0, 600, ..., 3600 (not past the hour yet), then once more
    assert failure.value.reason.endswith(" did not finish in 3600 s")


def test_a_job_still_running_at_its_deadline_is_polled_once_more_then_a_document_error(s3, textract, monkeypatch):
    """Polled every 5 s with a 10 s deadline: at 0, 5, 10 (not yet past it) and 15 s, then given up, naming the
    source, the job and the deadline. The clock is the test's: it moves only when the extractor sleeps."""
    clock = _job_that_never_finishes(textract, monkeypatch, now=1000.0)
    extractor = TextractExtractor(
        boto3.client("textract"), s3=s3, staging_bucket="staging", poll_seconds=5, timeout_seconds=10, sleep=clock.sleep
    )
    with pytest.raises(DocumentError) as failure:
        extractor.extract("/docs/pumps.pdf", PDF)
    assert clock.sleeps == [5, 5, 5]
    assert failure.value.source == "/docs/pumps.pdf"
    assert re.fullmatch(r"Textract job \S+ did not finish in 10 s", failure.value.reason)


# --- page windows, read from the result files Textract wrote -------------------------------

TREES = [
    "alder", "ash", "aspen", "beech", "birch", "cedar", "cherry", "chestnut", "cypress", "elder", "elm", "fir",
    "hazel", "hemlock", "holly", "hornbeam", "juniper", "larch", "laurel", "lime", "linden", "maple", "oak", "olive",
    "pine", "plane", "poplar", "rowan", "spruce", "sycamore", "walnut", "willow", "yew", "acacia", "baobab", "cork",
]  # fmt: skip


def _lines(tree: str) -> list[str]:
    # Page texts differ in words, not in numbers: numbers at a fixed offset from the page would be running furniture.
    return [
        f"The {tree} pump moves water uphill.",
        f"Its {tree} seal wears out slowly.",
        f"The {tree} filter clogs in spring.",
        f"Replace the {tree} meter every year.",
    ]


def _manual(trees: list[str]) -> list[dict]:
    return analysis_blocks([PageContent(paragraphs=["\n".join(_lines(tree))]) for tree in trees])


def _read_windows(extractor, job_id, *, pages: int, size: int):
    """Windows of `size` pages, each read from where the one before stopped, as the window queue chains them."""
    read, cursor = [], ResultCursor()
    for first in range(1, pages + 1, size):
        window, cursor = extractor.read_pages(
            job_id, source=SOURCE, first_page=first, last_page=min(first + size - 1, pages), cursor=cursor
        )
        read += window
    return read, cursor


def _job(extractor: TextractExtractor, textract, blocks: list[dict], pages: int) -> str:
    textract.plan("manuals/pumps.pdf", blocks, pages=pages)
    return extractor.start("ingest", "manuals/pumps.pdf", document_id="d" * 64)


def test_windows_read_in_turn_give_every_page_once_in_order_across_result_files(s3, textract):
    blocks = _manual(TREES)
    assert len(blocks) > RESULT_FILE_BLOCKS  # two result files: one window starts in the first and ends in the second
    extractor = _extractor(s3=s3, output_bucket="results")
    job_id = _job(extractor, textract, blocks, len(TREES))
    assert extractor.job_pages(job_id, source=SOURCE) == len(TREES)
    pages, _ = _read_windows(extractor, job_id, pages=len(TREES), size=6)
    assert [(page.number, page.text) for page in pages] == [
        (number, " ".join(_lines(tree))) for number, tree in enumerate(TREES, start=1)
    ]


def test_the_collector_does_not_run_while_a_window_is_read_and_runs_again_after(s3, textract, collections):
    # Two windows' worth of result files: thousands of decoded block dicts, all kept until the window is parsed.
    extractor = _extractor(s3=s3, output_bucket="results")
    job_id = _job(extractor, textract, _manual(TREES), len(TREES))
    _read_windows(extractor, job_id, pages=len(TREES), size=18)  # warm: first reads, first imports
    collections.clear()
    pages, _ = _read_windows(extractor, job_id, pages=len(TREES), size=18)
    assert [page.text for page in pages] == [" ".join(_lines(tree)) for tree in TREES]
    # Running, the collector ran about ten times here; paused, only the collection that ends each window's pause.
    assert len(collections) <= 2, collections
    assert gc.isenabled()
    assert not [entity for entity in gc.get_objects() if type(entity).__module__ in TEXTRACTOR_ENTITIES]


def test_the_windows_of_one_job_list_its_result_files_once(s3, textract):
    listings: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: listings.append(params.get("Prefix"))
    )
    extractor = _extractor(s3=s3, output_bucket="results")
    first = _job(extractor, textract, _manual(TREES), len(TREES))
    pages, _ = _read_windows(extractor, first, pages=len(TREES), size=6)
    assert len(pages) == len(TREES) and listings == [f"textract-output/{first}"], listings
    second = _job(extractor, textract, _manual(TREES[:6]), 6)  # another job: its own files, listed anew
    pages, _ = _read_windows(extractor, second, pages=6, size=3)
    assert [page.text for page in pages] == [" ".join(_lines(tree)) for tree in TREES[:6]]
    assert listings == [f"textract-output/{first}", f"textract-output/{second}"], listings


def test_a_result_that_stops_before_the_pages_its_job_counted_fails_the_next_window_as_nothing_to_read(s3, textract):
    extractor = _extractor(s3=s3, output_bucket="results")
    job_id = _job(extractor, textract, _manual(TREES[:4]), pages=6)  # pages 5 and 6 missing from the result
    pages, cursor = _read_windows(extractor, job_id, pages=4, size=4)
    assert [page.number for page in pages] == [1, 2, 3, 4]
    with pytest.raises(DocumentError) as failure:
        extractor.read_pages(job_id, source=SOURCE, first_page=5, last_page=6, cursor=cursor)
    assert (failure.value.source, failure.value.reason) == (SOURCE, "Textract found nothing to read in the document")


def test_page_windows_without_an_output_bucket_are_a_configuration_error_naming_the_setting(s3):
    extractor = _extractor(s3=s3, staging_bucket="staging")  # staging alone: an S3 client but no OutputConfig
    with pytest.raises(ConfigurationError) as failure:
        extractor.read_pages("job-1", source=SOURCE, first_page=1, last_page=1, cursor=ResultCursor())
    assert str(failure.value) == "reading page windows needs extraction.output_bucket (Textract's OutputConfig)"


def test_a_job_with_no_result_files_is_a_document_error_naming_the_source_and_the_job(s3):
    extractor = _extractor(s3=s3, output_bucket="results")
    with pytest.raises(DocumentError) as failure:
        extractor.read_pages("job-gone", source=SOURCE, first_page=1, last_page=1, cursor=ResultCursor())
    assert failure.value.source == SOURCE
    assert failure.value.reason.startswith("Textract job job-gone wrote no result files under ")


def _result_file(s3, job_id: str, number: int, response: dict) -> None:
    s3.put_object(Bucket="results", Key=f"textract-output/{job_id}/{number}", Body=json.dumps(response))


def test_a_result_file_without_blocks_reads_as_nothing_to_read_not_as_a_crash(s3):
    _result_file(s3, "job-2", 1, {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 1}})
    with pytest.raises(DocumentError) as failure:
        _extractor(s3=s3, output_bucket="results").read_pages(
            "job-2", source=SOURCE, first_page=1, last_page=1, cursor=ResultCursor()
        )
    assert (failure.value.source, failure.value.reason) == (SOURCE, "Textract found nothing to read in the document")


def test_a_block_of_an_earlier_page_after_a_later_one_is_a_document_error_naming_both_pages(s3):
    blocks = _manual(["oak", "ash"])
    stray = {**next(block for block in blocks if block["Page"] == 1 and block["BlockType"] == "WORD"), "Id": "stray"}
    result = {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 2}, "Blocks": [*blocks, stray]}
    _result_file(s3, "job-5", 1, result)
    extractor = _extractor(s3=s3, output_bucket="results")
    with pytest.raises(DocumentError) as failure:
        _read_windows(extractor, "job-5", pages=2, size=1)
    assert failure.value.source == SOURCE
    assert failure.value.reason == "Textract's result is not in page order: a block of page 1 after page 2"


def test_a_block_without_a_page_number_is_a_document_error_naming_the_block(s3):
    blocks = _manual(["oak"])
    del blocks[3]["Page"]
    _result_file(s3, "job-3", 1, {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 1}, "Blocks": blocks})
    with pytest.raises(DocumentError) as failure:
        _extractor(s3=s3, output_bucket="results").read_pages(
            "job-3", source=SOURCE, first_page=1, last_page=1, cursor=ResultCursor()
        )
    assert failure.value.source == SOURCE
    assert failure.value.reason == f"a block of Textract's result has no page number: {blocks[3]['Id']}"


def test_page_windows_are_read_with_the_extractor_s_own_s3_client(s3):
    # The client built from the settings (region, endpoint, retries), not a default one: here
    # only the extractor's client knows the result; a default client finds no such bucket.
    own = boto3.client("s3")
    body = json.dumps({"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 1}, "Blocks": _manual(["oak"])})
    with Stubber(own) as stubber:
        stubber.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "results-elsewhere/job-4/1"}], "KeyCount": 1},
            {"Bucket": "elsewhere", "Prefix": "results-elsewhere/job-4"},
        )
        stubber.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body.encode()), len(body))},
            {"Bucket": "elsewhere", "Key": "results-elsewhere/job-4/1"},
        )
        extractor = _extractor(s3=own, output_bucket="elsewhere", output_prefix="results-elsewhere")
        pages, _ = extractor.read_pages("job-4", source=SOURCE, first_page=1, last_page=1, cursor=ResultCursor())
        stubber.assert_no_pending_responses()
    assert [page.text for page in pages] == [" ".join(_lines("oak"))]


@pytest.mark.parametrize("size", [1, 4], ids=["windows-of-one-page", "last-window-of-one-page"])
def test_a_window_holding_a_single_page_keeps_that_page_s_number(s3, textract, size):
    # 9 pages in windows of 4: the last window holds page 9 alone, as a 101-page document's
    # last window does with the default 100 pages per window.
    extractor = _extractor(s3=s3, output_bucket="results")
    job_id = _job(extractor, textract, _manual(TREES[:9]), pages=9)
    pages, _ = _read_windows(extractor, job_id, pages=9, size=size)
    assert [page.number for page in pages] == list(range(1, 10))
    assert pages[-1].text == " ".join(_lines(TREES[8]))


# --- what the extractor takes, and how it names a document --------------------------------


def test_a_document_is_titled_after_its_whole_file_name_with_separators_as_spaces():
    """The title (shown in sources and written into each chunk's header) reads the file name as words,
    including names with spaces, which S3 keys often have."""
    content = PageContent(paragraphs=["Quarterly results."])
    document = _document([_one_page(content)], source="s3://ingest/filings/acme_q3-report 2023.pdf")
    assert document.title == "acme q3 report 2023"


@pytest.mark.parametrize(
    ("source", "supported"),
    [
        ("s3://ingest/a.pdf", True),
        ("s3://ingest/SCAN.TIFF", True),
        ("s3://ingest/photo.jpeg", True),
        ("s3://ingest/page.html", False),
        ("s3://ingest/notes.md", False),
        ("s3://ingest/no-suffix", False),
    ],
)
def test_textract_takes_pdfs_and_images_whatever_the_case_of_their_suffix(source, supported):
    assert TextractExtractor(boto3.client("textract")).supports(source) is supported
