"""The contract every Index adapter honours. Subclass it and provide an `index` fixture (dimension 8)."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.filters import SearchFilter
from ragline.model import Chunk, DocumentCard, EmbeddedChunk

DIMENSION = 8


def unit(*values: float) -> list[float]:
    vector = np.zeros(DIMENSION, dtype=np.float32)
    vector[: len(values)] = values
    return list(vector / np.linalg.norm(vector))


def embedded(source: str, document_id: str, position: int, text: str, vector: list[float], **fields) -> EmbeddedChunk:
    chunk = Chunk(
        id=Chunk.make_id(document_id, position),
        document_id=document_id,
        source=source,
        title=fields.pop("title", "Title"),
        position=position,
        text=text,
        pages=fields.pop("pages", (position + 1,)),
        heading_path=fields.pop("heading_path", ()),
        token_count=len(text.split()),
        embedding_text=text,
        **fields,
    )
    return EmbeddedChunk(chunk, vector)


PUMP_CARD = DocumentCard(
    title="Pump Co, Inc. Form 10-K 2024", doc_type="10-K", issuer="Pump Co, Inc.", period="2024-03-01"
)
# A literal `*` in the issuer: a card filter must take the user's text as text, not as a pattern.
BIRD_CARD = DocumentCard(title="Field notes", doc_type="paper", issuer="Birds*Watch Society", period="2023")

PUMPS = [
    embedded(
        "/docs/pumps.pdf",
        "p" * 64,
        0,
        "Centrifugal pumps move water uphill.",
        unit(1, 0),
        tags=("ops",),
        date="2024-03-01",
        card=PUMP_CARD,
    ),
    embedded(
        "/docs/pumps.pdf",
        "p" * 64,
        1,
        "Seals on the pumps are replaced yearly.",
        unit(1, 1),
        heading_path=("Maintenance", "Seals"),  # read back by the round-trip test
        tags=("ops",),
        date="2024-03-01",
        card=PUMP_CARD,
    ),
]
BIRDS = [
    embedded(
        "/docs/birds.pdf",
        "b" * 64,
        0,
        "Chickadees sing a two-note song.",
        unit(0, 0, 1),
        tags=("nature",),
        date="2023-05-01",
        card=BIRD_CARD,
    ),
    embedded(
        "/docs/birds.pdf",
        "b" * 64,
        1,
        "Wrens nest in old pumps and boxes.",
        unit(0, 1, 1),
        tags=("nature",),
        date="2023-05-01",
        card=BIRD_CARD,
    ),
]


class IndexContract:
    @pytest.fixture
    def loaded(self, index):
        index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
        index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
        return index

    def test_dense_search_ranks_by_cosine_and_reports_it(self, loaded):
        hits = loaded.dense_search(np.asarray(unit(1, 0)), k=2)
        assert [chunk.id for chunk, _ in hits] == [PUMPS[0].chunk.id, PUMPS[1].chunk.id]
        assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert hits[1][1] == pytest.approx(np.dot(unit(1, 0), unit(1, 1)), abs=1e-5)

    def test_keyword_search_finds_words_with_positive_bm25(self, loaded):
        hits = loaded.keyword_search("which song do chickadees sing?", k=5)
        assert [chunk.id for chunk, _ in hits] == [BIRDS[0].chunk.id]
        assert hits[0][1] > 0

    def test_keyword_search_survives_query_syntax_characters(self, loaded):
        assert loaded.keyword_search('pumps" OR NEAR( * -', k=5)
        assert loaded.keyword_search("??? !!!", k=5) == []

    def test_filters_restrict_both_searches(self, loaded):
        only_birds = SearchFilter(tags=("nature",))
        dense = loaded.dense_search(np.asarray(unit(1, 0)), k=5, where=only_birds)
        keyword = loaded.keyword_search("pumps", k=5, where=only_birds)
        assert {chunk.source for chunk, _ in dense} == {"/docs/birds.pdf"}
        assert [chunk.id for chunk, _ in keyword] == [BIRDS[1].chunk.id]

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            (SearchFilter(source="pumps.pdf"), {PUMPS[0].chunk.id, PUMPS[1].chunk.id}),
            (SearchFilter(source="/docs/b*.pdf"), {BIRDS[0].chunk.id, BIRDS[1].chunk.id}),
            (SearchFilter(page_from=2, page_to=2), {PUMPS[1].chunk.id, BIRDS[1].chunk.id}),
            (SearchFilter(date_from="2024-01-01"), {PUMPS[0].chunk.id, PUMPS[1].chunk.id}),
            (SearchFilter(date_to="2023-12-31", page_to=1), {BIRDS[0].chunk.id}),
            (SearchFilter(issuer="pump co"), {PUMPS[0].chunk.id, PUMPS[1].chunk.id}),
            (SearchFilter(issuer="*"), {BIRDS[0].chunk.id, BIRDS[1].chunk.id}),
            (SearchFilter(issuer="co, inc"), {PUMPS[0].chunk.id, PUMPS[1].chunk.id}),
            (SearchFilter(period="2024-03"), {PUMPS[0].chunk.id, PUMPS[1].chunk.id}),
            (SearchFilter(period="2023"), {BIRDS[0].chunk.id, BIRDS[1].chunk.id}),
            (SearchFilter(period="2023-05"), set()),
            (SearchFilter(doc_type="10-K", page_to=1), {PUMPS[0].chunk.id}),
        ],
    )
    def test_metadata_filters(self, loaded, where, expected):
        hits = loaded.dense_search(np.asarray(unit(1, 1, 1)), k=10, where=where)
        assert {chunk.id for chunk, _ in hits} == expected

    # File names may hold "?" and "[": only "*" is a wildcard in a source filter (SearchFilter.source's
    # description), so each name below finds itself and never its look-alike.
    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("q?.pdf", {"/docs/q?.pdf"}),
            ("q[1].pdf", {"/docs/q[1].pdf"}),
            ("/docs/q?*", {"/docs/q?.pdf"}),
            ("*[1].pdf", {"/docs/q[1].pdf"}),
            ("q*.pdf", {"/docs/q?.pdf", "/docs/q[1].pdf", "/docs/qa.pdf", "/docs/q1.pdf"}),
        ],
    )
    def test_only_a_star_is_a_wildcard_in_a_source_filter(self, index, pattern, expected):
        assert (
            self._sources_found(index, ("/docs/q?.pdf", "/docs/q[1].pdf", "/docs/qa.pdf", "/docs/q1.pdf"), pattern)
            == expected
        )

    # A filter holding a slash is a pattern of the whole path; one without is a file name, matched against the
    # path's last component. So a relative path is no suffix: `docs/*.pdf` is not `*/docs/*.pdf`.
    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("docs/*.pdf", set()),
            ("*/docs/*.pdf", {"/docs/a.pdf", "/archive/docs/a.pdf"}),
            ("/docs/*.pdf", {"/docs/a.pdf"}),
            ("a.pdf", {"/docs/a.pdf", "/archive/docs/a.pdf"}),
        ],
    )
    def test_a_source_filter_with_a_slash_is_a_pattern_of_the_whole_path(self, index, pattern, expected):
        assert self._sources_found(index, ("/docs/a.pdf", "/archive/docs/a.pdf"), pattern) == expected

    @staticmethod
    def _sources_found(index, names: tuple[str, ...], pattern: str) -> set[str]:
        """Index one chunk under each name, then the sources a dense search filtered by `pattern` finds."""
        for number, name in enumerate(names):
            document_id = str(number) * 64
            index.replace_document(name, document_id, [embedded(name, document_id, 0, "Pump notes.", unit(1, 0))])
        hits = index.dense_search(np.asarray(unit(1, 0)), k=10, where=SearchFilter(source=pattern))
        return {chunk.source for chunk, _ in hits}

    def test_replace_document_leaves_only_the_new_chunks(self, loaded):
        replacement = [embedded("/docs/pumps.pdf", "q" * 64, 0, "Pumps were replaced by turbines.", unit(1, 0))]
        loaded.replace_document("/docs/pumps.pdf", "q" * 64, replacement)
        assert loaded.count("/docs/pumps.pdf") == 1
        hits = loaded.keyword_search("seals", k=5)
        assert hits == []
        assert loaded.dense_search(np.asarray(unit(1, 0)), k=1)[0][0].document_id == "q" * 64

    def test_replace_is_atomic_when_a_chunk_is_invalid(self, loaded):
        broken = [*PUMPS[:1], embedded("/docs/pumps.pdf", "p" * 64, 5, "Bad vector.", [1.0, 0.0])]
        with pytest.raises(ValueError, match="dimensions"):
            loaded.replace_document("/docs/pumps.pdf", "p" * 64, broken)
        assert loaded.count("/docs/pumps.pdf") == 2

    def test_a_chunk_of_another_document_is_refused_naming_the_chunk_and_the_document(self, index):
        expected = rf"chunk {BIRDS[0].chunk.id} does not belong to /docs/pumps.pdf \({'p' * 64}\)"
        with pytest.raises(ValueError, match=expected):
            index.replace_document("/docs/pumps.pdf", "p" * 64, [*PUMPS, BIRDS[0]])
        assert index.count() == 0

    @pytest.mark.parametrize(
        ("source", "document_id"),
        [("/docs/pumps.pdf", "0" * 64), ("/docs/pumps-copy.pdf", "p" * 64)],
        ids=["the file's chunk of an older version", "the same content's chunk under another name"],
    )
    def test_a_chunk_matching_the_document_on_one_count_only_is_refused(self, index, source, document_id):
        """A chunk belongs to a document by its source and its content's id together: either one alone (a stale
        chunk of the file's previous version, or a copy's chunk) would index a chunk that no registry row owns."""
        stray = embedded(source, document_id, 9, "Pumps, stray.", unit(1, 0))
        with pytest.raises(ValueError, match=rf"chunk {stray.chunk.id} does not belong to /docs/pumps.pdf"):
            index.replace_document("/docs/pumps.pdf", "p" * 64, [*PUMPS, stray])
        assert index.count() == 0

    def test_delete_source_removes_every_chunk_from_both_searches(self, loaded):
        assert loaded.delete_source("/docs/pumps.pdf") == 2
        assert loaded.count("/docs/pumps.pdf") == 0
        assert loaded.keyword_search("pumps", k=5)[0][0].source == "/docs/birds.pdf"
        assert all(chunk.source == "/docs/birds.pdf" for chunk, _ in loaded.dense_search(np.asarray(unit(1, 0)), k=5))

    def test_a_word_only_a_deleted_document_held_leaves_the_question_s_other_words_searching(self, loaded):
        """The index keeps the words of deleted documents in its vocabulary, holding no chunk: a question that
        starts with one of them ("centrifugal", only in the deleted pump notes) must still find the chunks its
        other words are in."""
        loaded.delete_source("/docs/pumps.pdf")
        hits = loaded.keyword_search("centrifugal chickadees", k=5)
        assert [chunk.id for chunk, _ in hits] == [BIRDS[0].chunk.id]

    def test_a_vector_of_plain_python_floats_is_stored_and_found_like_any(self, index):
        """`EmbeddedChunk.vector` is declared a sequence of floats: an embedder answering JSON (Bedrock, SageMaker)
        gives Python floats, not float32 numbers, and the index must store them at its own precision."""
        floats = [float(value) for value in unit(0, 1)]
        valves = embedded("/docs/valves.pdf", "v" * 64, 0, "Valves.", floats)
        index.replace_document("/docs/valves.pdf", "v" * 64, [valves])
        chunk, score = index.dense_search(np.asarray(unit(0, 1)), k=1)[0]
        assert chunk.source == "/docs/valves.pdf" and score == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(index.vectors_for([chunk.id])[chunk.id], floats, atol=1e-6)

    def test_chunks_round_trip_with_their_metadata(self, loaded):
        chunk, _ = loaded.dense_search(np.asarray(unit(1, 1)), k=1)[0]
        assert chunk == PUMPS[1].chunk

    def test_a_chunk_without_pages_round_trips_and_no_page_filter_finds_it(self, index):
        # Chunk allows no pages (text that came with no page numbers): such a chunk is stored like any other,
        # and a page filter, which asks for pages, leaves it out.
        pageless = embedded("/docs/notes.pdf", "n" * 64, 0, "Pump notes without pages.", unit(1, 0), pages=())
        index.replace_document("/docs/notes.pdf", "n" * 64, [pageless])
        assert [chunk for chunk, _ in index.dense_search(np.asarray(unit(1, 0)), k=1)] == [pageless.chunk]
        assert index.dense_search(np.asarray(unit(1, 0)), k=1, where=SearchFilter(page_from=1)) == []

    def test_vectors_for_returns_stored_vectors(self, loaded):
        vectors = loaded.vectors_for([BIRDS[0].chunk.id, "missing:00000"])
        assert list(vectors) == [BIRDS[0].chunk.id]
        assert np.allclose(vectors[BIRDS[0].chunk.id], unit(0, 0, 1))

    def test_empty_index_answers_nothing(self, index):
        assert index.dense_search(np.asarray(unit(1, 0)), k=3) == []
        assert index.keyword_search("pumps", k=3) == []
        assert index.count() == 0


class MovingIndexContract:
    """`move_source`, for the adapters whose test double supports it (the OpenSearch fake has no
    update_by_query yet: `tests/aws/fake_opensearch.py`)."""

    @pytest.fixture
    def loaded(self, index):
        index.replace_document("/docs/pumps.pdf", "p" * 64, PUMPS)
        index.replace_document("/docs/birds.pdf", "b" * 64, BIRDS)
        return index

    def test_move_source_gives_every_chunk_to_the_other_name(self, loaded):
        assert loaded.move_source("/docs/pumps.pdf", "/docs/pumps-copy.pdf") == 2
        assert loaded.count("/docs/pumps.pdf") == 0
        assert loaded.count("/docs/pumps-copy.pdf") == 2
        assert {chunk.source for chunk, _ in loaded.keyword_search("pumps seals", k=5)} >= {"/docs/pumps-copy.pdf"}
        assert loaded.dense_search(np.asarray(unit(1, 0)), k=1)[0][0].source == "/docs/pumps-copy.pdf"
        assert loaded.delete_source("/docs/pumps-copy.pdf") == 2
        assert loaded.count() == 2

    def test_moving_a_source_with_no_chunks_moves_nothing(self, loaded):
        assert loaded.move_source("/docs/none.pdf", "/docs/other.pdf") == 0
        assert loaded.count() == 4
