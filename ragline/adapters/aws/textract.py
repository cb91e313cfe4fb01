"""Extraction with Amazon Textract document analysis (layout and tables), parsed by textractor.

Textract reads PDFs of up to 3,000 pages only asynchronously, so the work has two halves that
the Lambdas run apart: `start` (on upload) and, on Textract's completion message, `job_pages`
then `read_pages` for each page window: a window reads only its pages from the result files
Textract wrote to the output bucket (OutputConfig), so no invocation ever holds a whole
3,000-page result. `extract` runs start and `document` (the whole result through
GetDocumentAnalysis), polling in between, so that the adapter also satisfies the Extractor port.

The result of a job comes in pages of at most 1,000 blocks chained by `NextToken`; every page
is read and the blocks concatenated before parsing, or the end of the document would be lost.
textractor linearizes each page in reading order (layout-aware: columns, titles, headers),
renders tables as Markdown, and drops the running headers, footers and page numbers that the
layout model labels; the shared clean-up then handles what it missed, as it does locally.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from ragline.cleanup import join_broken_words, strip_page_furniture
from ragline.errors import ConfigurationError, DocumentError
from ragline.file_types import NO_IMAGE_HEADER, NO_PDF_HEADER, has_image_header, has_pdf_header
from ragline.model import Document, Page, content_hash
from ragline.windows import ResultCursor

log = logging.getLogger(__name__)

FEATURE_TYPES = ("LAYOUT", "TABLES")
SUPPORTED_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
MAX_RESULTS_PER_PAGE = 1000  # the most GetDocumentAnalysis returns at once


class JobInProgressError(Exception):
    """The Textract job has not finished yet."""


def title_from(source: str) -> str:
    name = PurePosixPath(source.split("://", 1)[-1]).stem
    return name.replace("_", " ").replace("-", " ").strip() or source


def s3_source(bucket: str, key: str) -> str:
    """The source URI of an S3 object: what the registry, the index and citations name."""
    return f"s3://{bucket}/{key}"


def split_s3_source(source: str) -> tuple[str, str]:
    bucket, _, key = source.removeprefix("s3://").partition("/")
    return bucket, key


def check_readable(source: str, head: bytes) -> None:
    """Refuse what Textract would refuse, before paying for a job: empty files and non-documents.

    `head` is the file's first `file_types.HEAD_BYTES` bytes or more (the whole file will do)."""
    if not head:
        raise DocumentError(source, "the file is empty (0 bytes)")
    if not (has_pdf_header(head) or has_image_header(head)):
        raise DocumentError(source, f"not a PDF or image: {NO_PDF_HEADER} and {NO_IMAGE_HEADER}")


def _linearization() -> Any:
    from textractor.data.text_linearization_config import TextLinearizationConfig

    return TextLinearizationConfig(
        hide_header_layout=True,
        hide_footer_layout=True,
        hide_page_num_layout=True,
        table_linearization_format="markdown",
        title_prefix="# ",
        section_header_prefix="## ",
    )


def parse_analysis(response: dict[str, Any], *, source: str, document_id: str) -> Document:
    """A `Document` from a complete (all NextToken pages concatenated) document analysis."""
    return Document(id=document_id, source=source, title=title_from(source), pages=parse_pages(response, source))


def parse_pages(response: dict[str, Any], source: str) -> tuple[Page, ...]:
    """The cleaned pages of a document analysis: a whole result or one window of it."""
    if not response.get("Blocks"):
        raise DocumentError(source, "Textract found nothing to read in the document")
    with _collector_paused():
        numbered = _page_texts(response, source)  # textractor's entities are garbage once it returns
    if not numbered:
        raise DocumentError(source, "Textract found no pages in the document")
    cleaned = strip_page_furniture([join_broken_words(text) for _, text in numbered])
    return tuple(
        Page(number=number, text=text, has_text_layer=bool(text.strip()))
        for (number, _), text in zip(numbered, cleaned, strict=True)
    )


