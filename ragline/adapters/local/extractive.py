"""The extractive answerer: quotes the retrieved sentences that best answer the question.

It needs no LLM, so it always works, never invents anything, and every sentence it returns
is a verbatim quote followed by the number of its source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ragline.chunking import is_table_row, split_sentences
from ragline.model import Citation
from ragline.ports import Embedder
from ragline.text import STOPWORDS

MIN_SENTENCE_WORDS = 4
HEADER_MAX_WORDS = 8
# Cosine alone favours sentences on the topic; the question's own words pick the one that answers.
KEYWORD_WEIGHT = 0.3
_WORD = re.compile(r"[a-z0-9]+")
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
        # Any embedder: the local one returns a matrix, the remote ones lists of floats.
        vectors = np.asarray(self._embedder.embed([question, *(sentence for _, sentence in candidates)]), np.float32)
        question_words = _content_words(question)
        overlap = np.asarray([_overlap(question_words, sentence) for _, sentence in candidates], dtype=np.float32)
        scores = vectors[1:] @ vectors[0] + KEYWORD_WEIGHT * overlap
        best = np.argsort(-scores, kind="stable")[: self._max_sentences]
        return " ".join(f"{candidates[position][1]} [{candidates[position][0]}]" for position in best)


def _candidate_sentences(sources: Sequence[Citation]) -> list[tuple[int, str]]:
    candidates: list[tuple[int, str]] = []
    seen: set[str] = set()
    for source in sources[:MAX_SOURCES_READ]:
        for unit in _answer_units(source.text):
            normalized = " ".join(unit.split())
            # The same sentence from a Markdown and a PDF copy differs only in markup: quote it once.
            key = " ".join(_WORD.findall(normalized.lower()))
            if len(key.split()) >= MIN_SENTENCE_WORDS and key not in seen:
                seen.add(key)
                candidates.append((source.number, normalized))
    return candidates[:MAX_SENTENCES_SCORED]


def _answer_units(text: str) -> list[str]:
    """Sentences, and table rows prefixed by their column titles ("Station Pumps ...: Hillcrest 2 ...").

    A bare row of figures answers nothing on its own; the short untitled lines just above it
    are its column headers, which are not answers either and are not offered alone.
    """
    units: list[str] = []
    header: list[str] = []
    pending: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        if is_table_row(line):
            header = pending or header
            pending = []
            units.append(f"{' '.join(header)}: {line}" if header else line)
        elif len(line.split()) <= HEADER_MAX_WORDS and not line.endswith("."):
            pending.append(line)
        else:
            header, pending = [], []
            units.extend(split_sentences(line))
    return units


def _content_words(text: str) -> set[str]:
    return {word.rstrip("s") for word in _WORD.findall(text.lower()) if word not in STOPWORDS}


def _overlap(question_words: set[str], sentence: str) -> float:
    """Share of the question's content words that the sentence contains."""
    if not question_words:
        return 0.0
    return len(question_words & _content_words(sentence)) / len(question_words)
