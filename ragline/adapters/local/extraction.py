"""Local extraction: PDFs with pypdfium2, plain text and Markdown as they are.

pypdfium2 was chosen by measurement (bench/RESULTS_extractors.md): the fastest extractor here,
it opens owner-password-encrypted filings as they are, and leaves no ligature artefacts.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import pypdfium2

from ragline.cleanup import join_broken_words, strip_page_furniture
from ragline.errors import DocumentError
from ragline.model import Document, Page, content_hash

PDF_SUFFIXES = frozenset({".pdf"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
PDF_MAGIC = b"%PDF-"
# pdfium reports these codes through PdfiumError; map them to reasons a user can act on.
_PDFIUM_REASONS = {
    "password": "the PDF is encrypted and needs a password to open",
    "format": "the file is not a readable PDF (damaged or truncated)",
    "file": "the file could not be read",
}


def _suffix(source: str) -> str:
    return PurePath(source).suffix.lower()


def _title_from(source: str) -> str:
    return PurePath(source).stem.replace("_", " ").replace("-", " ").strip() or source


class LocalExtractor:
    """Reads PDF, plain-text and Markdown files from bytes."""

    def supports(self, source: str) -> bool:
        return _suffix(source) in PDF_SUFFIXES | TEXT_SUFFIXES

    def extract(self, source: str, data: bytes) -> Document:
        if not data:
            raise DocumentError(source, "the file is empty (0 bytes)")
        if _suffix(source) in PDF_SUFFIXES:
            return self._extract_pdf(source, data)
        if _suffix(source) in TEXT_SUFFIXES:
            return self._extract_text(source, data)
        raise DocumentError(source, f"unsupported file type {_suffix(source) or '(none)'}: expected .pdf, .txt or .md")

    def _extract_pdf(self, source: str, data: bytes) -> Document:
        if not data.lstrip()[:1024].find(PDF_MAGIC) >= 0:
            raise DocumentError(source, f"not a PDF: the file does not start with {PDF_MAGIC.decode()}")
        pdf = _open_pdf(source, data)
        try:
            raw_pages = [_page_text(pdf, index) for index in range(len(pdf))]
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
        return Document(id=content_hash(data), source=source, title=title, pages=pages, date=date)

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
        return Document(
            id=content_hash(data), source=source, title=_markdown_title(text) or _title_from(source), pages=pages
        )


def _open_pdf(source: str, data: bytes) -> pypdfium2.PdfDocument:
    try:
        # An empty password opens owner-password-only files (26 of 50 real 10-Ks are).
        return pypdfium2.PdfDocument(data, password=None)
    except pypdfium2.PdfiumError as error:
        message = str(error).lower()
        reason = next((text for key, text in _PDFIUM_REASONS.items() if key in message), f"pdfium error: {error}")
        raise DocumentError(source, reason) from error


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
