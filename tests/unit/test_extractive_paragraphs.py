"""A passage is read whole: text extracted from a PDF separates paragraphs with blank lines, and the
sentence that answers can sit in any of them (issue 16)."""

from __future__ import annotations

from ragline.adapters.local.extractive import ExtractiveAnswerer
from ragline.model import Citation


def source(number: int, text: str) -> Citation:
    return Citation(number, f"/docs/{number}.pdf", f"Doc {number}", (1, 2), 0.5, 0.5, text, f"c{number}")


class NoEmbedder:
    model_name, dimension = "none", 3

    def embed(self, texts):
        raise AssertionError("no sentence is embedded by default")


def test_the_answer_can_come_from_a_paragraph_after_a_blank_line():
    passage = (
        "Chickadees sing a two-note song in spring.\n"
        "\n"
        "   \n"
        "The Hillcrest alarm threshold is 55 psi of suction pressure."
    )
    answer = ExtractiveAnswerer(NoEmbedder(), max_sentences=1).generate(
        "What is the Hillcrest alarm threshold?", [source(1, passage)]
    )
    assert answer == "The Hillcrest alarm threshold is 55 psi of suction pressure. [1]"


def test_a_passage_that_opens_with_blank_lines_is_still_quoted():
    passage = "\n\nThe Ridgeway valve interval is six months between inspections."
    answer = ExtractiveAnswerer(NoEmbedder()).generate("What is the Ridgeway valve interval?", [source(2, passage)])
    assert answer == "The Ridgeway valve interval is six months between inspections. [2]"
