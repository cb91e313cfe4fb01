"""`ragline serve` under bad input and load: one error shape, a body limit, a bound on requests in
flight, and a token. The limits are exercised over real HTTP on loopback, with events holding
requests in flight (never sleeps)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ragline.api import ErrorResponse
from ragline.config import ServerSettings
from ragline.entrypoints import cli
from ragline.entrypoints.server import create_app, is_loopback, openapi_document
from ragline.errors import ModelUnavailableError
from ragline.model import Answer

TOKEN = "test-token-0123456789"
HELD = 10.0  # seconds a held request waits at most; the test releases it long before


class StubEngine:
    """Answers at once, or holds each request until `release` is set, counting those it holds."""

    def __init__(self, *, hold: bool = False, fail: Exception | None = None) -> None:
        self.hold = hold
        self.fail = fail
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.embedder = SimpleNamespace(model_name="stub")
        self.index = SimpleNamespace(count=lambda: 0)

    def _work(self) -> None:
        if self.fail is not None:
            raise self.fail
        if self.hold:
            self.entered.release()
            assert self.release.wait(HELD), "the test never released the request"

    def status(self) -> list:
        self._work()
        return []

    def ask(self, question: str, **_: object) -> Answer:
        self._work()
        return Answer(question=question, text="", citations=(), grounded=False, mode="hybrid", generator="stub")


def assert_error_shape(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "details"}, body
    return ErrorResponse.model_validate(body).error


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """The app behind a real uvicorn on a loopback port; the socket listens before the thread starts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(HELD)
        sock.close()


