"""Writers of test documents: well-formed reports, broken, encrypted and scanned PDFs, Markdown and text.

Pure functions, no pytest here: each takes a directory, writes one file into it and returns its path
(``write_report_pdf`` also returns which sentences landed on which page). Output is deterministic where the
format allows it (fixed creation date, producer and file id), so two calls give byte-identical files, which lets
tests about content hashing and de-duplication rely on it. Encrypted files are the exception: their keys are salted
with random bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from fpdf import FPDF
from fpdf.enums import AccessPermission, EncryptionMethod

FIXED_DATE = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
PRODUCER = "ragline test factory"
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "Body"

DEFAULT_HEADER = "ACME Corp — Annual Report 2024"
REPORT_TABLE: tuple[tuple[str, ...], ...] = (
    ("Segment", "Revenue 2024", "Revenue 2023", "Change"),
    ("Industrial", "4,210", "3,985", "5.6%"),
    ("Consumer", "2,875", "2,940", "-2.2%"),
    ("Healthcare", "1,532", "1,301", "17.8%"),
)
SCANNED_TEXT = ("INVOICE 0042", "Harbour Supplies Ltd", "Total due: 1,250.00 EUR")
MARKDOWN_TEXT = """# Field notes

## 1 Weather

The barometer fell to 998 hectopascals before the storm reached the northern ridge.

## 2 Wildlife

A pair of ospreys nested on the old signal mast near the quarry lake.
"""
PLAIN_TEXT = """Maintenance log

