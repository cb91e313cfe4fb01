"""With a token, every route of `ragline serve` that returns document data or changes state refuses a
request without it. The routes are read from the app itself, so a route added later is covered (or
must be added, with its reason, to the few that stay open)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from ragline.config import ServerSettings
from ragline.entrypoints.server import create_app
from tests.unit.test_server_limits import TOKEN, StubEngine, assert_error_shape

# Open on purpose, each for its reason: none returns document text, a source name or a vector.
OPEN = {
    ("GET", "/health"): "probes: counts and the model's name",
    ("GET", "/openapi.json"): "the schema of requests and answers, the same as docs/openapi.json in the repository",
    ("GET", "/docs"): "an HTML page that loads /openapi.json",
    ("GET", "/docs/oauth2-redirect"): "a static page of the interactive docs",
    ("GET", "/redoc"): "an HTML page that loads /openapi.json",
}


def _app():
    return create_app(StubEngine(), ServerSettings(token=TOKEN))  # type: ignore[arg-type]


def _routes() -> list[tuple[str, str]]:
    found = []
    for route in _app().routes:
        assert isinstance(route, Route), f"{route!r}: not an HTTP route; decide whether it needs the token"
        path = re.sub(r"\{[^}]+\}", "x", route.path)  # any path parameter: the token is checked first
        found.extend((method, path) for method in sorted(route.methods or ()) if method != "HEAD")
    return found


GUARDED = [route for route in _routes() if route not in OPEN]


def test_the_routes_are_read_from_the_app():
    """Not vacuous: the data routes are among those read, and every open route still exists."""
    assert {("POST", "/query"), ("POST", "/search")} <= set(GUARDED)
    assert set(OPEN) <= set(_routes())


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_other_route_refuses_a_request_without_the_token(method, path):
    client = TestClient(_app())
    response = client.request(method, path, json={"question": "what was revenue?"})
    message = assert_error_shape(response, 401)
    assert message == "Authorization: expected 'Bearer <token>'"


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_with_the_token_the_same_request_gets_past_the_check(method, path):
    client = TestClient(_app(), raise_server_exceptions=False)  # the stub engine answers no search: a 500
    response = client.request(
        method, path, json={"question": "what was revenue?"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code != 401, response.text


@pytest.mark.parametrize(("method", "path"), list(OPEN))
def test_the_open_routes_answer_without_the_token_and_hold_no_document_text(method, path):
    engine = StubEngine()
    client = TestClient(create_app(engine, ServerSettings(token=TOKEN)))  # type: ignore[arg-type]
    response = client.request(method, path)
    assert response.status_code == 200, response.text
    assert "what was revenue" not in response.text
