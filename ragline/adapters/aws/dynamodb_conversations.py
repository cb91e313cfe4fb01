"""The conversation store on AWS: one DynamoDB item per turn, expired by the table's TTL.

Keys. The partition key (`conversation`) is the caller's identity and the conversation id,
`<owner>#<session>`: the query Lambda takes the owner from API Gateway's request context (the
Cognito `sub`, or the IAM caller's ARN), never from the body, so an id guessed or shared by
another caller names another partition and reads nothing. A session id holds no `#`
(`ragline.conversation.SESSION_PATTERN`), so no two (owner, session) pairs share a key. A store
is told its owner with `owned_by`; one that was not refuses to read or write.

Turns. The sort key (`turn`) is the time the turn was written in microseconds since the epoch,
so a Query in reverse order reads the newest first, and an append is one PutItem (no read of the
last turn number first). A put never overwrites: two turns of one conversation written in the
same microsecond are a conflict, retried with the next microsecond.

Bounds. `recent` reads at most `max_turns` items (Query, newest first, `Limit`), strongly
consistent so that a follow-up sent right after its turn sees it, then keeps as many of the
newest as fit in `max_tokens`, as the SQLite store does. Older turns are never read and never
deleted by the runtime: the table's TTL removes each turn `ttl_days` after it was asked. This
spends storage of an idle turn for the TTL's time instead of a read and a delete on every append,
and keeps the function's grant to Query and PutItem. DynamoDB deletes expired items within days,
not at once, so reads also filter out turns whose `expires_at` has passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ragline.config import Settings
from ragline.conversation import CitedSource, Turn, newest_within
from ragline.errors import ConfigurationError

PARTITION_KEY = "conversation"
SORT_KEY = "turn"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; the table's time_to_live_attribute (stacks/components/tables.py)
OWNER_SEPARATOR = "#"
SECONDS_PER_DAY = 86_400
_PUT_ATTEMPTS = 3  # microsecond collisions in one conversation: a second attempt already clears them


def conversation_key(owner: str, session: str) -> str:
    """The partition key of `session` as `owner` holds it."""
    _require_owner(owner)
    return f"{owner}{OWNER_SEPARATOR}{session}"


def _require_owner(owner: str) -> None:
    if not owner:
        raise ConfigurationError("a conversation on AWS needs its caller's identity; none was given")


@dataclass(frozen=True)
class DynamoDbConversationStore:
    dynamodb: Any
    table: str
    max_turns: int
    max_tokens: int
    ttl_days: int
    owner: str | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.max_turns < 1 or self.max_tokens < 1 or self.ttl_days < 1:
            raise ValueError(
                f"max_turns ({self.max_turns}), max_tokens ({self.max_tokens}) and ttl_days ({self.ttl_days}) "
                "must be at least 1"
            )

    def owned_by(self, owner: str) -> DynamoDbConversationStore:
        """The same table, reading and writing only `owner`'s conversations."""
        _require_owner(owner)  # refused here, before any request
        return replace(self, owner=owner)

    def _key(self, session: str) -> str:
        if self.owner is None:
            raise ConfigurationError("the DynamoDB conversation store was not told whose conversations it holds")
        return conversation_key(self.owner, session)

    def recent(self, session: str) -> list[Turn]:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="#pk = :key",
            FilterExpression="#ttl > :now",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":key": {"S": self._key(session)}, ":now": {"N": str(int(self.clock()))}},
            ScanIndexForward=False,  # newest first: the bound keeps the newest turns
            Limit=self.max_turns,
            ConsistentRead=True,
        )
        return newest_within((_turn(item) for item in response.get("Items", [])), self.max_tokens)

    def append(self, session: str, turn: Turn) -> None:
        from botocore.exceptions import ClientError

        key = self._key(session)
        now = self.clock()
        position = int(now * 1_000_000)
        for attempt in range(_PUT_ATTEMPTS):
            item = _item(key, position + attempt, turn, expires_at=int(now) + self.ttl_days * SECONDS_PER_DAY)
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#sk)",
                    ExpressionAttributeNames={"#sk": SORT_KEY},
                )
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"conversation {session!r}: {_PUT_ATTEMPTS} turns written in the same microseconds")


def dynamodb_conversations(settings: Settings) -> DynamoDbConversationStore:
    """The store `ragline.bootstrap` builds beside the OpenSearch index; its client is built here, on first use."""
    from ragline.adapters.aws.clients import aws_client

    conversation = settings.conversation
    if not conversation.table:
        raise ConfigurationError("RAGLINE_CONVERSATION__TABLE is not set: name the table conversations are kept in")
    return DynamoDbConversationStore(
        aws_client("dynamodb", settings.aws),
        conversation.table,
        max_turns=conversation.max_turns,
        max_tokens=conversation.max_tokens,
        ttl_days=conversation.ttl_days,
    )


def _item(key: str, position: int, turn: Turn, *, expires_at: int) -> dict[str, Any]:
    sources = [{"source": cited.source, "pages": list(cited.pages)} for cited in turn.sources]
    return {
        PARTITION_KEY: {"S": key},
        SORT_KEY: {"N": str(position)},
        "question": {"S": turn.question},
        "standalone": {"S": turn.standalone},
        "answer": {"S": turn.answer},
        "sources": {"S": json.dumps(sources)},
        "tokens": {"N": str(turn.tokens)},
        "created_at": {"S": turn.created_at},
        TTL_ATTRIBUTE: {"N": str(expires_at)},
    }


def _turn(item: dict[str, Any]) -> Turn:
    return Turn(
        question=item["question"]["S"],
        standalone=item["standalone"]["S"],
        answer=item["answer"]["S"],
        sources=tuple(
            CitedSource(cited["source"], tuple(cited["pages"])) for cited in json.loads(item["sources"]["S"])
        ),
        tokens=int(item["tokens"]["N"]),
        created_at=item["created_at"]["S"],
    )
