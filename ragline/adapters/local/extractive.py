"""The extractive answerer: quotes the retrieved sentences that best answer the question.

It needs no LLM, so it always works, never invents anything, and every sentence it returns
is a verbatim quote followed by the number of its source.

It is meant to cost little beyond the search: embedding every candidate sentence (up to 60) made
`/query` ~8x slower than `/search`. So sentences are ranked by the question's content words, each
weighted by how rare it is among the candidates, plus the similarity of the passage the sentence
comes from, which retrieval already measured. The best few of that ranking can still be embedded and
ranked by meaning (`embedded`); bench/extractive_quality.py measures what that costs and changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragline.chunking import is_table_row, split_sentences
from ragline.model import Citation
from ragline.ports import Embedder
from ragline.text import STOPWORDS

MIN_SENTENCE_WORDS = 4
HEADER_MAX_WORDS = 8
# Cosine alone favours sentences on the topic; the question's own words pick the one that answers.
KEYWORD_WEIGHT = 0.3
# In the shortlist, how much the passage's similarity to the question counts next to the words.
PASSAGE_WEIGHT = 0.5
_WORD = re.compile(r"[a-z0-9]+")
# Only the best sources are worth reading sentence by sentence.
MAX_SOURCES_READ = 4
MAX_SENTENCES_READ = 60
# Sentences embedded per question after the words ranked them; each costs about as much as the question,
# and the words alone kept the answers' quality (bench/RESULTS.md, "Extractive answers"), so none.
SENTENCES_EMBEDDED = 0


@dataclass(frozen=True)
class _Candidate:
    number: int  # the source's [n]
    text: str
    passage_similarity: float
    words: frozenset[str]


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, *, max_sentences: int = 3, embedded: int = SENTENCES_EMBEDDED) -> None:
        self._embedder = embedder
        self._max_sentences = max_sentences
        self._embedded = embedded

    @property
    def name(self) -> str:
        return "extractive"

    def generate(self, question: str, sources: Sequence[Citation]) -> str:
        candidates = _candidate_sentences(sources)
        if not candidates:
            return ""
        question_words = _content_words(question)
        shortlist = _shortlist(question_words, candidates)
        if self._embedded:
            shortlist = self._by_meaning(question, question_words, shortlist[: max(self._embedded, 1)])
        return " ".join(f"{c.text} [{c.number}]" for c in shortlist[: self._max_sentences])

    def _by_meaning(self, question: str, question_words: set[str], shortlist: list[_Candidate]) -> list[_Candidate]:
        # Any embedder: the local one returns a matrix, the remote ones lists of floats.
        vectors = np.asarray(self._embedder.embed([question, *(c.text for c in shortlist)]), np.float32)
        overlap = np.asarray([_overlap(question_words, c.words) for c in shortlist], dtype=np.float32)
        scores = vectors[1:] @ vectors[0] + KEYWORD_WEIGHT * overlap
        return [shortlist[position] for position in np.argsort(-scores, kind="stable")]


def _shortlist(question_words: set[str], candidates: list[_Candidate]) -> list[_Candidate]:
    """Candidates by rare question words they contain, then by how similar their passage is."""
    document_frequency = Counter(word for c in candidates for word in c.words & question_words)
    weight = {word: math.log(1 + len(candidates) / (1 + document_frequency[word])) for word in question_words}
    total = sum(weight.values()) or 1.0

    def score(candidate: _Candidate) -> float:
        matched = sum(weight[word] for word in candidate.words & question_words) / total
        return matched + PASSAGE_WEIGHT * candidate.passage_similarity

    return sorted(candidates, key=score, reverse=True)  # stable: reading order breaks ties


def _candidate_sentences(sources: Sequence[Citation]) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    for source in sources[:MAX_SOURCES_READ]:
        for unit in _answer_units(source.text):
            normalized = " ".join(unit.split())
            # The same sentence from a Markdown and a PDF copy differs only in markup: quote it once.
            key = " ".join(_WORD.findall(normalized.lower()))
            if len(key.split()) >= MIN_SENTENCE_WORDS and key not in seen:
                seen.add(key)
                words = frozenset(_content_words(normalized))
                candidates.append(_Candidate(source.number, normalized, source.similarity, words))
    return candidates[:MAX_SENTENCES_READ]


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


def _overlap(question_words: set[str], sentence_words: frozenset[str]) -> float:
    """Share of the question's content words that the sentence contains."""
    if not question_words:
        return 0.0
    return len(question_words & sentence_words) / len(question_words)
