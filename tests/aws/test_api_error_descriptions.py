"""The query Lambda describes invalid requests in the local server's words (ragline.api.describe_errors):
the parser's own reason for a body that is not JSON, "body" for one that is not an object (issue 16)."""

from __future__ import annotations

import json

import pytest

from ragline.entrypoints.lambdas import query
from tests.aws.api_events import api_event
from tests.aws.conftest import CONTEXT


@pytest.fixture
def api(stack):
    stack.as_function("query")
    return stack


def _refused(body: str | None) -> tuple[str, list[dict]]:
    response = query.lambda_handler(api_event(body), CONTEXT)
    assert response["statusCode"] == 400
    answer = json.loads(response["body"])
    return answer["error"], answer["details"]


def test_a_body_that_is_not_json_says_what_the_parser_found(api):
    error, (detail,) = _refused('{"question": ')
    assert detail["type"] == "json_invalid" and detail["msg"]
    assert error == f"body: not valid JSON ({detail['msg']})"


@pytest.mark.parametrize("body", ['["pumps?"]', '"pumps?"', None])
def test_a_body_that_is_not_an_object_is_named_body(api, body):
    error, (detail,) = _refused(body)
    assert error == f"body: {detail['msg']}"


def test_every_invalid_field_has_its_clause_in_order(api):
    error, details = _refused('{"question": "", "k": 0, "mode": "fuzzy"}')
    assert [detail["loc"][-1] for detail in details] == ["question", "k", "mode"]
    assert error == "; ".join(f"{detail['loc'][-1]}: {detail['msg']}" for detail in details)
