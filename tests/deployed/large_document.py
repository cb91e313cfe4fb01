"""A synthetic long filing, as Textract would return it: page size and block density from real filings.

Density: the text layers of the first six FinanceBench 10-K/10-Q PDFs (877 pages, read with
pypdfium2) have a median of 545 words and 38 lines per page. Textract's document analysis
returns one WORD block per word and one LINE block per line, plus a PAGE block, one LAYOUT
block per paragraph or heading and TABLE/CELL blocks for tables, each block with its geometry
(bounding box and polygon). So each page here has 38 lines of 14 words (532 words) in six
paragraphs, a section heading every tenth page, a table every tenth page: about 580 blocks and
230 kB of JSON per page, 1.7 million blocks for 3,000 pages.

Every paragraph states a fact that names its page ("fact 1234-2"), so a test can tell that
every page's text reached the index; the last paragraph of each page runs on to the next page
(no full stop, and the next page opens in lower case), so paragraphs cross window boundaries.
"""

from __future__ import annotations

import itertools

from tests.aws.textract_responses import PageContent

LINES_PER_PAGE = 38
WORDS_PER_LINE = 14
PARAGRAPHS_PER_PAGE = 6
_VOCABULARY = [
    "revenue",
    "operating",
    "segment",
    "pumping",
    "station",
    "reservoir",
    "capacity",
    "consolidated",
    "quarter",
    "fiscal",
    "margin",
    "network",
    "treatment",
    "pressure",
    "valve",
    "maintenance",
    "customers",
    "contracts",
    "liability",
    "deferred",
    "income",
    "tax",
    "capital",
    "expenditure",
    "depreciation",
    "water",
    "district",
    "utility",
    "rate",
    "regulatory",
    "filing",
    "commission",
]


def fact(page: int, paragraph: int) -> str:
    return f"fact {page}-{paragraph}"


def _line(page: int, number: int) -> str:
    start = (page * 7 + number * 3) % len(_VOCABULARY)
    words = list(itertools.islice(itertools.cycle(_VOCABULARY), start, start + WORDS_PER_LINE))
    return " ".join(words)


def page(number: int, version: str) -> PageContent:
    """Page `number` of the `version` (a word that every sentence of this version carries)."""
    lines_per_paragraph = LINES_PER_PAGE // PARAGRAPHS_PER_PAGE
    paragraphs: list[str | tuple[str, str]] = []
    if number % 10 == 1:
        paragraphs.append(("LAYOUT_SECTION_HEADER", f"Part {number // 10 + 1} Operations of the {version} district"))
    for index in range(PARAGRAPHS_PER_PAGE):
        opening = "continued from the page before, " if index == 0 and number > 1 else ""
        body = [_line(number, index * lines_per_paragraph + line) for line in range(lines_per_paragraph)]
        body[0] = f"{opening}the {version} report states {fact(number, index)}: {body[0]}"
        ending = "" if index == PARAGRAPHS_PER_PAGE - 1 else "."
        paragraphs.append("\n".join(body) + ending)
    table = [["Metric", "2023", "2024"], ["Revenue", "1,200", "1,350"], ["Costs", "800", "910"]]
    return PageContent(paragraphs=paragraphs, table=table if number % 10 == 5 else None)


def pages(count: int, version: str) -> list[PageContent]:
    return [page(number, version) for number in range(1, count + 1)]
