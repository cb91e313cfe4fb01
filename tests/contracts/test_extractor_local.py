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
