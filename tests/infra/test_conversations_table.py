"""The conversations table (issue 14): what the DynamoDB store writes is what the table expires, encrypts and
keeps recoverable, and only the query function may read and add turns, with exactly the calls it makes."""

from __future__ import annotations

from ragline.adapters.aws.dynamodb_conversations import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from tests.infra.test_infra_security import _as_list, _statements


def _conversations_table(synthesized) -> tuple[str, dict]:
    (found,) = [
        (logical_id, table["Properties"])
        for logical_id, (_, table) in synthesized.resources("AWS::DynamoDB::Table").items()
        if logical_id.startswith("TablesConversations")
    ]
    return found


def test_the_table_is_keyed_as_the_store_writes_and_expires_the_attribute_it_writes(synthesized):
    _, table = _conversations_table(synthesized)
    assert table["KeySchema"] == [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ]
    types = {item["AttributeName"]: item["AttributeType"] for item in table["AttributeDefinitions"]}
    assert types == {PARTITION_KEY: "S", SORT_KEY: "N"}  # turns ordered by the time they were asked
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_table_is_encrypted_with_the_data_key_and_point_in_time_recoverable(synthesized):
    _, table = _conversations_table(synthesized)
    assert table["SSESpecification"]["SSEEnabled"] is True and table["SSESpecification"]["SSEType"] == "KMS"
    key = str(table["SSESpecification"]["KMSMasterKeyId"])
    assert "DataKey" in key, key  # the customer-managed key of the data stack, not AWS's own
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_query_function_is_told_the_table(synthesized):
    logical_id, _ = _conversations_table(synthesized)
    variables = {
        name.split("Function")[0]: function["Properties"].get("Environment", {}).get("Variables", {})
        for name, (_, function) in synthesized.resources("AWS::Lambda::Function").items()
    }
    told = {
        name: str(found["RAGLINE_CONVERSATION__TABLE"])
        for name, found in variables.items()
        if found.get("RAGLINE_CONVERSATION__TABLE")
    }
    assert set(told) == {"Query"}
    assert logical_id in told["Query"], told  # a reference to this table, not a name typed twice


def test_only_the_query_function_may_touch_conversations_with_query_and_putitem_only(synthesized):
    logical_id, _ = _conversations_table(synthesized)
    granted: dict[str, set[str]] = {}
    for path, statement in _statements(synthesized):
        if logical_id in str(statement["Resource"]):
            assert statement["Effect"] == "Allow"
            granted.setdefault(path.split("/")[1].split("Role")[0], set()).update(_as_list(statement["Action"]))
            # the table's own ARN, nothing wider (no index, no other table, no wildcard)
            assert all(logical_id in str(resource) for resource in _as_list(statement["Resource"])), statement
            assert "*" not in str(statement["Resource"]), statement
    assert granted == {"Query": {"dynamodb:Query", "dynamodb:PutItem"}}
