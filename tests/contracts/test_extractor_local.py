import pypdfium2
import pytest

from ragline.adapters.local.extraction import LocalExtractor
from ragline.errors import DocumentError
from tests import pdf_factory
from tests.contracts.extractor_contract import ExtractorContract


class TestLocalExtractor(ExtractorContract):
    @pytest.fixture
    def extractor(self):
        return LocalExtractor()

    @pytest.fixture
    def report(self, tmp_path):
        return pdf_factory.write_report_pdf(tmp_path, pages=4)


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (pdf_factory.write_truncated_pdf, "damaged or truncated|not a readable PDF"),
        (pdf_factory.write_encrypted_pdf, "encrypted and needs a password"),
        (pdf_factory.write_not_a_pdf, "not a PDF"),
    ],
)
def test_bad_pdfs_fail_with_a_reason_naming_the_file(tmp_path, writer, reason):
    path = writer(tmp_path)
    with pytest.raises(DocumentError, match=reason) as failure:
        LocalExtractor().extract(str(path), path.read_bytes())
    assert str(path) in str(failure.value)


@pytest.mark.parametrize("padding", [b" ", b"x"], ids=["whitespace", "junk"])
@pytest.mark.parametrize("offset", [0, 1024, 1025])
def test_a_pdf_header_after_other_bytes_is_accepted_exactly_where_pdfium_opens_the_file(tmp_path, padding, offset):
    """The header rule (ragline.file_types, shared with Textract's pre-check) is pdfium's: a file refused before
    pdfium is asked is one pdfium could not open, and one it opens is never refused."""
    data = padding * offset + pdf_factory.write_report_pdf(tmp_path, pages=1).path.read_bytes()
    try:
        pypdfium2.PdfDocument(data).close()
        pdfium_opens = True
    except pypdfium2.PdfiumError:
        pdfium_opens = False
    if pdfium_opens:
        assert LocalExtractor().extract("/docs/report.pdf", data).pages
    else:
        with pytest.raises(DocumentError) as failure:
            LocalExtractor().extract("/docs/report.pdf", data)
        assert failure.value.reason == "not a PDF: no %PDF- header starts in the file's first 1,025 bytes"
    assert pdfium_opens is (offset <= 1024)  # the boundary pdfium has today: a new pdfium moving it shows here


def test_owner_password_only_pdfs_open_normally(tmp_path):
    path = pdf_factory.write_owner_only_encrypted_pdf(tmp_path)
    document = LocalExtractor().extract(str(path), path.read_bytes())
    assert any(page.text for page in document.pages)


def test_scanned_pages_are_reported(tmp_path):
    path = pdf_factory.write_scanned_pdf(tmp_path)
    document = LocalExtractor().extract(str(path), path.read_bytes())
    assert document.scanned_pages == (1,)


def test_markdown_and_text_are_read_with_titles(tmp_path):
    extractor = LocalExtractor()
    markdown = pdf_factory.write_markdown(tmp_path)
    document = extractor.extract(str(markdown), markdown.read_bytes())
    assert document.title == "Field notes"
    assert "ospreys" in document.pages[0].text
    text = pdf_factory.write_text(tmp_path)
    assert "backwashed" in extractor.extract(str(text), text.read_bytes()).pages[0].text


def test_binary_content_in_a_text_file_is_refused(tmp_path):
    with pytest.raises(DocumentError, match="not UTF-8"):
        LocalExtractor().extract("/docs/notes.txt", b"\xff\xfe\x00binary")


def test_unsupported_types_are_named(tmp_path):
    assert not LocalExtractor().supports("/docs/sheet.xlsx")
    with pytest.raises(DocumentError, match=r"unsupported file type \.xlsx"):
        LocalExtractor().extract("/docs/sheet.xlsx", b"PK")


def _zero_page_pdf() -> bytes:
    import io

    import pypdfium2

    buffer = io.BytesIO()
    pypdfium2.PdfDocument.new().save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encrypted_first", [True, False])
def test_a_pdf_pdfium_refuses_without_a_reason_is_not_blamed_on_the_previous_file(tmp_path, encrypted_first):
    """pdfium leaves its last error unset for a PDF with no pages: the previous file's must not show."""
    encrypted = pdf_factory.write_encrypted_pdf(tmp_path)
    files = [("encrypted.pdf", encrypted.read_bytes()), ("empty-pages.pdf", _zero_page_pdf())]
    reasons = {}
    for name, data in files if encrypted_first else reversed(files):
        with pytest.raises(DocumentError) as failure:
            LocalExtractor().extract(name, data)
        reasons[name] = failure.value.reason
    assert "needs a password" in reasons["encrypted.pdf"]
    assert "password" not in reasons["empty-pages.pdf"]
    assert "not a readable PDF" in reasons["empty-pages.pdf"]


HTML_PAGE = """<!doctype html>
<html><head><meta charset="windows-1252"><title>Pump guide</title>
<style>p { color: red }</style><script>var secret = "tracking";</script></head>
<body><h1>Pumps</h1><p>Centrifugal pumps move water <a href="https://x.test/up">uphill</a> at the caf\xe9.</p>
<h2>Seals</h2><p>Seals are replaced <b>yearly</b>.</p>
<table><tr><th>Part</th><th>Cost</th></tr><tr><td>Seal</td><td>12</td></tr></table>
<noscript>Please enable JavaScript</noscript></body></html>
"""


def test_html_pages_are_read_as_markdown_with_their_title_and_no_code(tmp_path):
    data = HTML_PAGE.encode("windows-1252")
    document = LocalExtractor().extract("/site/pumps.html", data)
    text = document.pages[0].text
    assert document.title == "Pump guide"
    assert "# Pumps" in text and "## Seals" in text
    assert "Centrifugal pumps move water uphill at the café." in text  # link text kept, URL dropped
    assert "| Seal | 12 |" in text
    for hidden in ("tracking", "color: red", "enable JavaScript", "https://"):  # script, style, noscript, URL
        assert hidden not in text


def test_html_is_chunked_by_its_sections(tmp_path, token_counter):
    from ragline.chunking import Chunker

    document = LocalExtractor().extract("/site/pumps.html", HTML_PAGE.encode("windows-1252"))
    chunks = Chunker(token_counter, max_tokens=256, overlap_tokens=0, contextual_header=True).chunk(document)
    assert {chunk.heading_path for chunk in chunks} >= {("Pumps", "Seals")}
