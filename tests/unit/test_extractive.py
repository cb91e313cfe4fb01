"""The extractive answerer ranks sentences by the question's words without embedding them (issue 13:
/query should cost little beyond /search); embedding a shortlist stays possible."""

from __future__ import annotations

import pytest

from ragline.adapters.local.extractive import HEADER_MAX_WORDS, MIN_SENTENCE_WORDS, ExtractiveAnswerer
from ragline.model import Citation


def source(number: int, text: str, similarity: float = 0.5) -> Citation:
    return Citation(number, f"doc{number}.pdf", f"Doc {number}", (1,), similarity, similarity, text, f"c{number}")


class NoEmbedder:
    model_name, dimension = "none", 3

    def embed(self, texts):
        raise AssertionError("the answerer embedded sentences")


class MarkedEmbedder:
    """Lists of floats, as the remote embedders return: a text containing 'meaning' points at the question."""

    model_name, dimension = "marked", 2

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts):
        self.batches.append(list(texts))
        return [[1.0, 0.0] if "meaning" in text or text.endswith("?") else [0.0, 1.0] for text in texts]


def test_by_default_no_sentence_is_embedded_and_rare_question_words_outweigh_common_ones():
    """Half the question's words either way; the words every sentence has count less than the rare ones."""
    common = " ".join(f"The pump station number {n} was painted last spring." for n in range(1, 6))
    sources = [
        source(1, common, similarity=0.7),
        source(2, "The Hillcrest alarm sounds below 55 psi of suction.", similarity=0.3),
    ]
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate("Hillcrest pump station alarm?", sources)
    assert answer == "The Hillcrest alarm sounds below 55 psi of suction. [2]"


def test_between_sentences_with_the_same_words_the_more_similar_passage_wins():
    same = "The valve is replaced when the seal wears out."
    sources = [source(1, same, similarity=0.2), source(2, same.replace("valve", "valves"), similarity=0.7)]
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate("When is a valve replaced?", sources)
    assert answer.endswith("[2]")


def test_a_shortlist_can_be_embedded_and_ranked_by_meaning():
    embedder = MarkedEmbedder()
    sources = [
        source(1, "The Hillcrest pump station alarm is tested monthly by the crew."),
        source(2, "Its threshold carries the meaning the operators rely on every night."),
    ]
    answer = ExtractiveAnswerer(embedder, max_sentences=1, embedded=2).generate("Hillcrest alarm?", sources)
    assert answer.endswith("[2]"), answer
    assert embedder.batches == [["Hillcrest alarm?", *(s.text for s in sources)]]


@pytest.mark.parametrize("embedded", [1, 2])
def test_only_the_shortlist_is_embedded(embedded):
    embedder = MarkedEmbedder()
    many = [source(n, f"Sentence number {n} mentions the Hillcrest alarm of pump {n}.") for n in range(1, 5)]
    ExtractiveAnswerer(embedder, max_sentences=1, embedded=embedded).generate("Hillcrest alarm?", many)
    [batch] = embedder.batches
    assert len(batch) == 1 + embedded  # the question and as many sentences as asked, of four


def test_a_sentence_of_the_fewest_words_that_count_is_quoted():
    shortest = "Hillcrest pumps failed twice."
    assert len(shortest.split()) == MIN_SENTENCE_WORDS
    answer = ExtractiveAnswerer(NoEmbedder()).generate("Did the Hillcrest pumps fail?", [source(1, shortest)])
    assert answer == "Hillcrest pumps failed twice. [1]"


def test_a_table_row_with_no_titles_above_it_is_quoted_as_it_is():
    rows = "Hillcrest pumps 2 55 61\nMillrace pumps 3 48 52"
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate("Hillcrest pumps?", [source(1, rows)])
    assert answer == "Hillcrest pumps 2 55 61 [1]"


def test_column_titles_as_long_as_titles_may_be_title_the_row_below_them():
    titles = "Station pumps in service and alarm pressure psi"
    assert len(titles.split()) == HEADER_MAX_WORDS
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate(
        "Hillcrest alarm pressure?", [source(1, f"{titles}\nHillcrest 2 55")]
    )
    assert answer == f"{titles}: Hillcrest 2 55 [1]"


def test_titles_after_a_table_title_the_next_table_s_rows():
    # Two tables on one page: the second's column titles follow the first's last row directly.
    page = "Station pumps\nHillcrest 2 3\nAlarm pressure psi\nMillrace 48 52"
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate("Millrace alarm pressure?", [source(1, page)])
    assert answer == "Alarm pressure psi: Millrace 48 52 [1]"
