"""The local HTTP API: the same contract as the API Gateway route."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragline.entrypoints.server import create_app, openapi_document
from tests import pdf_factory

OPENAPI_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@pytest.fixture
def client(fast_engine, tmp_path):
    pdf_factory.write_report_pdf(tmp_path, name="r.pdf", pages=2)
    fast_engine.ingest([tmp_path / "r.pdf"])
    return TestClient(create_app(fast_engine))


def test_health_reports_the_index(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 1
    assert body["chunks"] > 0


def test_query_answers_with_sources(client):
    response = client.post("/query", json={"question": "Which team logged entries?", "k": 2, "mode": "keyword"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["sources"]) == 2
    first = body["sources"][0]
    assert first["source"].endswith("/r.pdf") and first["page"] >= 1 and first["text"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "question: Field required"),
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "x" * 2001}, "question: String should have at most 2000 characters"),
        ({"question": "ok?", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"question": "ok?", "k": "many"}, "k: Input should be a valid integer"),
        ({"question": "ok?", "filter": {"colour": "red"}}, "filter.colour: Extra inputs are not permitted"),
        ({"question": "ok?", "filter": {"page_from": 5, "page_to": 2}}, "page_from (5) is after page_to (2)"),
        ({"question": "ok?", "mode": "fuzzy"}, "mode: Input should be 'dense', 'keyword' or 'hybrid'"),
    ],
)
def test_bad_requests_get_400_naming_the_field(client, body, message):
    response = client.post("/query", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_wrong_content_type_is_a_400(client):
    response = client.post(
        "/query", content="question=hi", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "content-type: expected application/json, got application/x-www-form-urlencoded"
    )


def test_published_openapi_matches_the_code():
    assert json.loads(OPENAPI_FILE.read_text()) == openapi_document(), "run: ragline openapi --output docs/openapi.json"
    assert {"/query", "/health"} <= set(openapi_document()["paths"])


def test_search_returns_the_sources_an_answer_would_cite(client):
    body = client.post("/search", json={"question": "Which team logged entries?", "k": 2, "mode": "keyword"}).json()
    assert set(body) == {"question", "mode", "sources", "timings_ms"}
    assert len(body["sources"]) == 2 and body["sources"][0]["page"] >= 1
    assert client.post("/search", json={"question": ""}).status_code == 400


_PROSE = (
    "I have been reading the operations report for the treatment plant and I would like to understand, "
    "in as much detail as the documents allow, which team logged the entries for each of the pages that "
    "describe the maintenance of the pumps, the seals and the valves, whether those entries were checked by "
    "anyone else afterwards, how often the inspections happened over the year, and whether the report says "
    "anything about what went wrong when an inspection was missed or when a seal failed before its time, "
    "because we are planning next year's maintenance and need to know who to ask about each of these things. "
    "The same questions apply to the turbines that were commissioned in the spring, to the boilers that were "
    "replaced in the autumn, and to the filters whose cartridges were changed more often than the manual asks: "
    "who logged those changes, who approved them, what they cost, and whether any of them were reported late "
    "to the regional office, which has asked us to confirm each of these points before the end of the quarter."
)
# Ordinary prose, repeated up to just under the API's 2,000 characters: ~360 of the model's tokens.
LONG_QUESTION = f"{_PROSE} {_PROSE}"[:1990].rsplit(" ", 1)[0]


def test_a_question_over_the_model_s_token_limit_is_answered_not_a_500(engine, tmp_path):
    """Issue 13, problem 4: ordinary prose within the character limit but over the model's 256 tokens."""
    assert engine.embedder.tokens.count(LONG_QUESTION) > engine.embedder.tokens.max_tokens
    assert len(LONG_QUESTION) <= 2000
    pdf_factory.write_report_pdf(tmp_path, name="r.pdf", pages=2)
    engine.ingest([tmp_path / "r.pdf"])
    client = TestClient(create_app(engine))
    for route in ("/query", "/search"):
        response = client.post(route, json={"question": LONG_QUESTION, "k": 2})
        assert response.status_code == 200, response.text
        assert response.json()["sources"]


@pytest.mark.parametrize("field", ["page_to", "page_from"])
def test_an_out_of_range_page_is_a_400_naming_the_limit(client, field):
    response = client.post("/query", json={"question": "ok?", "filter": {field: 9223372036854775808}})
    assert response.status_code == 400
    assert f"filter.{field}: Input should be less than or equal to 1000000" in response.json()["error"]
