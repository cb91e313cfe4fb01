"""Each quoted sentence cites the source it was quoted from (issue 16: an extractive answer citing [1]
on every sentence passed every test)."""

from __future__ import annotations

import re

from ragline.adapters.local.extractive import ExtractiveAnswerer
from ragline.model import Citation


def source(number: int, text: str, similarity: float = 0.5) -> Citation:
    return Citation(
        number, f"/docs/{number}.pdf", f"Doc {number}", (number,), similarity, similarity, text, f"c{number}"
    )


class NoEmbedder:
    model_name, dimension = "none", 3

    def embed(self, texts):
        raise AssertionError("no sentence is embedded with embedded=0")


def _quotes(answer: str) -> list[tuple[str, int]]:
    return [(text.strip(), int(number)) for text, number in re.findall(r"(.+?) \[(\d+)\]", answer)]


QUESTION = "What are the Hillcrest alarm threshold, the Ridgeway valve interval and the Lakeside crew?"
SOURCES = [
    source(1, "Chickadees sing a two-note song in spring. The Lakeside crew has four operators on call."),
    source(2, "The Ridgeway valve interval is six months between inspections."),
    source(3, "The Hillcrest alarm threshold is 55 psi of suction pressure."),
]


def test_every_quoted_sentence_carries_the_number_of_its_own_source():
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=3, embedded=0).generate(QUESTION, SOURCES)
    quotes = _quotes(answer)
    assert sorted(quotes, key=lambda quote: quote[1]) == [
        ("The Lakeside crew has four operators on call.", 1),
        ("The Ridgeway valve interval is six months between inspections.", 2),
        ("The Hillcrest alarm threshold is 55 psi of suction pressure.", 3),
    ]
    assert answer.count("[") == 3


def test_max_sentences_bounds_the_quotes_and_the_rest_are_left_out():
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=2, embedded=0).generate(QUESTION, SOURCES)
    assert len(_quotes(answer)) == 2
    assert "Chickadees" not in answer


def test_the_same_sentence_in_two_sources_is_quoted_once_with_the_first_sources_number():
    sentence = "The Hillcrest alarm threshold is 55 psi of suction pressure."
    sources = [source(1, sentence), source(2, f"**{sentence}**"), source(3, "Nothing relevant is said here at all.")]
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=3, embedded=0).generate(
        "Hillcrest alarm threshold?", sources
    )
    assert [number for text, number in _quotes(answer) if "Hillcrest" in text] == [1]


def test_sentences_too_short_to_answer_are_never_quoted():
    sources = [source(1, "Hillcrest alarm. See below."), source(2, "The Hillcrest alarm sounds below 55 psi.")]
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=3, embedded=0).generate("Hillcrest alarm?", sources)
    assert _quotes(answer) == [("The Hillcrest alarm sounds below 55 psi.", 2)]


def test_no_sources_no_answer():
    assert ExtractiveAnswerer(NoEmbedder(), embedded=0).generate("Hillcrest alarm?", []) == ""


# --- how the question's words and the passage's similarity are weighed -------------------------------


def test_one_question_word_of_five_does_not_outrank_the_passage_retrieval_found_most_similar():
    # The words count as a share of the question's (rarity-weighted) words, so one word of five from
    # a passage retrieval barely matched weighs less than the passage retrieval matched best.
    sources = [
        source(1, "The Hillcrest crew painted the fence on Monday.", similarity=0.1),
        source(2, "The station manual covers every routine inspection task.", similarity=0.9),
    ]
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1, embedded=0).generate(
        "Hillcrest alarm threshold suction pressure?", sources
    )
    assert _quotes(answer) == [("The station manual covers every routine inspection task.", 2)]


class CloseEmbedder:
    """The question at (1, 0); the sentence about painting exactly on it, the alarm sentence at cosine 0.9."""

    model_name, dimension = "close", 2

    def embed(self, texts):
        return [[0.9, 0.19**0.5] if "tested" in text else [1.0, 0.0] for text in texts]


def test_among_embedded_sentences_the_one_holding_all_the_question_words_beats_a_slightly_closer_one():
    sources = [
        source(1, "The Hillcrest alarm is tested monthly by the crew."),
        source(2, "The Hillcrest crew painted the fence on Monday."),
    ]
    answer = ExtractiveAnswerer(CloseEmbedder(), max_sentences=1, embedded=2).generate("Hillcrest alarm?", sources)
    assert _quotes(answer) == [("The Hillcrest alarm is tested monthly by the crew.", 1)]