def _page_texts(response: dict[str, Any], source: str) -> list[tuple[int, str]]:
    """Each page's number and linearized text, in page order, as textractor reads them."""
    from textractor.entities.document import Document as TextractDocument

    try:
        with _page_lines_shared():
            parsed = TextractDocument.open(response)
    except Exception as error:  # the same result would fail the same way: not worth a retry
        raise DocumentError(source, f"Textract's result could not be parsed: {type(error).__name__} {error}") from error
    config = _linearization()
    numbers = _page_numbers(response, source)
    pages = sorted(parsed.pages, key=lambda page: numbers[page.id])
    return [(numbers[page.id], page.get_text(config=config)) for page in pages]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while textractor builds a result's entities, then one collection.

    textractor makes several objects per word, millions for a 100-page window, so a running collector runs
    thousands of times mid-parse, each time walking the young objects, and finds nothing to free: the entities
    live until the parse ends. Then they are garbage, in reference cycles (a word and its line point at each
    other) that only the collector frees, so one full collection follows at once: without it a warm environment
    carried each window's entities into the next (1,240 MB after four 100-page windows instead of 496). Parse
    and collection together are 1.7 times as fast as with the collector running throughout, at the same peak
    memory (bench/RESULTS.md section 8, CPython 3.14).
    A caller that had turned the collector off keeps it off, and collects when it chooses.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@contextmanager
def _page_lines_shared() -> Iterator[None]:
    """textractor's parse without its deep copy of every page's lines.

    textractor (1.10) gives each page a deep copy of the lines it has just built (`page.lines =
    deepcopy(lines)` in `response_parser.parse_document_api_response`): every line, word and bounding
    box made a second time, more than half of a 100-page window's parse (bench/RESULTS.md section 8.1).
    ragline reads a page only through `page.get_text`, which walks the page's layouts, and they hold
    the original lines: the copies are never read. So for the parse, the parser's `deepcopy` makes a
    plain list of the same lines. Large results parsing slowly is textractor's open issue #337.

    The parser's module attribute is swapped for the parse and put back after it, whatever happens.
    If it is not `copy.deepcopy` when the parse starts (another parse in this process is under way,
    or something else replaced it), it is left alone: the parse copies as textractor does, giving the
    same text, only slower. tests/aws/test_textract_behaviour.py checks both texts are the same.
    """
    from textractor.parsers import response_parser

    if response_parser.deepcopy is not copy.deepcopy:
        yield
        return
    response_parser.deepcopy = list
    try:
        yield
    finally:
        response_parser.deepcopy = copy.deepcopy


def _page_numbers(response: dict[str, Any], source: str) -> dict[str, int]:
    """Each PAGE block's own page number, by block id.

    textractor (1.10) numbers the page of a response that holds a single PAGE block 1, whatever
    its block says: a page window holding page 101 alone would be indexed and cited as page 1.
    """
    return {block["Id"]: _page_of(block, source) for block in response["Blocks"] if block["BlockType"] == "PAGE"}


def _page_of(block: dict[str, Any], source: str) -> int:
    try:
        return int(block["Page"])
    except (KeyError, TypeError, ValueError) as error:
        raise DocumentError(source, f"a block of Textract's result has no page number: {block.get('Id')}") from error


