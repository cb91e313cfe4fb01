"""Local extraction: PDFs with pypdfium2, HTML as Markdown, plain text and Markdown as they are.

pypdfium2 was chosen by measurement (bench/RESULTS_extractors.md): the fastest extractor here,
it opens owner-password-encrypted filings as they are, and leaves no ligature artefacts.
HTML pages become Markdown (markdownify over Beautiful Soup) because the chunker reads its
headings, blank-line paragraphs and pipe tables: a page keeps its section structure.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import markdownify
import pypdfium2
from bs4 import BeautifulSoup

from ragline.cleanup import join_broken_words, strip_page_furniture
from ragline.errors import DocumentError
from ragline.file_types import NO_PDF_HEADER, has_pdf_header
from ragline.model import Document, Page, content_hash

PDF_SUFFIXES = frozenset({".pdf"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES
# Never text a reader sees: code, styles, fallbacks for disabled scripts, templates.
_HIDDEN_TAGS = ("head", "script", "style", "noscript", "template", "svg")
# Links and images keep their text only: their URLs are not content to search.
_STRIPPED_TAGS = ["a", "img", "b", "strong", "i", "em", "span", "code"]
PASSWORD_REASON = "the PDF is encrypted and needs a password to open"
SECURITY_REASON = "the PDF is protected by a security handler pdfium does not support"
UNREADABLE_REASON = "the file is not a readable PDF (damaged, truncated, or without pages)"


def _suffix(source: str) -> str:
    return PurePath(source).suffix.lower()


def _title_from(source: str) -> str:
    return PurePath(source).stem.replace("_", " ").replace("-", " ").strip() or source


class LocalExtractor:
    """Reads PDF, HTML, plain-text and Markdown files from bytes."""

    def supports(self, source: str) -> bool:
        return _suffix(source) in SUPPORTED_SUFFIXES

    def unsupported_reason(self, source: str) -> str:
        """Why a file this extractor does not read is skipped (for the list of skipped files)."""
        return f"unsupported file type {_suffix(source) or '(none)'}: expected {', '.join(sorted(SUPPORTED_SUFFIXES))}"

    def extract(self, source: str, data: bytes) -> Document:
        if not data:
            raise DocumentError(source, "the file is empty (0 bytes)")
        if _suffix(source) in PDF_SUFFIXES:
            return self._extract_pdf(source, data)
        if _suffix(source) in TEXT_SUFFIXES:
            return self._extract_text(source, data)
        if _suffix(source) in HTML_SUFFIXES:
            return self._extract_html(source, data)
        raise DocumentError(source, self.unsupported_reason(source))

    def _extract_pdf(self, source: str, data: bytes) -> Document:
        if not has_pdf_header(data):
            raise DocumentError(source, f"not a PDF: {NO_PDF_HEADER}")
        pdf = _open_pdf(source, data)
        try:
            raw_pages = [_page_text(pdf, index) for index in range(len(pdf))]
            metadata_title = pdf.get_metadata_value("Title") or None
            title = _metadata_title(pdf) or _title_from(source)
            date = _metadata_date(pdf)
        finally:
            pdf.close()
        if not raw_pages:
            raise DocumentError(source, "the PDF has no pages")
        cleaned = strip_page_furniture([join_broken_words(text) for text in raw_pages])
        pages = tuple(
            Page(number=index + 1, text=text, has_text_layer=bool(raw.strip()))
            for index, (raw, text) in enumerate(zip(raw_pages, cleaned, strict=True))
        )
        return Document(
            id=content_hash(data), source=source, title=title, pages=pages, date=date, metadata_title=metadata_title
        )

    def _extract_text(self, source: str, data: bytes) -> Document:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise DocumentError(source, f"not UTF-8 text (byte {error.start} is invalid)") from error
        if "\x00" in text:
            raise DocumentError(source, "binary content in a text file (NUL bytes)")
        # A form feed separates pages in plain-text exports; otherwise the file is one page.
        page_texts = text.replace("\r\n", "\n").split("\f")
        pages = tuple(Page(number=index + 1, text=page.strip()) for index, page in enumerate(page_texts))
        heading = _markdown_title(text)
        title = heading or _title_from(source)
        return Document(id=content_hash(data), source=source, title=title, pages=pages, metadata_title=heading)

    def _extract_html(self, source: str, data: bytes) -> Document:
        if b"\x00" in data:
            raise DocumentError(source, "binary content in an HTML file (NUL bytes)")
        soup = BeautifulSoup(data, "html.parser")  # the encoding from the BOM, <meta charset> or a guess
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        for tag in soup(_HIDDEN_TAGS):
            tag.decompose()
        converter = markdownify.MarkdownConverter(
            heading_style=markdownify.ATX, strip=_STRIPPED_TAGS, strip_document=markdownify.STRIP
        )
        text = converter.convert_soup(soup)
        metadata_title = title or _markdown_title(text)
        return Document(
            id=content_hash(data),
            source=source,
            title=metadata_title or _title_from(source),
            pages=(Page(number=1, text=text),),
            metadata_title=metadata_title,
        )


def _open_pdf(source: str, data: bytes) -> pypdfium2.PdfDocument:
    try:
        # An empty password opens owner-password-only files (26 of 50 real 10-Ks are).
        return pypdfium2.PdfDocument(data, password=None)
    except pypdfium2.PdfiumError as error:
        raise DocumentError(source, _load_failure_reason(error.err_code, data)) from error


def _load_failure_reason(code: int | None, data: bytes) -> str:
    """Why pdfium refused a file. Its error code is the library's last error, which some failures
    (a PDF with no pages) leave unset: the code of an earlier file would then be reported. So a
    password is named only when the file declares encryption, and a failure without a code of its
    own is the generic one."""
    encrypted = b"/Encrypt" in data
    if code == pypdfium2.raw.FPDF_ERR_PASSWORD and encrypted:
        return PASSWORD_REASON
    if code == pypdfium2.raw.FPDF_ERR_SECURITY and encrypted:
        return SECURITY_REASON
    return UNREADABLE_REASON


def _page_text(pdf: pypdfium2.PdfDocument, index: int) -> str:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
        finally:
            textpage.close()
    finally:
        page.close()


def _metadata_title(pdf: pypdfium2.PdfDocument) -> str | None:
    title = (pdf.get_metadata_value("Title") or "").strip()
    # Producers often fill the title with junk such as "untitled" or "Microsoft Word - x.docx".
    if not title or title.lower() in {"untitled", "title"} or title.lower().startswith("microsoft word"):
        return None
    return title


_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})(\d{2})")


def _metadata_date(pdf: pypdfium2.PdfDocument) -> str | None:
    match = _PDF_DATE.match(pdf.get_metadata_value("CreationDate") or "")
    return "-".join(match.groups()) if match else None


_MARKDOWN_TITLE = re.compile(r"^#\s+(.+)$", re.MULTILINE)


def _markdown_title(text: str) -> str | None:
    match = _MARKDOWN_TITLE.search(text)
    return match.group(1).strip() if match else None
