"""What the OpenAI-compatible generator sends to a chat server, and how an unreachable one is reported.

The generator the engine builds from settings makes its own HTTP client, so these tests run a
real chat server on a loopback port and read the requests as they arrive.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ragline.adapters.local.openai_compatible import OpenAICompatibleGenerator
from ragline.bootstrap import Services
from ragline.config import Settings
from ragline.errors import ModelUnavailableError
from tests.contracts.generator_contract import sources

REPLY = {"choices": [{"message": {"role": "assistant", "content": "Below 55 psi [1]."}}]}


class ChatServer:
    """A loopback OpenAI-compatible server: records path, headers and JSON body of each POST.

    It answers `reply` with HTTP `status`; with `hold_seconds` it first holds each request that long, or until
    the server is closed, as a server busy loading a model does.
    """

    def __init__(self, reply: object = REPLY, status: int = 200, hold_seconds: float = 0.0) -> None:
        self.requests: list[dict] = []
        self._closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                server._closed.wait(hold_seconds)
                data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_) -> None:
        self._closed.set()
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture(autouse=True)
def no_backoff_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """tenacity still retries with its jittered back-off; the tests just do not wait for it."""
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda seconds: None)


def _configured_generator(settings: Settings, **generation: object):
    configured = settings.model_copy(update={"generation": settings.generation.model_copy(update=generation)})
    return Services(configured).generator


def test_a_configured_server_gets_the_api_key_as_a_bearer_token(settings, chat_server):
    generator = _configured_generator(
        settings, backend="openai", openai_base_url=f"{chat_server.url}/v1", openai_model="tiny", openai_api_key="sk-1"
    )
    assert generator.generate("What is the threshold?", sources()) == "Below 55 psi [1]."
    (request,) = chat_server.requests
    assert request["headers"]["Authorization"] == "Bearer sk-1"


def test_a_configured_host_only_url_without_a_key_gets_chat_completions_at_its_root_unauthenticated(
    settings, chat_server
):
    # pydantic gives the host-only URL back with a trailing slash: no "//" may reach the server.
    generator = _configured_generator(settings, backend="openai", openai_base_url=chat_server.url)
    generator.generate("What is the threshold?", sources())
    (request,) = chat_server.requests
    assert request["path"] == "/chat/completions"
    assert "Authorization" not in request["headers"]


@pytest.mark.parametrize("suffix", ["", "/", "/v1/", "/v1//"])
def test_chat_completions_is_appended_to_the_base_url_whatever_its_trailing_slashes(chat_server, suffix):
    OpenAICompatibleGenerator(chat_server.url + suffix, "tiny").generate("What is the threshold?", sources())
    (request,) = chat_server.requests
    assert request["path"] == ("/v1" if "v1" in suffix else "") + "/chat/completions"


def test_the_request_asks_for_the_configured_model_at_temperature_zero(chat_server):
    OpenAICompatibleGenerator(chat_server.url + "/v1", "tiny").generate("What is the threshold?", sources())
    (request,) = chat_server.requests
    assert (request["body"]["model"], request["body"]["temperature"]) == ("tiny", 0)


def test_a_server_that_cannot_be_reached_is_named_with_its_url_after_the_retries():
    attempts = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    generator = OpenAICompatibleGenerator(
        "http://llm.local/v1", "tiny", client=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(ModelUnavailableError) as raised:
        generator.generate("q?", sources())
    assert (
        str(raised.value) == "http://llm.local/v1/chat/completions could not be reached: [Errno 111] Connection refused"
    )
    assert len(attempts) == 4


def test_a_server_slower_than_the_configured_timeout_is_given_up_on_after_the_retries(settings):
    # The server holds each request for 2 s; the generator the engine builds must give up after its configured
    # 0.2 s, not wait for httpx's default of 5 s or forever.
    with ChatServer(hold_seconds=2.0) as slow_server:
        generator = _configured_generator(
            settings, backend="openai", openai_base_url=f"{slow_server.url}/v1", timeout_seconds=0.2
        )
        with pytest.raises(ModelUnavailableError) as raised:
            generator.generate("What is the threshold?", sources())
    assert str(raised.value).startswith(f"{slow_server.url}/v1/chat/completions could not be reached: ")
    assert len(slow_server.requests) == 4


@pytest.mark.parametrize(
    "reply", [{"choices": []}, {"error": {"message": "model 'tiny' not found"}}, {"choices": [{"text": "x" * 500}]}]
)
def test_a_reply_without_an_answer_is_reported_with_the_start_of_what_the_server_sent(reply):
    with ChatServer(reply=reply) as server, pytest.raises(ModelUnavailableError) as raised:
        OpenAICompatibleGenerator(server.url, "tiny").generate("What is the threshold?", sources())
    # At most the first 200 characters: a whole error page would drown the message.
    assert (
        str(raised.value) == f"{server.url}/chat/completions returned no choices[0].message.content: {str(reply)[:200]}"
    )


@pytest.mark.parametrize("body", ["model 'tiny' not found", "<html>" + "x" * 500])
def test_a_refused_request_is_reported_with_its_status_and_the_start_of_the_server_s_answer(body):
    with ChatServer(reply=body, status=404) as server, pytest.raises(ModelUnavailableError) as raised:
        OpenAICompatibleGenerator(server.url, "tiny").generate("What is the threshold?", sources())
    assert str(raised.value) == f"{server.url}/chat/completions answered HTTP 404: {body[:200]}"
    assert len(server.requests) == 1  # a 404 is not worth retrying
