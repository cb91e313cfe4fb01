"""The extractive answerer: quotes the retrieved sentences that best answer the question.

It needs no LLM, so it always works, never invents anything, and every sentence it returns
is a verbatim quote followed by the number of its source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragline.chunking import split_sentences
from ragline.model import Citation
from ragline.ports import Embedder

MIN_SENTENCE_WORDS = 4
# Only the best sources are worth reading sentence by sentence; it bounds the embedding cost.
MAX_SOURCES_READ = 4
MAX_SENTENCES_SCORED = 60


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, *, max_sentences: int = 3) -> None:
        self._embedder = embedder
        self._max_sentences = max_sentences

    @property
    def name(self) -> str:
        return "extractive"

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        candidates = _candidate_sentences(sources)
        if not candidates:
            return ""
        vectors = self._embedder.embed([question, *(sentence for _, sentence in candidates)])
        similarities = vectors[1:] @ vectors[0]
        best = np.argsort(-similarities, kind="stable")[: self._max_sentences]
        return " ".join(f"{candidates[position][1]} [{candidates[position][0]}]" for position in best)


def _candidate_sentences(sources: Sequence[Citation]) -> list[tuple[int, str]]:
    candidates: list[tuple[int, str]] = []
    seen: set[str] = set()
    for source in sources[:MAX_SOURCES_READ]:
        # Lines first: a table row is its own "sentence", never glued to the paragraph after it.
        sentences = (sentence for line in source.text.splitlines() for sentence in split_sentences(line))
        for sentence in sentences:
            normalized = " ".join(sentence.split())
            if len(normalized.split()) >= MIN_SENTENCE_WORDS and normalized not in seen:
                seen.add(normalized)
                candidates.append((source.number, normalized))
    return candidates[:MAX_SENTENCES_SCORED]
