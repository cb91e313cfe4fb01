"""The DynamoDB conversation store (issue 14) on moto: the SQLite store's bounds, keyed by caller, with a TTL."""

from __future__ import annotations

import re

import boto3
import pytest

from ragline.adapters.aws.dynamodb_conversations import (
    PARTITION_KEY,
    SECONDS_PER_DAY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    DynamoDbConversationStore,
)
from ragline.bootstrap import Services, World
from ragline.config import Settings
from ragline.conversation import CitedSource, Turn
from ragline.errors import ConfigurationError

TABLE = "ragline-conversations"
ALICE = "cognito:5f0e3c2a-alice"
BOB = "cognito:9b1d7e44-bob"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        self.now += 0.001  # each call a millisecond later, as consecutive requests are
        return self.now


def create_table(client) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def client(aws):
    dynamodb = boto3.client("dynamodb")
    create_table(dynamodb)
    return dynamodb


def store(client, *, owner: str | None = ALICE, max_turns=6, max_tokens=2000, ttl_days=7, clock=None):
    built = DynamoDbConversationStore(
        client, TABLE, max_turns=max_turns, max_tokens=max_tokens, ttl_days=ttl_days, clock=clock or Clock()
    )
    return built.owned_by(owner) if owner is not None else built


def turn(n: int, tokens: int = 10) -> Turn:
    return Turn(
        question=f"q{n}",
        standalone=f"standalone {n}",
        answer=f"answer {n} [1]",
        sources=(CitedSource("s3://bucket/report.pdf", (n, n + 1)),),
        tokens=tokens,
        created_at=f"2026-12-01T10:00:0{n % 10}+00:00",
    )


def test_turns_come_back_oldest_first_as_written(client):
    conversations = store(client)
    for n in range(1, 4):
        conversations.append("chat-1", turn(n))
    assert conversations.recent("chat-1") == [turn(1), turn(2), turn(3)]


def test_an_unknown_session_has_no_turns(client):
    assert store(client).recent("never-asked") == []


def test_at_most_max_turns_are_read_the_newest(client):
    conversations = store(client, max_turns=3)
    for n in range(1, 6):
        conversations.append("chat-1", turn(n))
    assert [t.question for t in conversations.recent("chat-1")] == ["q3", "q4", "q5"]


def test_the_newest_turns_that_fit_in_max_tokens_are_read(client):
    conversations = store(client, max_tokens=100)
    for n, tokens in ((1, 10), (2, 60), (3, 30), (4, 50)):
        conversations.append("chat-1", turn(n, tokens))
    # newest first: 50 + 30 = 80 fit, + 60 does not; the older turn of 10 is not read past the gap
    assert [t.question for t in conversations.recent("chat-1")] == ["q3", "q4"]


def test_a_turn_larger_than_max_tokens_leaves_no_history(client):
    conversations = store(client, max_tokens=100)
    conversations.append("chat-1", turn(1, 101))
    assert conversations.recent("chat-1") == []


def test_each_turn_is_one_item_carrying_its_expiry_in_epoch_seconds(client):
    clock = Clock()
    conversations = store(client, ttl_days=3, clock=clock)
    conversations.append("chat-1", turn(1))
    written = clock.now
    [item] = client.scan(TableName=TABLE)["Items"]
    assert item[PARTITION_KEY] == {"S": f"{ALICE}#chat-1"}
    assert int(item[TTL_ATTRIBUTE]["N"]) == int(written) + 3 * SECONDS_PER_DAY
    assert int(item[SORT_KEY]["N"]) == int(written * 1_000_000)


def test_an_expired_turn_not_yet_deleted_by_dynamodb_is_not_read(client):
    clock = Clock()
    conversations = store(client, ttl_days=1, clock=clock)
    conversations.append("chat-1", turn(1))
    clock.now += SECONDS_PER_DAY - 60
    conversations.append("chat-1", turn(2))
    assert [t.question for t in conversations.recent("chat-1")] == ["q1", "q2"]
    clock.now += 120  # the first turn's day is over; DynamoDB's TTL deletes it within days, not at once
    assert [t.question for t in conversations.recent("chat-1")] == ["q2"]


def test_one_caller_cannot_read_another_callers_conversation_of_the_same_id(client):
    alice, bob = store(client, owner=ALICE), store(client, owner=BOB)
    alice.append("chat-1", turn(1))
    assert bob.recent("chat-1") == []
    bob.append("chat-1", turn(2))
    assert [t.question for t in alice.recent("chat-1")] == ["q1"]
    assert [t.question for t in bob.recent("chat-1")] == ["q2"]


def test_an_owner_cannot_reach_another_s_conversation_through_the_separator(client):
    # "alice#chat" as an owner with session "1" would be key "alice#chat#1", not alice's "chat-1"; and a
    # session cannot hold "#" at all (the API refuses it), so keys never collide.
    store(client, owner="alice").append("chat-1", turn(1))
    assert store(client, owner="alice#chat").recent("1") == []


