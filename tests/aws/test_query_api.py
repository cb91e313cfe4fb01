"""The query Lambda refuses bad input with a 400 that names the field: never a 500."""

from __future__ import annotations

import io
import json

import pytest

from ragline.entrypoints.lambdas import query
from tests.aws.api_events import api_event
from tests.aws.conftest import CONTEXT


@pytest.fixture
def api(stack):
    """The query function's own environment, nothing else."""
    stack.as_function("query")
    return stack


@pytest.fixture
def indexed_api(bootstrapped):
    """An empty index made by the bootstrap function, then the query function's environment."""
    bootstrapped.as_function("query")
    return bootstrapped


def call(event: dict) -> tuple[int, dict]:
    response = query.lambda_handler(event, CONTEXT)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "question: Field required"),
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "   "}, "question: must not be empty"),
        ({"question": "x" * 2001}, "question: String should have at most 2000 characters"),
        ({"question": None}, "question: Input should be a valid string"),
        ({"question": "pumps?", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"question": "pumps?", "k": 51}, "k: Input should be less than or equal to 50"),
        ({"question": "pumps?", "k": "five"}, "k: Input should be a valid integer"),
        ({"question": "pumps?", "mode": "fuzzy"}, "mode: Input should be 'dense', 'keyword' or 'hybrid'"),
        ({"question": "pumps?", "filter": {"colour": "red"}}, "filter.colour: Extra inputs are not permitted"),
        ({"question": "pumps?", "filter": {"page_from": 5, "page_to": 2}}, "page_from (5) is after page_to (2)"),
        (
            {"question": "pumps?", "filter": {"date_from": "yesterday"}},
            "filter.date_from: Input should be a valid date",
        ),
        ({"question": "pumps?", "filter": "source=*.pdf"}, "filter: Input should be a valid dictionary"),
        ({"question": "pumps?", "temperature": 2}, "temperature: Extra inputs are not permitted"),
    ],
)
def test_bad_requests_are_400s_naming_the_field(api, body, named):
    status, answer = call(api_event(body))
    assert status == 400
    assert named in answer["error"]


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        ('{"question": "pumps?"}', "text/plain", "Content-Type: expected application/json, got text/plain"),
        ("question=pumps", "application/x-www-form-urlencoded", "Content-Type: expected application/json"),
        ('{"question": "pumps?"}', None, "Content-Type: expected application/json, got nothing"),
        ('{"question": "pumps?"', "application/json", "body"),
        ('["pumps?"]', "application/json", "body"),
        (None, "application/json", "body"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_400s(api, body, content_type, named):
    status, answer = call(api_event(body, content_type=content_type))
    assert status == 400
    assert named in answer["error"]


def test_a_json_content_type_with_a_charset_is_accepted(indexed_api):
    status, answer = call(api_event({"question": "pumps?"}, content_type="application/json; charset=utf-8"))
    assert status == 200
    assert answer["grounded"] is False and answer["sources"] == []


def test_an_unknown_route_is_a_404_not_a_500(api):
    status, body = call(api_event({"question": "pumps?"}, path="/ask"))
    assert status == 404
    assert body == {"error": "POST /ask: not a route (POST /query, POST /search, GET /documents)", "details": []}


def test_an_unexpected_failure_is_a_500_in_the_error_shape_and_logged(indexed_api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise KeyError("hits")

    monkeypatch.setattr(query.runtime.services().queries, "ask", broken)
    status, body = call(api_event({"question": "pumps?"}))
    assert status == 500
    assert set(body) == {"error", "details"} and "KeyError" in body["error"] and "hits" not in body["error"]
    # Logged with its traceback (Powertools adds the request id to every line).
    [logged] = [record for record in caplog.records if record.getMessage() == "unexpected error"]
    assert logged.exc_info and logged.exc_info[0] is KeyError


def test_search_returns_sources_without_an_answer_and_validates_like_query(indexed_api):
    status, body = call(api_event({"question": "pumps?", "k": 3}, path="/search"))
    assert status == 200
    assert set(body) == {"question", "mode", "sources", "timings_ms"}
    status, body = call(api_event({"question": "pumps?", "k": 0}, path="/search"))
    assert status == 400 and "k: Input should be greater than or equal to 1" in body["error"]


def test_an_answer_logs_its_stage_timings_with_the_request_id(indexed_api):
    # The handler has no X-Ray subsegments (no Powertools Tracer): this log line stands in for them.
    event = api_event({"question": "pumps?"})
    written = io.StringIO()
    previous = query.logger.registered_handler.setStream(written)
    try:
        status, _ = call(event)
    finally:
        query.logger.registered_handler.setStream(previous)
    assert status == 200
    logs = [json.loads(line) for line in written.getvalue().splitlines()]
    answered = [log for log in logs if log["message"] == "answered"]
    assert len(answered) == 1
    assert answered[0]["correlation_id"] == event["requestContext"]["requestId"]
    assert {"embed_ms", "retrieve_ms", "generate_ms"} <= set(answered[0])
