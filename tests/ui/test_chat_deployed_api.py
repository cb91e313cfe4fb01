"""The chat UI's AWS mode against the deployed query function, not a stub: the UI and the Lambda agree.

The `cognito` profile `make synth` writes (cdk.out/cognito) is deployed into the mock account by the
deployed-shape harness (tests/deployed/harness.py), and a PDF goes through the deployed ingestion into the index.
The UI (Streamlit's AppTest, signed in) is pointed at a loopback stand-in for API Gateway: it checks the bearer
token as the Cognito authorizer would (one known token per user) and hands the request to the deployed query
function as the AWS_PROXY integration does, with the identity the authorizer gives that user. So the UI's body
must pass the function's ConversationRequest, its QueryResponse and document list must be what the UI reads,
and a follow-up must be answered in context by the function's conversation store (DynamoDB, per caller).
Not covered here: API Gateway's own request validation (the harness calls the function directly).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ragline.entrypoints import ui
from tests.deployed.harness import Deployment, profile_folder
from tests.deployed.template import Assembly

# The document and question tests/deployed/test_deployed.py uses (importing that module would collect its marks).
RUNBOOK = Path(__file__).resolve().parents[2] / "demo" / "corpus" / "riverbend-water-operations-runbook.pdf"
KEY = "manuals/riverbend runbook.pdf"
QUESTION = "What is the low-pressure alarm threshold at the Hillcrest pump station?"
PROFILE = "cognito"  # the chat UI needs apiAuth=cognito; this profile is the API it calls
USERS = {"id-token-of-alice": "alice"}  # what the authorizer reads from each valid ID token
FOLLOW_UP = "And what happens below it?"
TIMEOUT_S = 120


def rewrite_prompts(deployment: Deployment) -> list[str]:
    """The follow-ups' rewrite prompts the generation model was sent (the fenced <follow_up> of the function)."""
    texts = []
    for call in deployment.models.fake.calls:
        messages = call["request"].get("messages") or []
        texts.append(messages[-1]["content"] if messages else str(call["request"].get("inputs", "")))
    return [text for text in texts if "<follow_up>" in text]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    folder = profile_folder(PROFILE)
    if not (folder / "manifest.json").is_file():
        pytest.fail(f"cdk.out/{PROFILE} is missing: run `make synth`")
    monkeypatch = pytest.MonkeyPatch()
    for name in list(os.environ):  # the harness talks to the mock cloud only (as tests/deployed/conftest.py)
        if name.startswith(("AWS_", "RAGLINE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    built = Deployment(PROFILE, Assembly.load(folder))
    try:
        built.start(monkeypatch)
        with built.cloud.enforcing():  # as CloudFormation would: the chunk index, the roles' mapping, then a PDF
            for resource_type in ("Custom::RaglineSearchIndex", "Custom::RaglineSearchRoleMapping"):
                created = built.custom_resource(resource_type, "Create")
                assert created.status == "SUCCESS", created.reason
            s3 = built.cloud.client("s3")
            s3.put_object(Bucket=built.output("IngestBucketName"), Key=KEY, Body=RUNBOOK.read_bytes())
            for invocation in built.deliver():
                invocation.result  # noqa: B018 (raises if the function failed)
        yield built
    finally:
        built.stop()
        monkeypatch.undo()


@pytest.fixture
def gateway(deployment: Deployment, monkeypatch) -> Iterator[list[tuple[str, str, int]]]:
    """API Gateway's part on loopback: the authorizer's token check, then the integration. Yields what it served:
    (method, path, status)."""
    served: list[tuple[str, str, int]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            path = self.path.removeprefix("/v1")
            user = USERS.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
            if user is None:
                status, text = 401, json.dumps({"error": "Unauthorized", "details": []})
            else:
                with deployment.cloud.enforcing():
                    response = deployment.api(method, path, body, caller=user)
                status, text = response["statusCode"], response["body"]
            served.append((method, path, status))
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(ui.API_URL_ENV, f"http://127.0.0.1:{server.server_port}/v1/")
    monkeypatch.setenv(ui.SOURCE_BUCKET_ENV, deployment.output("IngestBucketName"))
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        st.cache_data.clear()
        st.cache_resource.clear()


def test_the_ui_asks_the_deployed_function_and_a_follow_up_is_answered_in_context(deployment, gateway):
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": True, "tokens": {"id": "id-token-of-alice"}}
    page.run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert "1 of 1 documents served" in page.sidebar.caption[0].value
    before = len(rewrite_prompts(deployment))

    page.chat_input[0].set_value(QUESTION).run()
    page.chat_input[0].set_value(FOLLOW_UP).run()

    assert not page.exception and not page.error, [e.value for e in page.error]
    assert [(method, path, status) for method, path, status in gateway if path == "/query"] == [
        ("POST", "/query", 200),
        ("POST", "/query", 200),
    ]
    first, second = page.session_state.turns
    bucket = deployment.output("IngestBucketName")
    assert first.answer and {source.source for source in first.sources} == {f"s3://{bucket}/{KEY}"}
    assert first.session == second.session == page.session_state.session
    # The function's store kept Alice's first turn: the model rewrote the follow-up with it, and the page says so.
    [prompt] = rewrite_prompts(deployment)[before:]
    assert f"<question>{QUESTION}</question>" in prompt and f"<follow_up>{FOLLOW_UP}</follow_up>" in prompt
    assert second.standalone_question and second.standalone_question != FOLLOW_UP
    assert page.chat_message[3].caption[0].value.startswith("read as: ")
    assert page.toggle[0].label.startswith("[1] riverbend runbook.pdf · page ")


def test_a_token_the_authorizer_does_not_know_never_reaches_the_function(deployment, gateway):
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": True, "tokens": {"id": "id-token-of-mallory"}}
    page.run()
    assert [error.value for error in page.error] == [
        "the query API refused GET /documents: Unauthorized (sign out and in again: the sign-in has expired)"
    ]
    assert gateway == [("GET", "/documents", 401)]