def test_a_store_not_told_its_owner_refuses_to_read_or_write(client):
    unowned = store(client, owner=None)
    not_told = r"^the DynamoDB conversation store was not told whose conversations it holds$"
    with pytest.raises(ConfigurationError, match=not_told):
        unowned.recent("chat-1")
    with pytest.raises(ConfigurationError, match=not_told):
        unowned.append("chat-1", turn(1))
    no_identity = r"^a conversation on AWS needs its caller's identity; none was given$"
    with pytest.raises(ConfigurationError, match=no_identity):
        unowned.owned_by("")


def test_two_turns_in_the_same_microsecond_are_both_kept(client):
    conversations = store(client, clock=lambda: NOW)
    conversations.append("chat-1", turn(1))
    conversations.append("chat-1", turn(2))
    assert [t.question for t in conversations.recent("chat-1")] == ["q1", "q2"]


def test_a_turn_that_finds_every_next_microsecond_taken_is_refused_naming_its_conversation(client):
    # Three tries, each one microsecond later: a clock stuck for a fourth turn is a fault to report, not to loop on.
    conversations = store(client, clock=lambda: NOW)
    for n in range(1, 4):
        conversations.append("chat-1", turn(n))
    with pytest.raises(RuntimeError, match=r"^conversation 'chat-1': 3 turns written in the same microseconds$"):
        conversations.append("chat-1", turn(4))
    assert [t.question for t in conversations.recent("chat-1")] == ["q1", "q2", "q3"]


@pytest.mark.parametrize(("field", "value"), [("max_turns", 0), ("max_tokens", 0), ("ttl_days", 0)])
def test_bounds_below_one_are_refused_naming_them(client, field, value):
    bounds = {"max_turns": 6, "max_tokens": 2000, "ttl_days": 7, field: value}
    expected = (
        f"max_turns ({bounds['max_turns']}), max_tokens ({bounds['max_tokens']}) and ttl_days ({bounds['ttl_days']}) "
        "must be at least 1"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        store(client, **bounds)


def test_the_smallest_bounds_keep_the_newest_one_token_turn_for_a_day(client):
    conversations = store(client, max_turns=1, max_tokens=1, ttl_days=1)
    conversations.append("chat-1", turn(1, tokens=1))
    conversations.append("chat-1", turn(2, tokens=1))
    assert conversations.recent("chat-1") == [turn(2, tokens=1)]


def test_bootstrap_builds_it_beside_opensearch_with_the_conversation_settings(monkeypatch):
    monkeypatch.setenv("RAGLINE_INDEX__BACKEND", "opensearch")
    monkeypatch.setenv("RAGLINE_CONVERSATION__TABLE", TABLE)
    monkeypatch.setenv("RAGLINE_CONVERSATION__MAX_TURNS", "4")
    monkeypatch.setenv("RAGLINE_CONVERSATION__MAX_TOKENS", "900")
    monkeypatch.setenv("RAGLINE_CONVERSATION__TTL_DAYS", "2")
    built = Services(Settings(), world=World.AWS).conversation_store
    assert isinstance(built, DynamoDbConversationStore)
    assert (built.table, built.max_turns, built.max_tokens, built.ttl_days, built.owner) == (TABLE, 4, 900, 2, None)
    assert built.dynamodb.meta.service_model.service_name == "dynamodb"


@pytest.mark.parametrize("days", ["0", "366"])
def test_a_ttl_out_of_bounds_is_refused_naming_the_setting(monkeypatch, days):
    from pydantic import ValidationError

    monkeypatch.setenv("RAGLINE_CONVERSATION__TTL_DAYS", days)
    with pytest.raises(ValidationError, match=r"conversation\.ttl_days"):
        Settings()


def test_the_read_is_one_strongly_consistent_query_newest_first_limited_to_max_turns():
    """moto is consistent either way: the request itself must ask DynamoDB for a strongly consistent read,
    or a follow-up sent right after its turn may be rewritten without it."""
    from botocore.stub import ANY, Stubber

    client = boto3.client("dynamodb")
    expected = {
        "TableName": TABLE,
        "KeyConditionExpression": ANY,
        "FilterExpression": ANY,
        "ExpressionAttributeNames": ANY,
        "ExpressionAttributeValues": {":key": {"S": f"{ALICE}#chat-1"}, ":now": {"N": str(int(NOW + 0.001))}},
        "ScanIndexForward": False,
        "Limit": 4,
        "ConsistentRead": True,
    }
    with Stubber(client) as stubber:
        stubber.add_response("query", {"Items": []}, expected)
        assert store(client, max_turns=4).recent("chat-1") == []
        stubber.assert_no_pending_responses()
