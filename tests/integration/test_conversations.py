"""Conversations end to end on the local engine (issue 14): `POST /query` with a session, `ragline ask --session`,
and what the composition root builds for them."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ragline.api import QueryRequest
from ragline.bootstrap import Services, World, build_engine
from ragline.config import Settings
from ragline.conversation import REWRITE_SYSTEM_PROMPT, ContextRewriter, LlmRewriter
from ragline.entrypoints.cli import DEMO_CORPUS, app
from ragline.entrypoints.server import create_app
from ragline.errors import ConfigurationError
from tests.unit.test_openai_compatible_requests import ChatServer

NORTHWIND = "northwind-cycles-annual-report-2025.pdf"
FIRST = "What was Northwind Cycles' net income in fiscal 2025?"
REWRITTEN = "What was Northwind Cycles' net income in fiscal 2024?"


@pytest.fixture
def northwind(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DEMO_CORPUS / NORTHWIND, folder / NORTHWIND)
    return folder


@pytest.fixture
def client(fast_engine, northwind):
    fast_engine.ingest([northwind])
    return TestClient(create_app(fast_engine))


def ask(client, question, **fields):
    response = client.post("/query", json={"question": question, "mode": "keyword", **fields})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_follow_up_is_answered_as_its_rewrite_and_says_its_conversation(client):
    first = ask(client, FIRST, session="chat-1")
    assert (first["session"], first["standalone_question"]) == ("chat-1", FIRST)
    follow_up = ask(client, "And the year before?", session="chat-1")
    assert follow_up["question"] == "And the year before?"
    assert follow_up["standalone_question"] == REWRITTEN
    assert follow_up["session"] == "chat-1"
    assert any(source["source"].endswith(NORTHWIND) and source["page"] == 3 for source in follow_up["sources"])


def test_without_a_session_a_question_stands_alone_as_before(client):
    ask(client, FIRST, session="chat-1")
    alone = ask(client, "And the year before?")
    assert alone["session"] is None and alone["standalone_question"] is None
    assert alone["question"] == "And the year before?"


def test_an_unknown_id_starts_a_new_conversation(client):
    ask(client, FIRST, session="chat-1")
    fresh = ask(client, "And the year before?", session="chat-2")
    assert fresh["standalone_question"] == "And the year before?"  # nothing to lean on: asked as it is


@pytest.mark.parametrize(
    ("session", "message"),
    [
        ("", "session: must not be empty"),
        ("x" * 65, "session: 65 characters, more than the limit of 64"),
        ("chat 1", "session: only letters A-Z and a-z, digits, '-' and '_' are allowed"),
        (7, "session: Input should be a valid string"),
    ],
)
def test_a_bad_conversation_id_is_a_400_naming_it(client, session, message):
    response = client.post("/query", json={"question": FIRST, "session": session})
    assert response.status_code == 400
    assert response.json()["error"] == message


def test_search_and_the_lambda_s_request_refuse_a_session_by_name(client):
    response = client.post("/search", json={"question": FIRST, "session": "chat-1"})
    assert response.status_code == 400 and response.json()["error"] == "session: Extra inputs are not permitted"
    assert "session" not in QueryRequest.model_fields  # the AWS /query model: conversations not kept there yet


def test_a_conversation_is_built_only_when_asked_for(fast_engine, northwind):
    fast_engine.ingest([northwind])
    fast_engine.ask(FIRST)
    assert "conversation_store" not in fast_engine.services.built()
    fast_engine.converse("chat-1", FIRST)
    assert {"conversation_store", "rewriter", "conversations"} <= set(fast_engine.services.built())
    assert isinstance(fast_engine.services.rewriter, ContextRewriter)


def test_a_conversation_outlives_the_engine_that_began_it(settings, hashing_embedder, northwind):
    first = build_engine(settings, embedder=hashing_embedder)
    first.ingest([northwind])
    first.converse("chat-1", FIRST)
    first.close()
    again = build_engine(settings, embedder=hashing_embedder)
    try:
        assert again.converse("chat-1", "And the year before?").standalone == REWRITTEN
    finally:
        again.close()


def test_on_aws_a_conversation_store_without_its_table_is_refused_naming_the_variable():
    settings = Settings(index={"backend": "opensearch"}, generation={"backend": "extractive"})
    with pytest.raises(ConfigurationError, match=r"^RAGLINE_CONVERSATION__TABLE is not set: name the table"):
        _ = Services(settings, world=World.AWS).conversation_store


def test_an_index_backend_without_a_conversation_store_is_refused_naming_it():
    settings = Settings(index={"backend": "elastic"}, generation={"backend": "extractive"})
    with pytest.raises(ConfigurationError, match="RAGLINE_INDEX__BACKEND='elastic': conversations are kept only"):
        _ = Services(settings).conversation_store


def test_a_laptop_store_keeps_no_owners_so_conversations_of_a_caller_are_refused(settings):
    with pytest.raises(ConfigurationError, match="keeps no owners"):
        Services(settings).conversations_of("cognito:someone")


def test_a_generator_that_cannot_rewrite_is_refused_naming_it(settings):
    configured = settings.model_copy(update={"generation": settings.generation.model_copy(update={"backend": "x"})})

    class AnswersOnly:
        name = "answers-only"

        def generate(self, question, sources):
            return ""

    with pytest.raises(ConfigurationError, match="RAGLINE_GENERATION__BACKEND='x' cannot rewrite follow-ups"):
        _ = Services(configured, generator=AnswersOnly()).rewriter


def test_with_an_llm_the_follow_up_is_rewritten_by_it_and_answered_as_rewritten(settings, hashing_embedder, northwind):
    # The chat server has one reply for every request: the rewrite, and an answer too.
    reply = {"choices": [{"message": {"role": "assistant", "content": f"{REWRITTEN}\n(the year before 2025)"}}]}
    with ChatServer(reply) as chat:
        generation = settings.generation.model_copy(
            update={"backend": "openai", "openai_base_url": f"{chat.url}/v1", "openai_model": "tiny"}
        )
        engine = build_engine(settings.model_copy(update={"generation": generation}), embedder=hashing_embedder)
        try:
            engine.ingest([northwind])
            engine.converse("chat-1", FIRST, mode="keyword")
            turn = engine.converse("chat-1", "And the year before?", mode="keyword")
            assert isinstance(engine.services.rewriter, LlmRewriter)
        finally:
            engine.close()
    _, rewrite, answer_2 = (request["body"]["messages"] for request in chat.requests)
    assert rewrite[0]["content"] == REWRITE_SYSTEM_PROMPT
    assert f"<question>{FIRST}</question>" in rewrite[1]["content"]
    assert "<follow_up>And the year before?</follow_up>" in rewrite[1]["content"]
    assert turn.standalone == REWRITTEN  # the reply's first line, taken as the rewrite ...
    assert f"Question: {REWRITTEN}" in answer_2[1]["content"]  # ... and answered as asked that way


# --- the CLI ------------------------------------------------------------------------------------

runner = CliRunner()


def test_ask_session_continues_a_conversation_across_commands(data_dir, northwind):
    assert runner.invoke(app, ["ingest", str(northwind)]).exit_code == 0
    first = runner.invoke(app, ["ask", FIRST, "--session", "cli-1", "--json"])
    assert first.exit_code == 0, first.output
    follow_up = runner.invoke(app, ["ask", "And the year before?", "--session", "cli-1", "--json"])
    assert follow_up.exit_code == 0, follow_up.output
    body = json.loads(follow_up.output)
    assert (body["session"], body["standalone_question"]) == ("cli-1", REWRITTEN)
    assert any(source["source"].endswith(NORTHWIND) and source["page"] == 3 for source in body["sources"])
    shown = runner.invoke(app, ["ask", "And the year after?", "--session", "cli-1"])
    assert "read as: What was Northwind Cycles' net income in fiscal 2025?" in shown.output
    assert "session cli-1" in shown.output


def test_ask_with_a_bad_session_names_it_and_exits_2(data_dir):
    result = runner.invoke(app, ["ask", FIRST, "--session", "no spaces"])
    assert result.exit_code == 2
    assert "--session: only letters A-Z and a-z, digits, '-' and '_' are allowed" in result.output
