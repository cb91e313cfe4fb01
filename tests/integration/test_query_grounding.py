"""When the engine answers and what it archives of a question (issue 16: mutation survivors in ragline.query).

Markdown notes and the hashing embedder keep these fast; the similarity threshold is set from the engine's own
search, so the boundary case is exact whatever the embedder.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import pytest

from ragline.bootstrap import build_engine
from ragline.prompt import NOT_FOUND_ANSWER
from ragline.records import PROMPT_ARCHIVE_PREFIX

QUESTION = "When is the Hillcrest pump serviced?"


def _write_note(folder) -> None:
    (folder / "pumps.md").write_text(
        "# Hillcrest pump\n\nThe Hillcrest pump is serviced every May by the site engineer.\n"
    )


def _threshold(engine, value: float) -> None:
    engine.queries._generation = engine.queries._generation.model_copy(update={"min_similarity": value})


@pytest.fixture
def noted(fast_engine, tmp_path):
    _write_note(tmp_path)
    assert not fast_engine.ingest([tmp_path]).failed
    return fast_engine


def test_a_source_exactly_as_similar_as_the_minimum_is_enough_to_answer(noted):
    top = noted.search(QUESTION).top_similarity
    assert 0 < top < 1
    _threshold(noted, top)
    answer = noted.ask(QUESTION)
    assert answer.grounded
    assert answer.text != NOT_FOUND_ANSWER
    _threshold(noted, top + 1e-6)
    assert not noted.ask(QUESTION).grounded


class _SilentGenerator:
    """A generator that writes nothing (an LLM that returned an empty completion)."""

    name = "silent"

    def generate(self, question, sources):
        return ""


def test_an_empty_generation_is_not_a_grounded_answer(settings, hashing_embedder, tmp_path):
    engine = build_engine(settings, embedder=hashing_embedder, generator=_SilentGenerator())
    try:
        _write_note(tmp_path)
        engine.ingest([tmp_path])
        _threshold(engine, -1.0)
        answer = engine.ask(QUESTION)
        assert answer.citations
        assert not answer.grounded
        assert answer.text == NOT_FOUND_ANSWER
    finally:
        engine.close()


def test_the_archived_question_vector_is_its_embedding_to_seven_decimals(noted):
    from ragline.adapters.local.archive import LocalArchive

    noted.search(QUESTION)
    (prompt,) = LocalArchive(noted.settings.archive_dir).read(PROMPT_ARCHIVE_PREFIX)
    expected = noted.embedder.embed([QUESTION])[0]
    assert len(prompt.vector) == len(expected)
    assert max(abs(archived - float(value)) for archived, value in zip(prompt.vector, expected, strict=True)) <= 5e-8
    assert any(0 < abs(value) < 1 for value in prompt.vector)


def test_the_archived_question_names_the_model_that_embedded_it(noted):
    # Drift compares prompts with documents embedded by the same model: a record without its model cannot be placed.
    from ragline.adapters.local.archive import LocalArchive

    noted.search(QUESTION)
    (prompt,) = LocalArchive(noted.settings.archive_dir).read(PROMPT_ARCHIVE_PREFIX)
    assert prompt.model == noted.embedder.model_name


def test_each_search_reports_its_similarities_with_its_mode(noted, caplog):
    with caplog.at_level(logging.INFO, logger="ragline.metrics"):
        noted.search(QUESTION, mode="keyword")
    [line] = [record.getMessage() for record in caplog.records if record.name == "ragline.metrics"]
    assert line.endswith("hits=1 mode=keyword")


class _SimilaritiesUnknown:
    """The engine's retriever, its hits' cosine similarities unknown (NaN: a chunk read back without its vector)."""

    def __init__(self, retriever) -> None:
        self._retriever = retriever

    def retrieve(self, request):
        return [dataclasses.replace(hit, similarity=math.nan) for hit in self._retriever.retrieve(request)]


def test_sources_whose_similarity_is_unknown_are_not_enough_to_answer(noted):
    _threshold(noted, -0.5)
    assert noted.ask(QUESTION).grounded  # the same sources, their similarities known
    noted.queries._retriever = _SimilaritiesUnknown(noted.queries._retriever)
    answer = noted.ask(QUESTION)
    assert answer.citations and not answer.grounded
    assert answer.text == NOT_FOUND_ANSWER
    _threshold(noted, -1.0)  # the lowest threshold refuses nothing: an unknown similarity counts as -1, not below
    assert noted.ask(QUESTION).grounded


class _Clock:
    """`time` as ragline.query reads it: each reading 12.3456 ms after the one before."""

    def __init__(self) -> None:
        self.readings = 0

    def perf_counter(self) -> float:
        self.readings += 1
        return self.readings * 0.0123456


def test_each_step_s_time_is_reported_in_milliseconds_to_the_hundredth(noted, monkeypatch):
    import ragline.query

    monkeypatch.setattr(ragline.query, "time", _Clock())
    answer = noted.ask(QUESTION)
    assert answer.timings_ms == {"embed_ms": 12.35, "retrieve_ms": 12.35, "generate_ms": 12.35}
