"""Render the demo corpus: demo/sources/*.md -> demo/corpus/*.pdf, byte for byte reproducible.

The sources are original texts written for ragline (redistributable with it). The renderer understands just the
Markdown this corpus uses:

* a front matter block (``title``, ``subtitle``, ``meta``, ``header``, ``footer``, ``output``);
* ``## N Title`` starts a new page (so a section's page is predictable) and ``### N.M Title`` a sub-heading;
* paragraphs, ``- `` bullets, ``1. `` numbered steps, pipe tables, ``**bold**``, ``*italic*`` and ``&shy;``
  (a soft hyphen: fpdf2 breaks the word there with a visible hyphen if it falls at a line end).

Every page gets the running header and a "Page n of N" footer, which an ingester must strip. The creation date,
producer and file id are fixed, so re-running gives identical bytes.

Usage:
    .venv/bin/python demo/make_corpus.py           # render every source
    .venv/bin/python demo/make_corpus.py --check   # render, then check demo/questions_expected.json against it

``questions_expected.json`` maps each demo question to the file and the 1-based page that answers it, plus a
phrase from that page (``evidence``) so the mapping can be verified.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

DEMO_DIR = Path(__file__).resolve().parent
SOURCE_DIR = DEMO_DIR / "sources"  # outside corpus/, so the demo ingests only the PDFs
OUTPUT_DIR = DEMO_DIR / "corpus"
EXPECTED_PATH = DEMO_DIR / "questions_expected.json"

FIXED_DATE = dt.datetime(2025, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
PRODUCER = "ragline demo corpus (fpdf2)"
FIXED_FILE_ID = "<5241474C494E4544454D4F434F525055><5241474C494E4544454D4F434F525055>"
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {
    ("Serif", ""): "DejaVuSerif.ttf",
    ("Serif", "B"): "DejaVuSerif-Bold.ttf",
    ("Serif", "I"): "DejaVuSerif-Italic.ttf",
    ("Serif", "BI"): "DejaVuSerif-BoldItalic.ttf",
    ("Sans", ""): "DejaVuSans.ttf",
    ("Sans", "B"): "DejaVuSans-Bold.ttf",
}
BODY_SIZE = 10.5
LINE_HEIGHT = 5.4
INK = (33, 37, 41)
ACCENT = (31, 78, 121)
MUTED = (110, 117, 125)


@dataclass
class Block:
    kind: str  # section, subsection, paragraph, bullet, step, table
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    meta: dict[str, str]
    blocks: list[Block]


# --------------------------------------------------------------------------- parsing


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    match = re.match(r"---\n(.*?)\n---\n", text, flags=re.DOTALL)
    if not match:
        raise ValueError("a demo source must start with a --- front matter block ---")
    meta = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    return meta, text[match.end() :]


def table_rows(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):  # skip the |---| separator
            rows.append(cells)
    return rows


def parse_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        lines = [line.rstrip() for line in chunk.splitlines() if line.strip()]
        if lines[0].startswith("## "):
            blocks.append(Block("section", lines[0][3:]))
        elif lines[0].startswith("### "):
            blocks.append(Block("subsection", lines[0][4:]))
        elif lines[0].startswith("|"):
            blocks.append(Block("table", rows=table_rows(lines)))
        elif lines[0].startswith("- "):
            blocks.extend(Block("bullet", line[2:]) for line in lines)
        elif re.match(r"\d+\. ", lines[0]):
            blocks.extend(Block("step", line) for line in lines)
        else:
            blocks.append(Block("paragraph", " ".join(lines)))
    return blocks


def to_fpdf_markup(text: str) -> str:
    """Our Markdown inline styles to fpdf2's markdown (``**bold**``, ``__italic__``), and the soft hyphen."""
    text = text.replace("&shy;", "\u00ad")
    return re.sub(r"(?<!\*)\*([^*]+)\*(?!\*)", r"__\1__", text)


def load_source(path: Path) -> Source:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    return Source(meta, parse_blocks(body))


# --------------------------------------------------------------------------- rendering


