"""Page clean-up shared by every extractor: running headers, footers, page numbers, hyphens.

Repeated running headers were found on 93% of the pages of one real manual; left in, they
become the most common "sentence" of the corpus and pollute both BM25 and embeddings.
"""

from __future__ import annotations

import re
from collections import Counter

# How many lines at the top and at the bottom of a page may be running furniture.
EDGE_LINES = 3
# A line counts as furniture when it recurs, digits aside, at the edge of this share of pages.
REPEATED_SHARE = 0.5

_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?\s*$|^\s*[-–—]\s*\d{1,4}\s*[-–—]\s*$",
    re.IGNORECASE,
)
# pypdfium2 writes U+FFFE for a hyphen at the end of a line and joins the lines itself. In real
# filings it stands for a true hyphen ("forward-looking", "Non-GAAP") 757 times against 45 split
# words (bench/RESULTS_extractors.md), so it becomes "-". A soft hyphen (U+00AD, or pdfium's
# U+0002) only ever marks a break inside a word, so it goes.
_HARD_BREAK = re.compile(r"(\w)\ufffe\s*\n\s*(\w)")
_SOFT_BREAK = re.compile(r"(\w)[\u0002\u00ad]\s*\n\s*(\w)")
_SOFT_HYPHENS = re.compile(r"[\u0002\u00ad]")
_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl"})


def join_broken_words(text: str) -> str:
    """Re-join words split at a line break, keep real hyphens, and expand typographic ligatures."""
    text = _HARD_BREAK.sub(r"\1-\2", text)
    text = _SOFT_BREAK.sub(r"\1\2", text)
    return _SOFT_HYPHENS.sub("", text).replace("\ufffe", "-").translate(_LIGATURES)


def _furniture_key(line: str) -> str:
    """Digits vary (page 3, page 4); the rest of a running header does not."""
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _edge_lines(lines: list[str]) -> list[str]:
    content = [line for line in lines if line.strip()]
    if len(content) <= EDGE_LINES * 2:
        return content
    return content[:EDGE_LINES] + content[-EDGE_LINES:]


def find_running_furniture(pages: list[str]) -> set[str]:
    """The normalized lines that recur at the top or bottom of most pages.

    A line qualifies when its exact text recurs ("ACME Corp Annual Report 2024"), or when it
    recurs with only a page number changing ("Page 3 of 40", "40 | Annual Report"): its first
    number then keeps a fixed offset from the page's position. Body lines that merely share a
    shape ("Revenue grew 5%", "Revenue grew 9%") change numbers at random and are kept.
    """
    if len(pages) < 2:
        return set()
    exact: Counter[str] = Counter()
    offsets: dict[str, Counter[int]] = {}
    for position, text in enumerate(pages):
        edge = _edge_lines(text.splitlines())
        exact.update({" ".join(line.lower().split()) for line in edge})
        for line in edge:
            numbers = re.findall(r"\d+", line)
            if numbers:
                offsets.setdefault(_furniture_key(line), Counter())[int(numbers[0][:6]) - position] += 1
    threshold = max(2, int(len(pages) * REPEATED_SHARE + 0.5))
    furniture = {_furniture_key(line) for line, seen in exact.items() if seen >= threshold}
    furniture |= {key for key, counts in offsets.items() if counts.most_common(1)[0][1] >= threshold}
    return {key for key in furniture if key.strip("# ")}


def strip_page_furniture(pages: list[str]) -> list[str]:
    """Remove running headers, footers and bare page numbers from the edges of every page."""
    furniture = find_running_furniture(pages)
    return [_strip_edges(text, furniture) for text in pages]


def _is_furniture(line: str, furniture: set[str]) -> bool:
    return bool(_PAGE_NUMBER.match(line)) or _furniture_key(line) in furniture


def _strip_edges(text: str, furniture: set[str]) -> str:
    lines = text.splitlines()
    content_positions = [position for position, line in enumerate(lines) if line.strip()]
    edges = set(content_positions[:EDGE_LINES] + content_positions[-EDGE_LINES:])
    kept = [line for position, line in enumerate(lines) if position not in edges or not _is_furniture(line, furniture)]
    return "\n".join(kept).strip()
