"""bench.token_share on the demo PDFs: each setting's tokens are what its chunks count, and each lever costs tokens."""

from __future__ import annotations

from pathlib import Path

from bench.token_share import SETTINGS, chunk_tokens
from ragline.config import Settings

DEMO_PDFS = sorted((Path(__file__).resolve().parents[2] / "demo" / "corpus").glob("*.pdf"))


def test_the_header_and_the_overlap_each_add_tokens_and_chunks_never_exceed_the_budget():
    counts = {name: chunk_tokens(DEMO_PDFS, chunking) for name, chunking in SETTINGS.items()}
    tokens = {name: sum(values) for name, values in counts.items()}
    assert tokens["no header"] < tokens["default"]
    assert tokens["no overlap"] < tokens["default"]
    assert tokens["neither"] < min(tokens["no header"], tokens["no overlap"])
    budget = Settings().chunking.max_tokens  # the header included
    assert all(0 < count <= budget for values in counts.values() for count in values)