def raw_exchange(url: str, head: bytes, body_parts: list[bytes]) -> bytes:
    """Send a request head and some body bytes over a socket, then read whatever the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HELD) as conn:
        conn.sendall(head)
        for part in body_parts:
            conn.sendall(part)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


# --- one error body shape, for every error -------------------------------------------------------


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(StubEngine()))  # type: ignore[arg-type]


def test_an_unknown_route_is_a_404_in_the_error_shape(client):
    assert "Not Found" in assert_error_shape(client.get("/nope"), 404)


def test_a_wrong_method_is_a_405_in_the_error_shape_with_allow(client):
    response = client.get("/query")
    assert "Method Not Allowed" in assert_error_shape(response, 405)
    assert response.headers["allow"] == "POST"


def test_a_body_that_is_not_json_is_a_400_naming_it(client):
    response = client.post("/query", content=b'{"question": ', headers={"content-type": "application/json"})
    assert "body: not valid JSON" in assert_error_shape(response, 400)
    plain = client.post("/query", content=b"hello", headers={"content-type": "text/plain"})
    assert assert_error_shape(plain, 400).startswith("content-type: expected application/json, got text/plain")


def test_a_validation_error_is_a_400_with_details(client):
    response = client.post("/query", json={"question": ""})
    assert_error_shape(response, 400)
    assert response.json()["details"][0]["loc"] == ["body", "question"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"question": " \t\x1e\u3000"}, "question: must not be empty"),
        ({"question": "ok?", "k": True}, "k: Input should be a valid integer"),
        ({"question": "ok?", "k": "5"}, "k: Input should be a valid integer"),
    ],
)
def test_what_the_schema_refuses_is_refused_in_words(client, body, message):
    assert assert_error_shape(client.post("/query", json=body), 400) == message


def test_an_integral_number_is_an_integer_as_json_schema_says(client):
    assert client.post("/query", json={"question": "ok?", "k": 5.0}).status_code == 200


def test_an_unexpected_exception_is_a_500_without_its_traceback_and_is_logged(caplog):
    engine = StubEngine(fail=RuntimeError("secret internals at /srv/data"))
    client = TestClient(create_app(engine), raise_server_exceptions=False)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="ragline.entrypoints.server"):
        response = client.post("/query", json={"question": "why?"})
    message = assert_error_shape(response, 500)
    assert "RuntimeError" in message and "secret internals" not in response.text and "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.name == "ragline.entrypoints.server"]
    assert "POST /query" in record.getMessage() and "secret internals" in str(record.exc_info[1])


def test_an_unavailable_model_is_a_503_naming_it():
    client = TestClient(create_app(StubEngine(fail=ModelUnavailableError("llm.local answered HTTP 502"))))  # type: ignore[arg-type]
    assert assert_error_shape(client.post("/query", json={"question": "why?"}), 503) == "llm.local answered HTTP 502"


def test_every_route_declares_its_errors_as_the_error_shape():
    document = openapi_document()
    error_schema = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            expected = {"500", "503"} | ({"400", "401", "413"} if method == "post" else set())
            errors = {code: spec for code, spec in operation["responses"].items() if code[0] in "45"}
            assert set(errors) == expected, (path, method)
            for spec in errors.values():
                assert spec["content"]["application/json"]["schema"] == error_schema, (path, method)
            assert "Retry-After" in operation["responses"]["503"]["headers"]
            assert ("security" in operation) == (method == "post"), (path, method)
    assert "HTTPValidationError" not in document["components"]["schemas"]


# --- the body limit, enforced while reading --------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent():
    """Content-Length says 200 MB; the server answers 413 after 1 KiB of it, so it never buffers the rest."""
    with serving(create_app(StubEngine(), ServerSettings(max_body_bytes=4096))) as url:  # type: ignore[arg-type]
        head = b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
        answer = raw_exchange(url, head, [b"{" + b" " * 1023])
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 "), answer
    assert b"\r\nconnection: close\r\n" in rest.lower(), "the rest of the body would be read for nothing"
    assert b'"error":"body: 209715200 bytes, the limit is 4096 bytes (server.max_body_bytes)"' in rest, rest


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit():
    """No length announced: the server counts what arrives and answers 413 before the body ends."""
    with serving(create_app(StubEngine(), ServerSettings(max_body_bytes=4096))) as url:  # type: ignore[arg-type]
        head = (
            b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b" " * 1024
        chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * 5  # 5 KiB, and never the terminating chunk
        answer = raw_exchange(url, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert b'"error":"body: over 4096 bytes, the limit is 4096 bytes (server.max_body_bytes)"' in answer, answer


def test_an_answer_given_before_the_body_is_read_closes_the_connection():
    """A 404 never reads the body: the connection closes rather than read an endless chunked body."""
    with serving(create_app(StubEngine())) as url:  # type: ignore[arg-type]
        head = b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        answer = raw_exchange(url, head, [b"400\r\n" + b" " * 1024 + b"\r\n"])
    assert answer.startswith(b"HTTP/1.1 404 "), answer[:200]
    assert b"\r\nconnection: close\r\n" in answer.lower()


def test_a_request_read_whole_keeps_its_connection():
    with serving(create_app(StubEngine())) as url, httpx.Client(base_url=url) as http:
        first = http.post("/query", json={"question": "who?"})
        second = http.post("/query", json={"question": "who else?"})
    assert first.status_code == second.status_code == 200
    assert "close" not in first.headers.get("connection", "")


def test_a_body_within_the_limit_is_served_and_one_over_it_is_a_413():
    client = TestClient(create_app(StubEngine(), ServerSettings(max_body_bytes=4096)))  # type: ignore[arg-type]
    assert client.post("/query", json={"question": "x" * 2000}).status_code == 200
    body = b'{"question": "' + b"x" * 5000 + b'"}'
    response = client.post("/query", content=body, headers={"content-type": "application/json"})
    assert (
        assert_error_shape(response, 413) == f"body: {len(body)} bytes, the limit is 4096 bytes (server.max_body_bytes)"
    )


# --- requests in flight ------------------------------------------------------------------------


def test_beyond_max_in_flight_a_request_is_refused_at_once_with_retry_after():
    engine = StubEngine(hold=True)
    app = create_app(engine, ServerSettings(max_in_flight=3, retry_after_seconds=2))  # type: ignore[arg-type]
    with serving(app) as url, httpx.Client(base_url=url, timeout=HELD) as http:
        results: list[int] = []
        held = [threading.Thread(target=lambda: results.append(http.get("/health").status_code)) for _ in range(3)]
        for thread in held:
            thread.start()
        for _ in held:  # all three are inside the engine now
            assert engine.entered.acquire(timeout=HELD)
        refused = http.post("/query", json={"question": "anyone there?"})
        assert "3 requests in flight" in assert_error_shape(refused, 503)
        assert refused.headers["retry-after"] == "2"
        assert_error_shape(http.get("/health"), 503)
        engine.release.set()
        for thread in held:
            thread.join(HELD)
        assert results == [200, 200, 200]
        engine.hold = False
        assert http.post("/query", json={"question": "and now?"}).status_code == 200  # the slots came back


def test_requests_that_fail_give_their_slot_back():
    engine = StubEngine(fail=RuntimeError("boom"))
    client = TestClient(create_app(engine, ServerSettings(max_in_flight=1)), raise_server_exceptions=False)  # type: ignore[arg-type]
    for _ in range(3):
        assert_error_shape(client.post("/query", json={"question": "why?"}), 500)
    assert_error_shape(client.post("/query", json={"question": ""}), 400)
    engine.fail = None
    assert client.post("/query", json={"question": "why?"}).status_code == 200


# --- the token ---------------------------------------------------------------------------------


@pytest.fixture
def guarded() -> TestClient:
    return TestClient(create_app(StubEngine(), ServerSettings(token=TOKEN)))  # type: ignore[arg-type]


@pytest.mark.parametrize("route", ["/query", "/search"])
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authorization: expected 'Bearer <token>'"),
        ({"Authorization": f"Basic {TOKEN}"}, "Authorization: expected 'Bearer <token>'"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, "Authorization: wrong token"),
    ],
)
def test_with_a_token_the_api_routes_need_it(guarded, route, headers, message):
    response = guarded.post(route, json={"question": "who?"}, headers=headers)
    assert assert_error_shape(response, 401) == message
    assert response.headers["www-authenticate"] == "Bearer"


def test_with_the_token_a_request_is_answered_and_health_stays_open(guarded):
    response = guarded.post("/query", json={"question": "who?"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert guarded.get("/health").status_code == 200


def test_without_a_token_the_api_is_open(client):
    assert client.post("/query", json={"question": "who?"}).status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.3.0.1", True), ("::1", True), ("localhost", True)],
        *[("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("myhost.example", False)],
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


@pytest.fixture
def no_server(settings, monkeypatch) -> list[dict]:
    """`ragline serve` with uvicorn.run recorded instead of run, and a stub engine."""
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append({"app": app, **options}))
    monkeypatch.setattr(cli, "build_engine", lambda loaded: SimpleNamespace(close=lambda: None, settings=loaded))
    return started


def test_serve_beyond_loopback_refuses_to_start_without_a_token(no_server):
    result = CliRunner().invoke(cli.app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "RAGLINE_SERVER__TOKEN" in result.output and "0.0.0.0" in result.output
    assert no_server == []


def test_serve_beyond_loopback_starts_with_a_token_from_the_environment(no_server, monkeypatch):
    monkeypatch.setenv("RAGLINE_SERVER__TOKEN", TOKEN)
    result = CliRunner().invoke(cli.app, ["serve", "--host", "0.0.0.0", "--port", "9999"])
    assert result.exit_code == 0, result.output
    [started] = no_server
    assert (started["host"], started["port"]) == ("0.0.0.0", 9999)
    client = TestClient(started["app"])
    assert client.post("/query", json={"question": "who?"}).status_code == 401


def test_serve_on_loopback_needs_no_token(no_server):
    assert CliRunner().invoke(cli.app, ["serve"]).exit_code == 0
    assert no_server[0]["host"] == "127.0.0.1"
