"""Questions through the real engine (packaged MiniLM), on generated reports."""

import pytest

from ragline.errors import InvalidQueryError
from ragline.filters import SearchFilter
from ragline.records import PROMPT_ARCHIVE_PREFIX
from tests import pdf_factory

PUMPS = {
    1: ["The Hillcrest pump station raises a low-pressure alarm below 55 psi.", "Operators respond within 15 minutes."],
    2: ["Chlorine dosing at the Lakeside plant is set to 1.2 milligrams per litre.", "Dosing is checked every shift."],
}
BIRDS = {1: ["Black-capped chickadees sing a clear two-note fee-bee song.", "Carolina chickadees sing four notes."]}


@pytest.fixture
def indexed(engine, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pdf_factory.write_report_pdf(folder, name="water.pdf", sentences=PUMPS, header="Riverbend Water Runbook")
    pdf_factory.write_report_pdf(folder, name="birds.pdf", sentences=BIRDS, header="Field Guide", with_table=False)
    report = engine.ingest([folder], tags=["test"])
    assert not report.failed
    return engine


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_each_mode_cites_the_right_file_and_page(indexed, mode):
    answer = indexed.ask("What is the chlorine dose at Lakeside?", mode=mode, k=3)
    top = answer.citations[0]
    assert top.source.endswith("/water.pdf")
    assert 2 in top.pages
    assert answer.grounded
    assert "1.2 milligrams" in answer.text
    assert "[1]" in answer.text


def test_scores_have_their_documented_meaning(indexed):
    dense = indexed.ask("chickadee song", mode="dense", k=3)
    assert all(citation.score == pytest.approx(citation.similarity, abs=1e-5) for citation in dense.citations)
    hybrid = indexed.ask("chickadee song", mode="hybrid", k=3)
    assert all(0 < citation.score <= 1 for citation in hybrid.citations)
    assert [citation.score for citation in hybrid.citations] == sorted(
        (c.score for c in hybrid.citations), reverse=True
    )
    assert all(-1 <= citation.similarity <= 1 for citation in hybrid.citations)


def test_filters_restrict_the_sources(indexed):
    answer = indexed.ask("What is the chlorine dose?", where=SearchFilter(source="birds.pdf"))
    assert {citation.source.rsplit("/", 1)[-1] for citation in answer.citations} == {"birds.pdf"}


def test_an_unrelated_question_is_not_answered_from_weak_sources(indexed):
    indexed.queries._generation = indexed.queries._generation.model_copy(update={"min_similarity": 0.9})
    answer = indexed.ask("What is the chlorine dose at Lakeside?")
    assert not answer.grounded
    assert answer.text == "The indexed documents do not appear to answer this question."


def test_every_question_is_archived_with_its_embedding(indexed):
    from ragline.adapters.local.archive import LocalArchive

    indexed.ask("chickadee song")
    indexed.ask("chlorine dose")
    prompts = list(LocalArchive(indexed.settings.archive_dir).read(PROMPT_ARCHIVE_PREFIX))
    assert len(prompts) == 2
    assert len({prompt.id for prompt in prompts}) == 2
    assert all(len(prompt.vector) == 384 for prompt in prompts)


@pytest.mark.parametrize(
    ("question", "options", "message"),
    [("", {}, "question: must not be empty"), ("x" * 3000, {}, "more than the limit"), ("ok?", {"k": 0}, "k: 0"),
     ("ok?", {"mode": "fuzzy"}, "mode: 'fuzzy'")],
)  # fmt: skip
def test_bad_questions_are_refused_with_the_field_named(indexed, question, options, message):
    with pytest.raises(InvalidQueryError, match=message):
        indexed.ask(question, **options)


def test_a_question_at_the_length_limit_is_taken_one_character_more_is_not_and_blank_is_said_so(fast_engine):
    limit = fast_engine.settings.max_question_chars
    assert fast_engine.queries.question("x" * limit).text == "x" * limit
    with pytest.raises(InvalidQueryError, match=rf"^question: {limit + 1} characters, more than the limit of {limit}$"):
        fast_engine.queries.question("x" * (limit + 1))
    with pytest.raises(InvalidQueryError, match=r"^question: must not be empty$"):
        fast_engine.queries.question(" \t\n")


def test_convex_fusion_is_a_working_hybrid_setting(settings, real_embedder, tmp_path):
    from ragline.bootstrap import build_engine

    engine = build_engine(
        settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"fusion": "convex"})}),
        embedder=real_embedder,
    )
    pdf_factory.write_report_pdf(tmp_path, name="water.pdf", sentences=PUMPS, header="Riverbend Water Runbook")
    engine.ingest([tmp_path / "water.pdf"])
    answer = engine.ask("What is the chlorine dose at Lakeside?", mode="hybrid", k=3)
    engine.close()
    assert 2 in answer.citations[0].pages
    assert answer.citations[0].score == max(citation.score for citation in answer.citations)
    assert all(0 <= citation.score <= 1 for citation in answer.citations)
