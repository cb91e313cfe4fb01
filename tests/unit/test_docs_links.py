"""Every relative link in README.md and docs/*.md points to a file (and heading) that exists.

Links are read with markdown-it (already installed through rich), so text inside code blocks and
inline code is never mistaken for a link. External links (http, https, mailto) are not fetched.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def links(markdown: str) -> list[str]:
    """The target of every link and image in `markdown`, in order."""
    targets = []
    for block in MarkdownIt("commonmark").parse(markdown):
        for token in block.children or []:
            if token.type == "link_open":
                targets.append(token.attrs["href"])
            elif token.type == "image":
                targets.append(token.attrs["src"])
    return targets


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    return {anchor(tokens[i + 1].content) for i, token in enumerate(tokens) if token.type == "heading_open"}


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file, or whose #heading in a Markdown file, does not exist."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # external: not checked here
        path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif parts.fragment and path.suffix == ".md" and parts.fragment not in anchors(path):
            broken.append(f"{target}: no heading #{parts.fragment}")
    return broken


def test_the_pages_to_check_exist():
    assert (REPO / "README.md") in PAGES and len(PAGES) > 1, PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_points_to_an_existing_file(page: Path):
    assert broken_links(page) == []


def test_a_broken_link_is_reported(tmp_path: Path):
    (tmp_path / "there.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#a-heading) [web](https://example.com/x)\n"
        "[gone](missing.md) [bad anchor](there.md#nowhere)\n\n"
        "```\n[in code](also-missing.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md: no such file", "there.md#nowhere: no heading #nowhere"]