The backup generator was tested for forty minutes and carried the full load of the pumping station.
The east filter bed was backwashed twice because turbidity rose above the alert threshold.
"""

# Words that make each generated sentence unique and easy to assert on: page p, sentence i get their own
# topic, number and codename, and no sentence is a substring of another.
_TOPICS = (
    "revenue", "logistics", "research", "staffing", "pensions", "procurement", "compliance", "marketing",
    "treasury", "facilities", "litigation", "sustainability",
)  # fmt: skip
_CODENAMES = (
    "amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel",
    "lagoon", "meadow", "nimbus", "onyx", "prairie", "quartz", "ridge", "sierra", "tundra",
)  # fmt: skip


class ReportPdf(NamedTuple):
    """A written report: its path, and the sentences written on each page (pages numbered from 1)."""

    path: Path
    sentences: dict[int, list[str]]


class _Document(FPDF):
    """An A4 document with a running header and a "Page n of N" footer on every page."""

    def __init__(self, header_text: str | None) -> None:
        super().__init__(format="A4")
        self.header_text = header_text
        self.set_creation_date(FIXED_DATE)
        self.set_producer(PRODUCER)
        self.set_auto_page_break(auto=True, margin=20)
        self.family = _register_fonts(self)
        self.unicode_font = self.family != "helvetica"

    def text_for_font(self, text: str) -> str:
        return text if self.unicode_font else _to_latin1(text)

    def header(self) -> None:
        if self.header_text is None:
            return
        self.set_font(self.family, size=8)
        self.cell(0, 6, self.text_for_font(self.header_text), align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        if self.header_text is None:
            return
        self.set_y(-15)
        self.set_font(self.family, size=8)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str) -> None:
        self.set_font(self.family, style="B", size=13)
        self.cell(0, 9, self.text_for_font(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, size=11)

    def paragraph(self, text: str) -> None:
        self.set_font(self.family, size=11)
        self.multi_cell(0, 6, self.text_for_font(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def table_of(self, rows: Sequence[Sequence[str]]) -> None:
        self.set_font(self.family, size=10)
        with self.table(first_row_as_headings=True) as table:
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.text_for_font(value))
        self.ln(3)


def _register_fonts(pdf: FPDF) -> str:
    """The font family to write with: DejaVu Sans when the system has it (the python machine image does),
    else the core Helvetica, which only covers Latin-1."""
    regular, bold = DEJAVU_DIR / "DejaVuSans.ttf", DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        pdf.add_font(FONT, "", str(regular))
        pdf.add_font(FONT, "B", str(bold))
        return FONT
    return "helvetica"


def _to_latin1(text: str) -> str:
    text = text.replace("—", "-").replace("–", "-").replace("’", "'")
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _fixed_file_id(pdf: FPDF) -> None:
    # fpdf2 derives the trailer /ID from the content and date already; pinning it removes any doubt.
    pdf.file_id = lambda: "<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>"


def report_sentence(page: int, index: int) -> str:
    """The unique sentence number ``index`` (from 0) of page ``page`` (from 1) of a generated report."""
    topic = _TOPICS[(page - 1) % len(_TOPICS)]
    codename = _CODENAMES[(page * 7 + index) % len(_CODENAMES)]
    figure = 1000 + page * 97 + index * 13
    return f"The {topic} team logged {figure} entries under project {codename}-{page}x{index}."


def _default_sentences(pages: int, paragraphs: int, sentences_per_paragraph: int) -> dict[int, list[str]]:
    per_page = paragraphs * sentences_per_paragraph
    return {page: [report_sentence(page, index) for index in range(per_page)] for page in range(1, pages + 1)}


def write_report_pdf(
    directory: Path | str,
    name: str = "report.pdf",
    pages: int = 3,
    header: str | None = DEFAULT_HEADER,
    with_table: bool = True,
    paragraphs: int = 2,
    sentences_per_paragraph: int = 3,
    sentences: Mapping[int, Sequence[str]] | None = None,
) -> ReportPdf:
    """A multi-page report; each page has a numbered heading and paragraphs of sentences unique to that page.

    ``sentences`` (page from 1 -> sentences) replaces the generated ones, and its highest page sets the page count;
    they are grouped into paragraphs of ``sentences_per_paragraph``. Sentences may wrap across lines, so compare
    with whitespace folded. The ``REPORT_TABLE`` goes on page 2 (page 1 of a one-page report), after the
    paragraphs. ``header=None`` drops both the running header and the footer. Raises if the text overflowed a page,
    since the page attribution would then be wrong.
    """
    chosen = {page: list(lines) for page, lines in (sentences or {}).items()}
    if not chosen:
        chosen = _default_sentences(pages, paragraphs, sentences_per_paragraph)
    pages = max(chosen)
    pdf = _Document(header)
    _fixed_file_id(pdf)
    table_page = min(2, pages)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.heading(f"{page} {_TOPICS[(page - 1) % len(_TOPICS)].capitalize()}")
        lines = chosen.get(page, [])
        for start in range(0, len(lines), sentences_per_paragraph):
            pdf.paragraph(" ".join(lines[start : start + sentences_per_paragraph]))
        if with_table and page == table_page:
            pdf.heading(f"{page}.1 Segment results")
            pdf.table_of(REPORT_TABLE)
        if pdf.page_no() != page:
            raise ValueError(f"page {page} overflowed onto page {pdf.page_no()}: write fewer sentences")
    path = Path(directory) / name
    pdf.output(str(path))
    return ReportPdf(path, {page: chosen.get(page, []) for page in range(1, pages + 1)})


def write_empty_file(directory: Path | str, name: str = "empty.pdf") -> Path:
    path = Path(directory) / name
    path.write_bytes(b"")
    return path


def write_truncated_pdf(directory: Path | str, name: str = "truncated.pdf") -> Path:
    """A valid three-page report cut in half: the header is there, the cross-reference table is not."""
    whole = write_report_pdf(directory, name=name, pages=3).path
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])
    return whole


def _best_encryption() -> EncryptionMethod:
    # AES needs the optional `cryptography` package; RC4 is built into fpdf2 and every reader opens it.
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return EncryptionMethod.RC4
    return EncryptionMethod.AES_256


def _encrypted_report(
    directory: Path | str, name: str, owner_password: str, user_password: str, permissions: AccessPermission
) -> Path:
    pdf = _Document(DEFAULT_HEADER)
    for page in (1, 2):
        pdf.add_page()
        pdf.heading(f"{page} Confidential")
        pdf.paragraph(" ".join(report_sentence(page, index) for index in range(3)))
    pdf.set_encryption(
        owner_password=owner_password,
        user_password=user_password,
        encryption_method=_best_encryption(),
        permissions=permissions,
    )
    path = Path(directory) / name
    pdf.output(str(path))
    return path


def write_encrypted_pdf(directory: Path | str, name: str = "encrypted.pdf", user_password: str = "s3cret") -> Path:
    """A PDF that cannot be opened without ``user_password``: the one kind of encryption that must fail ingest."""
    return _encrypted_report(directory, name, "owner-" + user_password, user_password, AccessPermission.all())


def write_owner_only_encrypted_pdf(directory: Path | str, name: str = "owner-only.pdf") -> Path:
    """Encrypted with an owner password and an empty user password, copying forbidden, like many SEC filings.

    Every reader opens it without a password, so it must ingest normally. Its pages carry
    ``report_sentence(page, i)`` for pages 1-2 and i in 0-2.
    """
    return _encrypted_report(directory, name, "owner-secret", "", AccessPermission.PRINT_LOW_RES)


def write_not_a_pdf(directory: Path | str, name: str = "notes.pdf") -> Path:
    path = Path(directory) / name
    path.write_text("These are meeting notes saved with the wrong extension.\nNothing here is a PDF.\n")
    return path


def _scanned_page_png() -> bytes:
    """An A4 page at 100 dpi, greyscale, with ``SCANNED_TEXT`` drawn as pixels (OCR could read it, text can't)."""
    from PIL import Image, ImageDraw, ImageFont  # fpdf2 depends on Pillow, so it is always there

    image = Image.new("L", (827, 1169), color=255)
    draw = ImageDraw.Draw(image)
    font_path = DEJAVU_DIR / "DejaVuSans.ttf"
    font = ImageFont.truetype(str(font_path), 36) if font_path.is_file() else ImageFont.load_default(size=36)
    for line_number, line in enumerate(SCANNED_TEXT):
        draw.text((80, 120 + line_number * 70), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_scanned_pdf(directory: Path | str, name: str = "scanned.pdf") -> Path:
    """One page that is only an image: no text layer at all."""
    pdf = _Document(header_text=None)
    _fixed_file_id(pdf)
    pdf.add_page()
    pdf.image(io.BytesIO(_scanned_page_png()), x=0, y=0, w=pdf.w, h=pdf.h)
    path = Path(directory) / name
    pdf.output(str(path))
    return path


def write_unicode_name_pdf(directory: Path | str, name: str = "Rapport annuel – été 2024 (copie).pdf") -> Path:
    """A valid two-page report whose file name has spaces, an en dash, accents and parentheses."""
    return write_report_pdf(directory, name=name, pages=2, header="Rapport annuel — été 2024").path


def write_markdown(directory: Path | str, name: str = "notes.md", text: str = MARKDOWN_TEXT) -> Path:
    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")
    return path


def write_text(directory: Path | str, name: str = "notes.txt", text: str = PLAIN_TEXT) -> Path:
    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")
    return path


def write_filing_pdf(
    directory: Path | str,
    name: str,
    cover: Sequence[str],
    body: Sequence[str],
    title: str | None = None,
) -> Path:
    """A filing-like PDF: a cover page with one line per item of ``cover`` (as an SEC cover prints "FORM 10-Q"
    alone on its line), then one page of ``body`` sentences; ``title`` goes into the PDF's metadata title."""
    pdf = _Document(header_text=None)
    _fixed_file_id(pdf)
    if title is not None:
        pdf.set_title(title)
    pdf.add_page()
    pdf.set_font(pdf.family, size=10)
    for line in cover:
        pdf.cell(0, 6, pdf.text_for_font(line), new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.paragraph(" ".join(body))
    path = Path(directory) / name
    pdf.output(str(path))
    return path