class TextractExtractor:
    def __init__(
        self,
        textract: Any,
        *,
        s3: Any = None,
        staging_bucket: str | None = None,
        topic_arn: str | None = None,
        role_arn: str | None = None,
        output_bucket: str | None = None,
        output_prefix: str = "textract-output",
        kms_key_id: str | None = None,
        poll_seconds: float = 5.0,
        timeout_seconds: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._textract = textract
        self._s3 = s3
        self._staging_bucket = staging_bucket
        self._notification = {"SNSTopicArn": topic_arn, "RoleArn": role_arn} if topic_arn and role_arn else None
        self._output = {"S3Bucket": output_bucket, "S3Prefix": output_prefix} if output_bucket else None
        self._kms_key_id = kms_key_id
        self._poll_seconds = poll_seconds
        self._timeout_seconds = timeout_seconds
        self._sleep = sleep
        # The result files of the last job whose windows were read: a finished job's files never change, and a
        # warm Lambda environment reads that job's windows one after another, so each need not list them again.
        self._listed: tuple[str, list[str]] | None = None

    def supports(self, source: str) -> bool:
        return PurePosixPath(source).suffix.lower() in SUPPORTED_SUFFIXES

    # --- the two halves -------------------------------------------------------------------

    def start(
        self,
        bucket: str,
        key: str,
        *,
        document_id: str,
        version: str | None = None,
        request_token: str | None = None,
    ) -> str:
        """Start the analysis of an S3 object; return the job id.

        The content hash rides along as the job tag (64 characters, Textract's limit), so the
        completion handler knows which content it is indexing even if the object changed since.
        The same `request_token` returns the same job instead of starting another.
        """
        location: dict[str, str] = {"Bucket": bucket, "Name": key}
        if version:
            location["Version"] = version
        params: dict[str, Any] = {
            "DocumentLocation": {"S3Object": location},
            "FeatureTypes": list(FEATURE_TYPES),
            "JobTag": document_id,
        }
        optional = {
            "ClientRequestToken": request_token,
            "NotificationChannel": self._notification,
            "OutputConfig": self._output,
            "KMSKeyId": self._kms_key_id,
        }
        params.update({name: value for name, value in optional.items() if value})
        return self._textract.start_document_analysis(**params)["JobId"]

    def document(self, job_id: str, *, source: str, document_id: str) -> Document:
        """The extracted document of a finished job; DocumentError when the job failed."""
        return parse_analysis(self.result(job_id, source=source), source=source, document_id=document_id)

    def result(self, job_id: str, *, source: str) -> dict[str, Any]:
        """Every block of a job's result, all NextToken pages concatenated into one response.

        Why not textractcaller's `get_full_json` (amazon-textract-caller 0.2.4, what textractor
        1.10 uses): it sleeps in a loop while the job is IN_PROGRESS (a Lambda must hand that
        back to SQS, not wait), turns FAILED and PARTIAL_SUCCESS into a bare `Exception` (here
        FAILED is a DocumentError with Textract's reason, and a partial result is kept), and
        fetches the first page twice. botocore has no paginator for GetDocumentAnalysis, so the
        NextToken chain is followed here. Large documents do not come this way: see `read_pages`.
        """
        first = self._finished(job_id, source=source, max_results=MAX_RESULTS_PER_PAGE)
        blocks = list(first.get("Blocks", []))
        token = first.get("NextToken")
        while token:
            page = self._textract.get_document_analysis(JobId=job_id, MaxResults=MAX_RESULTS_PER_PAGE, NextToken=token)
            blocks.extend(page.get("Blocks", []))
            token = page.get("NextToken")
        return {**{k: v for k, v in first.items() if k not in ("Blocks", "NextToken")}, "Blocks": blocks}

    def _finished(self, job_id: str, *, source: str, max_results: int) -> dict[str, Any]:
        """The first page of a finished job's result; DocumentError when it failed."""
        first = self._textract.get_document_analysis(JobId=job_id, MaxResults=max_results)
        status = first["JobStatus"]
        if status == "IN_PROGRESS":
            raise JobInProgressError(f"Textract job {job_id} is still running")
        if status not in ("SUCCEEDED", "PARTIAL_SUCCESS"):
            reason = first.get("StatusMessage") or "no reason given"
            raise DocumentError(source, f"Textract job {job_id} ended {status}: {reason}")
        if status == "PARTIAL_SUCCESS":
            log.warning("Textract job %s for %s partly failed: %s", job_id, source, first.get("Warnings"))
        return first

    # --- page windows, read from the job's output files -----------------------------------

    def job_pages(self, job_id: str, *, source: str) -> int:
        """How many pages a finished job read (one block fetched); DocumentError when it failed."""
        return int(self._finished(job_id, source=source, max_results=1)["DocumentMetadata"]["Pages"])

    def read_pages(
        self, job_id: str, *, source: str, first_page: int, last_page: int, cursor: ResultCursor
    ) -> tuple[tuple[Page, ...], ResultCursor]:
        """Pages `first_page`..`last_page` of a finished job, and where the next pages start.

        Textract writes a job's result as numbered files of up to 1,000 blocks each under
        `<prefix>/<job id>/`, every block tagged with its page and the pages in order. The
        reading starts at `cursor` (where the previous window stopped) and stops at the first
        block of a later page, so a window holds only its own pages' blocks in memory. Pages
        are cleaned as `parse_analysis` cleans a whole document, running headers and footers
        recognised within the window.
        """
        if self._output is None or self._s3 is None:
            raise ConfigurationError("reading page windows needs extraction.output_bucket (Textract's OutputConfig)")
        keys = self._output_keys(job_id)
        if not keys:
            raise DocumentError(source, f"Textract job {job_id} wrote no result files under {self._output}")
        # The window's blocks, tens of MB of small dicts, all kept until parsed: a running collector would walk
        # them again and again while they are decoded, and free nothing (the read took 1.35 times as long on
        # CPython 3.14, 1.6 on 3.11). One pause covers the reading and the parse (which then does not pause
        # again), and one collection ends it.
        with _collector_paused():
            blocks, after = self._window_blocks(keys, source, first_page, last_page, cursor)
            return self._window(blocks, source, last_page - first_page + 1), after

    def _window_blocks(
        self, keys: list[str], source: str, first_page: int, last_page: int, cursor: ResultCursor
    ) -> tuple[list[dict[str, Any]], ResultCursor]:
        """The blocks of pages `first_page`..`last_page`, read from `cursor` on, and where the next page starts."""
        blocks: list[dict[str, Any]] = []
        part, start = cursor.part, cursor.block
        while part < len(keys):
            file_blocks = self._result_file(keys[part])
            for position in range(start, len(file_blocks)):
                page = _page_of(file_blocks[position], source)
                if page > last_page:
                    return blocks, ResultCursor(part, position)
                if page < first_page:
                    raise DocumentError(
                        source,
                        f"Textract's result is not in page order: a block of page {page} after page {first_page}",
                    )
                blocks.append(file_blocks[position])
            part, start = part + 1, 0
        return blocks, ResultCursor(part, 0)

    def _output_keys(self, job_id: str) -> list[str]:
        """The job's numbered result files, in number order, listed once per job (a 3,000-page result is
        about 1,800 files: two LIST pages, which every one of its 30 windows listed again)."""
        from textractcaller.t_call import OutputConfig, get_s3_output_config_keys

        if self._listed is not None and self._listed[0] == job_id:
            return self._listed[1]
        assert self._output is not None
        config = OutputConfig(s3_bucket=self._output["S3Bucket"], s3_prefix=self._output["S3Prefix"])
        keys = get_s3_output_config_keys(output_config=config, job_id=job_id, s3_client=self._s3)
        if keys:  # none yet is an error the caller reports; it is not remembered
            self._listed = (job_id, keys)
        return keys

    def _result_file(self, key: str) -> list[dict[str, Any]]:
        assert self._output is not None
        body = self._s3.get_object(Bucket=self._output["S3Bucket"], Key=key)["Body"].read()
        return json.loads(body).get("Blocks", [])

    @staticmethod
    def _window(blocks: list[dict[str, Any]], source: str, pages: int) -> tuple[Page, ...]:
        # textractor checks the page count against DocumentMetadata: here, the window's pages. It reads
        # nothing else of a response but its Blocks (JobStatus only when it fetches a job itself).
        return parse_pages({"DocumentMetadata": {"Pages": pages}, "Blocks": blocks}, source)

    # --- the Extractor port ---------------------------------------------------------------

    def extract(self, source: str, data: bytes) -> Document:
        """Upload (when needed), analyse and wait: for callers that have the bytes in hand."""
        check_readable(source, data)
        document_id = content_hash(data)
        bucket, key = self._stage(source, document_id, data)
        job_id = self.start(bucket, key, document_id=document_id, request_token=document_id)
        deadline = time.monotonic() + self._timeout_seconds
        while True:
            try:
                return self.document(job_id, source=source, document_id=document_id)
            except JobInProgressError as running:
                if time.monotonic() > deadline:
                    reason = f"Textract job {job_id} did not finish in {self._timeout_seconds:.0f} s"
                    raise DocumentError(source, reason) from running
                self._sleep(self._poll_seconds)

    def _stage(self, source: str, document_id: str, data: bytes) -> tuple[str, str]:
        if self._staging_bucket and self._s3 is not None:
            key = f"staging/{document_id}/{PurePosixPath(source).name}"
            self._s3.put_object(Bucket=self._staging_bucket, Key=key, Body=data)
            return self._staging_bucket, key
        if source.startswith("s3://"):
            return split_s3_source(source)
        raise DocumentError(source, "Textract reads from S3: set extraction.staging_bucket to extract local files")
