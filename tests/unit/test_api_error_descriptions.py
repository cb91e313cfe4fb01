"""The query API's words: how an invalid request is described, and how a cited source is written out
(issue 16: mutation survivors in ragline.api). The local server is driven through its app; the Lambda's
side of the same descriptions is in tests/aws/test_api_error_descriptions.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragline.api import QueryResponse, SearchResponse
from ragline.config import SearchMode
from ragline.entrypoints.server import create_app
from ragline.model import Answer, Citation
from ragline.query import Question, Retrieved
from tests.unit.test_server_limits import StubEngine, assert_error_shape


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(StubEngine()))  # type: ignore[arg-type]


def _post(client: TestClient, body: bytes) -> tuple[str, list[dict]]:
    response = client.post("/query", content=body, headers={"content-type": "application/json"})
    error = assert_error_shape(response, 400)
    return error, response.json()["details"]


def test_a_body_that_is_not_json_says_what_the_parser_found(client):
    error, details = _post(client, b'{"question": ')
    (detail,) = details
    assert detail["type"] == "json_invalid"
    assert detail["msg"]
    assert error == f"body: not valid JSON ({detail['msg']})"


@pytest.mark.parametrize("body", [b'["pumps?"]', b"null", b'"pumps?"', b""])
def test_a_body_that_is_not_an_object_is_named_body(client, body):
    error, details = _post(client, body)
    (detail,) = details
    assert error == f"body: {detail['msg']}"


def test_every_invalid_field_has_its_clause_in_order(client):
    error, details = _post(client, b'{"question": "", "k": 0, "mode": "fuzzy"}')
    assert [detail["loc"][-1] for detail in details] == ["question", "k", "mode"]
    assert error == "; ".join(f"{detail['loc'][-1]}: {detail['msg']}" for detail in details)


# --- sources as the responses write them ----------------------------------------------------------


def _citation(*, pages: tuple[int, ...] = (3, 4), score: float = 0.0164, similarity: float = 0.618) -> Citation:
    return Citation(
        number=1,
        source="s3://docs/pumps.pdf",
        title="Pump Manual",
        pages=pages,
        score=score,
        similarity=similarity,
        text="The Hillcrest pump is serviced every May.",
        chunk_id="p" * 64 + ":00000",
        card=None,  # indexed before document cards
    )


def _search(*citations: Citation) -> dict:
    question = Question("When is the pump serviced?", 5, SearchMode.HYBRID)
    return SearchResponse.from_retrieved(Retrieved(question, citations, 0.6, {"embed_ms": 1.0})).model_dump()


def test_a_source_indexed_before_cards_has_no_card():
    (source,) = _search(_citation())["sources"]
    assert source["card"] is None
    answer = Answer("q?", "It is serviced in May [1].", (_citation(),), True, "hybrid", "extractive")
    assert QueryResponse.from_answer(answer).sources[0].card is None


def test_a_multi_page_source_is_cited_by_its_first_page():
    (source,) = _search(_citation(pages=(3, 4)))["sources"]
    assert (source["page"], source["pages"]) == (3, [3, 4])


def test_a_source_with_no_page_numbers_is_not_cited_as_page_one():
    # OpenSearch documents written without pages read back with none (adapters/aws/opensearch_index.py).
    (source,) = _search(_citation(pages=()))["sources"]
    assert (source["page"], source["pages"]) == (0, [])


def test_scores_keep_six_decimals_even_when_below_one_hundredth():
    # Reciprocal-rank fusion scores are about 1/61: rounding them away would rank every source 0.
    (source,) = _search(_citation(score=0.016393442, similarity=0.123456789))["sources"]
    assert source["score"] == pytest.approx(0.016393, abs=1e-9)
    assert source["similarity"] == pytest.approx(0.123457, abs=1e-9)
