"""The test-document factory keeps its promises, checked with pypdfium2 directly (the engine's own reader)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests import pdf_factory


def page_texts(path: Path, password: str | None = None) -> list[str]:
    document = pdfium.PdfDocument(str(path), password=password)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def squash(text: str) -> str:
    # Sentences wrap across lines: compare with every run of whitespace folded to one space.
    return re.sub(r"\s+", " ", text)


def test_report_pages_carry_their_own_sentences_only(tmp_path: Path) -> None:
    report = pdf_factory.write_report_pdf(tmp_path, pages=4)
    texts = [squash(text) for text in page_texts(report.path)]

    assert len(texts) == 4
    assert sorted(report.sentences) == [1, 2, 3, 4]
    for page, sentences in report.sentences.items():
        assert sentences
        for sentence in sentences:
            pages_holding_it = [number for number, text in enumerate(texts, start=1) if sentence in text]
            assert pages_holding_it == [page], sentence


def test_report_has_running_header_footer_and_table(tmp_path: Path) -> None:
    report = pdf_factory.write_report_pdf(tmp_path, pages=3)
    texts = page_texts(report.path)

    for number, text in enumerate(texts, start=1):
        assert text.startswith(pdf_factory.DEFAULT_HEADER)
        assert text.rstrip().endswith(f"Page {number} of 3")
    for cell in pdf_factory.REPORT_TABLE[1]:
        assert cell in texts[1]


def test_report_accepts_given_sentences_and_is_deterministic(tmp_path: Path) -> None:
    sentences = {1: ["Alpha sentence one."], 2: ["Bravo sentence two.", "Charlie sentence three."]}
    first = pdf_factory.write_report_pdf(tmp_path, name="a.pdf", sentences=sentences, with_table=False)
    second = pdf_factory.write_report_pdf(tmp_path, name="b.pdf", sentences=sentences, with_table=False)

    assert first.sentences == sentences
    assert "Charlie sentence three." in squash(page_texts(first.path)[1])
    assert hashlib.sha256(first.path.read_bytes()).digest() == hashlib.sha256(second.path.read_bytes()).digest()


def test_report_refuses_to_overflow_a_page(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="overflowed"):
        pdf_factory.write_report_pdf(tmp_path, pages=1, paragraphs=40)


@pytest.mark.parametrize(
    "writer",
    [pdf_factory.write_empty_file, pdf_factory.write_truncated_pdf, pdf_factory.write_not_a_pdf],
)
def test_broken_files_do_not_open(tmp_path: Path, writer) -> None:
    path = writer(tmp_path)

    assert path.suffix == ".pdf"
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(str(path))


def test_encrypted_pdf_needs_its_user_password(tmp_path: Path) -> None:
    path = pdf_factory.write_encrypted_pdf(tmp_path, user_password="s3cret")

    with pytest.raises(pdfium.PdfiumError, match="password"):
        pdfium.PdfDocument(str(path))
    with pytest.raises(pdfium.PdfiumError, match="password"):
        pdfium.PdfDocument(str(path), password="wrong")
    texts = page_texts(path, password="s3cret")
    assert pdf_factory.report_sentence(1, 0) in squash(texts[0])


def test_owner_only_encrypted_pdf_opens_without_password(tmp_path: Path) -> None:
    path = pdf_factory.write_owner_only_encrypted_pdf(tmp_path)

    assert b"/Encrypt" in path.read_bytes()
    texts = page_texts(path)
    assert len(texts) == 2
    assert pdf_factory.report_sentence(2, 2) in squash(texts[1])


def test_scanned_pdf_has_a_page_but_no_text(tmp_path: Path) -> None:
    path = pdf_factory.write_scanned_pdf(tmp_path)

    texts = page_texts(path)
    assert len(texts) == 1
    assert texts[0].strip() == ""
    document = pdfium.PdfDocument(str(path))
    assert any(obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE for obj in document[0].get_objects())
    document.close()


def test_unicode_name_pdf_is_a_valid_pdf(tmp_path: Path) -> None:
    path = pdf_factory.write_unicode_name_pdf(tmp_path)

    assert " " in path.name and not path.name.isascii()
    assert path.exists()
    texts = page_texts(path)
    assert len(texts) == 2
    assert texts[0].startswith("Rapport annuel — été 2024")


def test_markdown_and_text_files(tmp_path: Path) -> None:
    markdown = pdf_factory.write_markdown(tmp_path)
    text = pdf_factory.write_text(tmp_path)

    assert markdown.suffix == ".md" and markdown.read_text(encoding="utf-8").startswith("# ")
    assert text.suffix == ".txt" and "backup generator" in text.read_text(encoding="utf-8")
