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
