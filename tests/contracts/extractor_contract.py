"""The contract every Extractor honours. Subclass it and provide `extractor` and `report` fixtures.

`report` is a `tests.pdf_factory.ReportPdf`: its bytes and the sentences written on each page.
"""

import pytest

from ragline.errors import DocumentError
from ragline.model import content_hash


def _flat(text: str) -> str:
    return " ".join(text.split())


class ExtractorContract:
    def test_every_sentence_lands_on_its_page_in_reading_order(self, extractor, report):
        document = extractor.extract(str(report.path), report.path.read_bytes())
        assert len(document.pages) == len(report.sentences)
        for page in document.pages:
            text = _flat(page.text)
            expected = report.sentences[page.number]
            positions = [text.find(sentence) for sentence in expected]
            assert all(position >= 0 for position in positions), (page.number, text)
            assert positions == sorted(positions)

    def test_running_header_and_page_numbers_are_gone(self, extractor, report):
        document = extractor.extract(str(report.path), report.path.read_bytes())
        for page in document.pages:
            assert "Annual Report 2024" not in page.text
            assert f"Page {page.number} of" not in page.text

    def test_document_id_is_the_content_hash(self, extractor, report):
        data = report.path.read_bytes()
        assert extractor.extract(str(report.path), data).id == content_hash(data)

    def test_empty_input_fails_with_its_name(self, extractor):
        with pytest.raises(DocumentError, match="empty"):
            extractor.extract("/docs/empty.pdf", b"")
