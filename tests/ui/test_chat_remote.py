"""The chat UI as it runs on AWS (RAGLINE_UI_API_URL set), run in-process by Streamlit's AppTest against a stub
of the query API: a loopback HTTP server that answers as the API Gateway + Lambda pair does and refuses any
request without the signed-in user's bearer token. A cited page is rendered from S3 (moto, in process).

AppTest's `user` stands in for Streamlit's OIDC sign-in (it sets what `st.user` returns, tokens included).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import streamlit as st
from moto import mock_aws
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from ragline.api import ConversationRequest
from ragline.entrypoints import ui
from tests.pdf_factory import write_report_pdf

TOKEN = "eyJ.id-token-of-the-signed-in-user.sig"
BUCKET = "ragline-ingest-test"
KEY = "reports/annual.pdf"
TIMEOUT_S = 60


@dataclass
class StubApi:
    """What the API answered is decided by `refuse` (a status and message for POST /query); `requests` keeps
    every (method, path, Authorization header, body) it was sent."""

    url: str = ""
    requests: list[tuple[str, str, str | None, dict | None]] = field(default_factory=list)
    refuse: tuple[int, str] | None = None
    documents: list[dict] = field(default_factory=list)


def _handler(stub: StubApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test's output is for failures
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            authorization = self.headers.get("Authorization")
            stub.requests.append((method, self.path, authorization, body))
            if authorization != f"Bearer {TOKEN}":  # as API Gateway's Cognito authorizer answers
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


@pytest.fixture
def stub_api(monkeypatch) -> Iterator[StubApi]:
    stub = StubApi(
        documents=[
            {"source": f"s3://{BUCKET}/{KEY}", "state": "indexed", "chunks": 7, "pages": 3, "reason": None},
            {"source": f"s3://{BUCKET}/broken.pdf", "state": "failed", "chunks": 0, "pages": None, "reason": "bad"},
        ]
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_port}/v1/"
    monkeypatch.setenv(ui.API_URL_ENV, stub.url)
    monkeypatch.setenv(ui.SOURCE_BUCKET_ENV, BUCKET)
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        st.cache_data.clear()
        st.cache_resource.clear()


def signed_in(token: str = TOKEN) -> AppTest:
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": True, "email": "ana@example.org", "tokens": {"id": token}}
    page.run()
    assert not page.exception, page.exception
    return page


def queries(stub: StubApi) -> list[tuple[str | None, dict | None]]:
    return [(authorization, body) for method, path, authorization, body in stub.requests if path == "/v1/query"]


def test_questions_go_to_the_api_as_the_signed_in_user_and_a_follow_up_keeps_the_session(stub_api):
    page = signed_in()
    assert "1 of 2 documents served, 7 chunks indexed" in [caption.value for caption in page.sidebar.caption]
    assert stub_api.requests[0][:3] == ("GET", "/v1/documents", f"Bearer {TOKEN}")

    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.chat_input[0].set_value("and the year before?").run()

    assert not page.exception and not page.error
    (first_auth, first), (second_auth, second) = queries(stub_api)
    assert first_auth == second_auth == f"Bearer {TOKEN}"
    assert first == {"question": "What was Northwind Cycles' net income?", "session": page.session_state.session}
    assert second == {"question": "and the year before?", "session": first["session"]}
    assert [message.name for message in page.chat_message] == ["user", "assistant", "user", "assistant"]
    assert "turn 2" in page.chat_message[3].markdown[0].value
    assert page.chat_message[3].caption[0].value == r"read as: and the year before? \(Northwind Cycles net income\)"
    assert page.toggle[0].label == "[1] annual.pdf · page 2"


def test_an_api_error_is_shown_as_its_message_and_adds_no_turn(stub_api):
    stub_api.refuse = (503, "the generation model is unavailable (ThrottlingException); retry in a moment")
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    assert [error.value for error in page.error] == [
        "the query API refused POST /query: the generation model is unavailable (ThrottlingException); "
        "retry in a moment"
    ]
    assert not page.exception and not page.chat_message


def test_an_expired_token_says_to_sign_in_again(stub_api):
    page = signed_in(token="expired")
    assert [error.value for error in page.error] == [
        "the query API refused GET /documents: Unauthorized (sign out and in again: the sign-in has expired)"
    ]
    assert not page.exception and not page.chat_input


def test_signed_out_the_page_offers_sign_in_and_calls_nothing(stub_api):
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": False}
    page.run()
    assert not page.exception
    assert [info.value for info in page.info] == ["Sign in to ask questions about the documents."]
    assert [button.label for button in page.button] == ["Sign in"]
    assert not page.chat_input and not stub_api.requests


@pytest.fixture
def s3_pdf(tmp_path, monkeypatch) -> Iterator[None]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        pdf = write_report_pdf(tmp_path, pages=3)
        s3.upload_file(str(pdf.path), BUCKET, KEY)
        yield


def test_a_cited_page_is_rendered_from_the_s3_object(stub_api, s3_pdf):
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.toggle[0].set_value(True).run()
    assert not page.exception and not page.warning, [w.value for w in page.warning]
    (image,) = page.image
    assert image.captions == ["annual.pdf, page 2"]


def test_a_source_outside_the_ingest_bucket_is_named_not_fetched(stub_api, s3_pdf, monkeypatch):
    monkeypatch.setenv(ui.SOURCE_BUCKET_ENV, "another-bucket")
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.toggle[0].set_value(True).run()
    assert [warning.value for warning in page.warning] == [
        f"s3://{BUCKET}/{KEY}: not in the ingest bucket, so the UI may not read it; see page 2"
    ]
    assert not page.image