class CorpusDocument(FPDF):
    def __init__(self, meta: dict[str, str]) -> None:
        super().__init__(format="A4")
        self.meta = meta
        self.set_margins(left=22, top=18, right=22)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_creation_date(FIXED_DATE)
        self.set_producer(PRODUCER)
        self.set_title(meta["title"] + " — " + meta["subtitle"])
        self.set_lang("es" if meta["footer"] == "Página" else "en")
        self.file_id = lambda: FIXED_FILE_ID  # the default id is derived from content and date; pin it anyway
        for (family, style), filename in FONT_FILES.items():
            self.add_font(family, style, str(DEJAVU_DIR / filename))

    def header(self) -> None:
        self.set_font("Sans", size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.meta["header"], align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*MUTED)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(7)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Sans", size=8)
        self.set_text_color(*MUTED)
        label = "de" if self.meta["footer"] == "Página" else "of"
        self.cell(0, 8, f"{self.meta['footer']} {self.page_no()} {label} {{nb}}", align="C")

    def title_block(self) -> None:
        self.set_font("Sans", style="B", size=20)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 10, self.meta["title"], new_x="LMARGIN", new_y="NEXT")
        self.set_font("Sans", size=13)
        self.multi_cell(0, 7, self.meta["subtitle"], new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_font("Serif", style="I", size=9)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 5, self.meta["meta"], new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.ln(6)

    def section(self, text: str) -> None:
        self.set_font("Sans", style="B", size=14)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.ln(2)

    def subsection(self, text: str) -> None:
        self.ln(1)
        self.set_font("Sans", style="B", size=11.5)
        self.multi_cell(0, 6.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def paragraph(self, text: str, indent: float = 0, bullet: str = "") -> None:
        self.set_font("Serif", size=BODY_SIZE)
        if bullet:
            self.set_x(self.l_margin + indent - 5)
            self.cell(5, LINE_HEIGHT, bullet)
        self.set_x(self.l_margin + indent)
        width = self.w - self.r_margin - self.get_x()
        self.multi_cell(width, LINE_HEIGHT, to_fpdf_markup(text), align="J", markdown=True)
        self.set_x(self.l_margin)
        self.ln(2.5 if not bullet else 1)

    def table_of(self, rows: list[list[str]]) -> None:
        self.ln(1)
        self.set_font("Sans", size=9)
        headings = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT)
        with self.table(
            headings_style=headings,
            cell_fill_color=(236, 241, 246),
            cell_fill_mode="ROWS",
            line_height=6,
            col_widths=(1.6,) + (1.0,) * (len(rows[0]) - 1),  # the label column needs the room
            text_align=["LEFT"] + ["RIGHT"] * (len(rows[0]) - 1),
        ) as table:
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.ln(4)


def render(source: Source) -> CorpusDocument:
    pdf = CorpusDocument(source.meta)
    pdf.add_page()
    pdf.title_block()
    first_section = True
    for block in source.blocks:
        if block.kind == "section":
            if not first_section:
                pdf.add_page()  # every top-level section starts a page: citations land on predictable pages
            first_section = False
            pdf.section(block.text)
        elif block.kind == "subsection":
            pdf.subsection(block.text)
        elif block.kind == "paragraph":
            pdf.paragraph(block.text)
        elif block.kind == "bullet":
            pdf.paragraph(block.text, indent=6, bullet="•")
        elif block.kind == "step":
            number, _, text = block.text.partition(" ")
            pdf.paragraph(text, indent=7, bullet=number)
        elif block.kind == "table":
            pdf.table_of(block.rows)
    return pdf


def build_all() -> list[Path]:
    written = []
    for source_path in sorted(SOURCE_DIR.glob("*.md")):
        source = load_source(source_path)
        output = OUTPUT_DIR / source.meta["output"]
        render(source).output(str(output))
        written.append(output)
    return written


# --------------------------------------------------------------------------- checking


def page_texts(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return [re.sub(r"\s+", " ", page.get_textpage().get_text_range()) for page in document]
    finally:
        document.close()


def check_expected() -> list[str]:
    """Each expected evidence phrase must be on the stated page and on no other page of that file."""
    problems = []
    for question, expected in json.loads(EXPECTED_PATH.read_text(encoding="utf-8")).items():
        texts = page_texts(OUTPUT_DIR / expected["file"])
        pages = [number for number, text in enumerate(texts, start=1) if expected["evidence"] in text]
        if pages != [expected["page"]]:
            problems.append(f"{question!r}: evidence found on pages {pages}, expected [{expected['page']}]")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the ragline demo corpus.")
    parser.add_argument("--check", action="store_true", help="verify questions_expected.json after rendering")
    args = parser.parse_args(argv)
    if not (DEJAVU_DIR / "DejaVuSerif.ttf").is_file():
        print(f"needs the DejaVu fonts in {DEJAVU_DIR} (Debian: fonts-dejavu-core, fonts-dejavu-extra)")
        return 1
    for path in build_all():
        print(f"{path.relative_to(DEMO_DIR)}: {len(page_texts(path))} pages, {path.stat().st_size:,} bytes")
    if args.check:
        problems = check_expected()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
