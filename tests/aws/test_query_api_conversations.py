"""The query Lambda's conversations (issue 14): `POST /query` with a session, through the real handler.

The same contract as the local server's (tests/integration/test_conversations.py): the follow-up is rewritten
with the earlier turns (here by the configured SageMaker LLM), the response carries `session` and
`standalone_question`, and the turn is kept, in DynamoDB. A conversation is kept under the caller API Gateway
authenticated (a Cognito user's `sub`, an IAM signer's ARN), so the same id sent by another caller is a
conversation of its own.
"""

from __future__ import annotations

import pytest

from ragline.adapters.aws.dynamodb_conversations import PARTITION_KEY, TTL_ATTRIBUTE
from tests.aws.api_events import api_event, cognito_caller, iam_caller
from tests.aws.test_query_api import call, indexed_api  # noqa: F401  # the query function's environment

ALICE = cognito_caller("5f0e3c2a-0000-4000-8000-00000000a11c")
BOB = cognito_caller("9b1d7e44-0000-4000-8000-000000000b0b")
ALICE_IAM = iam_caller("arn:aws:iam::123456789012:user/alice")
FIRST = "What is the low-pressure alarm threshold at the Hillcrest pump station?"
FOLLOW_UP = "And at Cedar Ridge?"
REWRITTEN = "What is the low-pressure alarm threshold at the Cedar Ridge pump station?"


@pytest.fixture
def chat(indexed_api, endpoint, monkeypatch):  # noqa: F811
    """The generator endpoint rewrites any follow-up into REWRITTEN and answers everything else as before."""
    answer = endpoint._chat

    def reply(messages: list[dict]) -> dict:
        if "<follow_up>" in messages[-1]["content"]:
            return {"choices": [{"message": {"role": "assistant", "content": REWRITTEN}}]}
        return answer(messages)

    monkeypatch.setattr(endpoint, "_chat", reply)
    return indexed_api


def ask(question: str, caller: dict | None, session: str | None = "chat-1") -> tuple[int, dict]:
    body = {"question": question} if session is None else {"question": question, "session": session}
    return call(api_event(body, caller=caller))


def rewrite_requests(endpoint) -> list[str]:
    return [
        call["request"]["messages"][-1]["content"]
        for call in endpoint.calls
        if "messages" in call["request"] and "<follow_up>" in call["request"]["messages"][-1]["content"]
    ]


def turns(stack, key: str) -> list[dict]:
    items = stack.dynamodb.scan(TableName=stack.conversation_table)["Items"]
    return [item for item in items if item[PARTITION_KEY]["S"] == key]


@pytest.mark.parametrize(
    ("caller", "key"),
    [
        (ALICE, "cognito:5f0e3c2a-0000-4000-8000-00000000a11c#chat-1"),
        (ALICE_IAM, "iam:arn:aws:iam::123456789012:user/alice#chat-1"),
    ],
    ids=["cognito", "iam"],
)
def test_a_follow_up_is_rewritten_with_the_earlier_turn_and_kept_under_its_caller(chat, endpoint, caller, key):
    status, first = ask(FIRST, caller)
    assert status == 200, first
    assert (first["session"], first["standalone_question"], first["question"]) == ("chat-1", FIRST, FIRST)
    assert rewrite_requests(endpoint) == []  # a first turn has nothing to be rewritten with
    status, second = ask(FOLLOW_UP, caller)
    assert status == 200, second
    assert (second["session"], second["question"], second["standalone_question"]) == ("chat-1", FOLLOW_UP, REWRITTEN)
    [prompt] = rewrite_requests(endpoint)
    assert f"<question>{FIRST}</question>" in prompt and f"<follow_up>{FOLLOW_UP}</follow_up>" in prompt
    kept = turns(chat, key)
    assert sorted(item["question"]["S"] for item in kept) == sorted([FIRST, FOLLOW_UP])
    assert all(int(item[TTL_ATTRIBUTE]["N"]) > 0 for item in kept)


def test_another_caller_sending_the_same_id_reads_nothing_of_the_conversation(chat, endpoint):
    assert ask(FIRST, ALICE)[0] == 200
    status, bobs = ask(FOLLOW_UP, BOB)
    assert status == 200, bobs
    assert bobs["standalone_question"] == FOLLOW_UP  # no history of his: nothing to rewrite with
    assert rewrite_requests(endpoint) == []
    # and Alice's own follow-up still reads her turn, not Bob's
    status, alices = ask(FOLLOW_UP, ALICE)
    assert status == 200 and alices["standalone_question"] == REWRITTEN
    [prompt] = rewrite_requests(endpoint)
    assert f"<question>{FIRST}</question>" in prompt and prompt.count("<turn>") == 1


def test_the_same_user_by_iam_and_by_cognito_are_different_callers(chat, endpoint):
    assert ask(FIRST, ALICE_IAM)[0] == 200
    assert ask(FOLLOW_UP, ALICE)[1]["standalone_question"] == FOLLOW_UP


def test_a_session_without_an_authenticated_caller_is_a_403_naming_it(chat):
    status, answer = ask(FIRST, caller=None)
    assert status == 403
    assert answer["error"].startswith("session: a conversation is kept under its caller's identity")
    assert chat.dynamodb.scan(TableName=chat.conversation_table)["Items"] == []


def test_without_a_session_the_answer_is_unchanged_and_nothing_is_kept(chat):
    status, answer = ask(FIRST, ALICE, session=None)
    assert status == 200, answer
    assert answer["session"] is None and answer["standalone_question"] is None
    assert chat.dynamodb.scan(TableName=chat.conversation_table)["Items"] == []


@pytest.mark.parametrize(
    ("session", "named"),
    [
        ("", "session: must not be empty"),
        ("chat 1", "session: only letters A-Z and a-z, digits, '-' and '_' are allowed"),
        ("alice#chat-1", "session: only letters A-Z and a-z, digits, '-' and '_' are allowed"),
        ("x" * 65, "session: 65 characters, more than the limit of 64"),
        (7, "session: Input should be a valid string"),
    ],
)
def test_a_bad_session_is_a_400_naming_it(chat, session, named):
    status, answer = call(api_event({"question": FIRST, "session": session}, caller=ALICE))
    assert status == 400
    assert named in answer["error"]


def test_search_takes_no_session(chat):
    status, answer = call(api_event({"question": FIRST, "session": "chat-1"}, path="/search", caller=ALICE))
    assert status == 400
    assert answer["error"] == "session: Extra inputs are not permitted"
