"""Textract `GetDocumentAnalysis` responses built from known page text, in Textract's real block shapes.

moto's async Textract returns whatever blocks it is given (`TextractBackend.BLOCKS`), and the
Stubber tests replay pages of a response: both need blocks that look like Textract's own. Each
page becomes a PAGE block, each line a LINE with its WORDs and a LAYOUT block (a running header
or page number is labelled so, as Textract's layout model labels them), and a table becomes
TABLE and CELL blocks.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

PAGE_NUMBER = re.compile(r"^page \d+ of \d+$", re.IGNORECASE)
LINE_HEIGHT = 0.02
LEFT = 0.1
WIDTH = 0.8


@dataclass
class PageContent:
    """One page: paragraphs (their lines joined by newlines), then an optional table and footer."""

    paragraphs: list[str | tuple[str, str]]  # text, or (layout type, text) e.g. ("LAYOUT_SECTION_HEADER", ...)
    header: str | None = None  # a running header, labelled LAYOUT_HEADER
    table: Sequence[Sequence[str]] | None = None
    footer: str | None = None  # e.g. "Page 2 of 4", labelled LAYOUT_PAGE_NUMBER


def _geometry(top: float, left: float = LEFT, width: float = WIDTH, height: float = LINE_HEIGHT) -> dict:
    box = {"Width": width, "Height": height, "Left": left, "Top": top}
    polygon = [
        {"X": left, "Y": top},
        {"X": left + width, "Y": top},
        {"X": left + width, "Y": top + height},
        {"X": left, "Y": top + height},
    ]
    return {"BoundingBox": box, "Polygon": polygon}


class _Builder:
    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.by_id: dict[str, dict] = {}  # a long document has millions of blocks: no linear lookups
        self._ids = (f"block-{number:06d}" for number in itertools.count())

    def add(self, block_type: str, page: int, top: float, children: Sequence[str] = (), **fields) -> str:
        block = {"BlockType": block_type, "Id": next(self._ids), "Page": page, "Confidence": 99.0, **fields}
        block.setdefault("Geometry", _geometry(top))
        if children:
            block["Relationships"] = [{"Type": "CHILD", "Ids": list(children)}]
        self.blocks.append(block)
        self.by_id[block["Id"]] = block
        return block["Id"]

    def line(self, page: int, top: float, text: str, left: float = LEFT, width: float = WIDTH) -> str:
        words = text.split()
        step = width / max(len(words), 1)
        word_ids = [
            self.add("WORD", page, top, Text=word, TextType="PRINTED", Geometry=_geometry(top, left + i * step, step))
            for i, word in enumerate(words)
        ]
        return self.add("LINE", page, top, word_ids, Text=text, Geometry=_geometry(top, left, width))

    def table(self, page: int, top: float, rows: Sequence[Sequence[str]]) -> tuple[str, float]:
        columns = len(rows[0])
        width = WIDTH / columns
        cells = []
        for row_index, row in enumerate(rows, start=1):
            for column_index, text in enumerate(row, start=1):
                cell_top = top + (row_index - 1) * LINE_HEIGHT
                cell_left = LEFT + (column_index - 1) * width
                line_id = self.line(page, cell_top, text, cell_left, width)
                words = self.by_id[line_id]["Relationships"][0]["Ids"]
                entity = ["COLUMN_HEADER"] if row_index == 1 else []
                cells.append(
                    self.add(
                        "CELL", page, cell_top, words, RowIndex=row_index, ColumnIndex=column_index, RowSpan=1,
                        ColumnSpan=1, EntityTypes=entity, Geometry=_geometry(cell_top, cell_left, width),
                    )
                )  # fmt: skip
        height = len(rows) * LINE_HEIGHT
        table_id = self.add(
            "TABLE", page, top, cells, EntityTypes=["STRUCTURED_TABLE"], Geometry=_geometry(top, height=height)
        )
        return table_id, top + height


def analysis_blocks(pages: Sequence[PageContent]) -> list[dict]:
    """Every block of a document analysis (LAYOUT and TABLES features) of these pages."""
    builder = _Builder()
    for number, content in enumerate(pages, start=1):
        children: list[str] = []
        top = 0.05
        labelled = [("LAYOUT_HEADER", content.header)] if content.header else []
        labelled += [("LAYOUT_TEXT", item) if isinstance(item, str) else item for item in content.paragraphs]
        for layout, text in labelled:
            start = top
            line_ids = []
            for line in text.splitlines():
                line_ids.append(builder.line(number, top, line))
                top += LINE_HEIGHT
            height = top - start
            children += [
                *line_ids,
                builder.add(layout, number, start, line_ids, Geometry=_geometry(start, height=height)),
            ]
            top += LINE_HEIGHT
        if content.table:
            start = top
            table_id, top = builder.table(number, top, content.table)
            layout_id = builder.add(
                "LAYOUT_TABLE", number, start, [table_id], Geometry=_geometry(start, height=top - start)
            )
            children += [table_id, layout_id]
        if content.footer:
            line_id = builder.line(number, 0.95, content.footer)
            layout = "LAYOUT_PAGE_NUMBER" if PAGE_NUMBER.match(content.footer) else "LAYOUT_FOOTER"
            children += [line_id, builder.add(layout, number, 0.95, [line_id])]
        builder.add("PAGE", number, 0.0, children, Geometry=_geometry(0.0, 0.0, 1.0, 1.0))
    # Textract lists each PAGE before its content: move the PAGE blocks up front of their page.
    return sorted(builder.blocks, key=lambda block: (block["Page"], block["BlockType"] != "PAGE"))


def paged_responses(blocks: Sequence[dict], page_size: int, pages: int) -> list[dict]:
    """The blocks split over several GetDocumentAnalysis responses, chained by NextToken."""
    chunks = [list(blocks[start : start + page_size]) for start in range(0, len(blocks), page_size)]
    responses = []
    for index, chunk in enumerate(chunks):
        response = {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": pages},
            "Blocks": chunk,
            "AnalyzeDocumentModelVersion": "1.0",
        }
        if index + 1 < len(chunks):
            response["NextToken"] = f"token-{index + 1}"
        responses.append(response)
    return responses


_HEADING = re.compile(r"^\d+(?:\.\d+)* [A-Z]")


def pages_from_pdf(data: bytes, table: Sequence[Sequence[str]] = ()) -> list[PageContent]:
    """What Textract would see on each page of a text PDF: its real lines, laid out as Textract labels them.

    The first line of a page is its running header when every page starts with it; a
    "Page n of N" last line is the page number; lines that are rows of `table` become a TABLE;
    numbered lines ("2.1 Segment results") are section headers; other lines are grouped into
    paragraphs that end with a full stop.
    """
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        texts = [pdf[index].get_textpage().get_text_range() for index in range(len(pdf))]
    finally:
        pdf.close()
    pages = [[line.strip() for line in text.splitlines() if line.strip()] for text in texts]
    firsts = {lines[0] for lines in pages if lines}
    header = firsts.pop() if len(pages) > 1 and len(firsts) == 1 else None
    rows = {" ".join(row): row for row in table}
    contents = []
    for lines in pages:
        content = PageContent(paragraphs=[], header=header)
        body = lines[1:] if header else lines
        if body and PAGE_NUMBER.match(body[-1]):
            content.footer, body = body[-1], body[:-1]
        found_rows = [rows[line] for line in body if line in rows]
        if found_rows:
            content.table = found_rows
        paragraph: list[str] = []
        for line in (line for line in body if line not in rows):
            if _HEADING.match(line) and not paragraph:
                content.paragraphs.append(("LAYOUT_SECTION_HEADER", line))
                continue
            paragraph.append(line)
            if line.endswith("."):
                content.paragraphs.append("\n".join(paragraph))
                paragraph = []
        if paragraph:
            content.paragraphs.append("\n".join(paragraph))
        contents.append(content)
    return contents
