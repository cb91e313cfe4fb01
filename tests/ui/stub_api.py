"""A stub of the query API on AWS for the chat UI's tests: a loopback HTTP server that answers `GET /v1/documents`
and `POST /v1/query` as the API Gateway + Lambda pair does (bodies read with ragline.api's models, errors in the
ErrorResponse shape) and refuses any request without the signed-in user's bearer token, as the Cognito authorizer
does. Every request it was sent is kept for the assertions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from ragline.api import ConversationRequest

TOKEN = "eyJ.id-token-of-the-signed-in-user.sig"
BUCKET = "ragline-ingest-test"
KEY = "reports/annual.pdf"


@dataclass
class StubApi:
    """What the API answered is decided by `refuse` (a status and message for POST /query); `requests` keeps
    every (method, path, Authorization header, body) it was sent."""

    url: str = ""
    requests: list[tuple[str, str, str | None, dict | None]] = field(default_factory=list)
    refuse: tuple[int, str] | None = None
    documents: list[dict] = field(default_factory=list)
    tokens: set[str] = field(default_factory=lambda: {TOKEN})  # the bearer tokens the authorizer accepts


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    """Answer `handler`'s request with `body` as JSON (the stub API's and the stub OIDC pool's replies)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _handler(stub: StubApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test's output is for failures
            pass

        def _send(self, status: int, body: dict) -> None:
            send_json(self, status, body)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            authorization = self.headers.get("Authorization")
            stub.requests.append((method, self.path, authorization, body))
            if authorization not in {f"Bearer {token}" for token in stub.tokens}:  # as the Cognito authorizer answers
                return self._send(401, {"error": "Unauthorized", "details": []})
            if (method, self.path) == ("GET", "/v1/documents"):
                return self._send(200, {"documents": stub.documents})
            if (method, self.path) != ("POST", "/v1/query"):
                return self._send(404, {"error": f"{method} {self.path}: not a route", "details": []})
            try:
                request = ConversationRequest.model_validate(body)
            except ValidationError as error:
                return self._send(400, {"error": str(error), "details": []})
            if stub.refuse:
                status, message = stub.refuse
                return self._send(status, {"error": message, "details": []})
            turn = sum(1 for m, p, _, b in stub.requests if p == "/v1/query" and b.get("session") == request.session)
            self._send(200, answer(request, turn))

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


def answer(request: ConversationRequest, turn: int) -> dict:
    """A QueryResponse body: the follow-up (turn 2) is read in the context of the first."""
    standalone = request.question if turn == 1 else f"{request.question} (Northwind Cycles net income)"
    return {
        "question": request.question,
        "answer": f"Net income was $12.5 million [1] (turn {turn}).",
        "grounded": True,
        "mode": "hybrid",
        "generator": "bedrock",
        "sources": [
            {
                "number": 1,
                "source": f"s3://{BUCKET}/{KEY}",
                "title": "Annual report",
                "pages": [2],
                "page": 2,
                "score": 0.9,
                "similarity": 0.8,
                "text": "Net income was $12.5 million.",
                "chunk_id": "c1",
            }
        ],
        "timings_ms": {"total": 12.0},
        "session": request.session,
        "standalone_question": standalone,
    }


def documents() -> list[dict]:
    return [
        {"source": f"s3://{BUCKET}/{KEY}", "state": "indexed", "chunks": 7, "pages": 3, "reason": None},
        {"source": f"s3://{BUCKET}/broken.pdf", "state": "failed", "chunks": 0, "pages": None, "reason": "bad"},
    ]


@contextmanager
def serving() -> Iterator[StubApi]:
    """The stub on a free loopback port, its base URL (ending in the stage, /v1/) in `url`."""
    stub = StubApi(documents=documents())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_port}/v1/"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def queries(stub: StubApi) -> list[tuple[str | None, dict | None]]:
    return [(authorization, body) for method, path, authorization, body in stub.requests if path == "/v1/query"]
