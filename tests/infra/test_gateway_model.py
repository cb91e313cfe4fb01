"""API Gateway's request models refuse exactly what the runtime refuses.

The gateway checks a body before the query Lambda runs; the Lambda then checks it again with the route's
request model (ragline.api.ConversationRequest for /query, QueryRequest for /search: only /query takes a
conversation's `session`). A gateway stricter than the runtime refuses questions the engine would
answer (with a less precise message); a looser one hands the runtime bodies it must refuse itself.
Each body below is judged by the synthesized model (with jsonschema's draft-4 validator, as API Gateway
uses draft 4) and by the runtime, and the two verdicts must agree.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft4Validator
from pydantic import ValidationError

from ragline.api import QUESTION_MAX_CHARS, ConversationRequest
from ragline.conversation import SESSION_MAX_CHARS
from ragline.filters import MAX_PAGE, MAX_TAG_CHARS
from stacks.components.api import ROUTE_MODELS

Q = "What is the alarm threshold?"


def _body(**filter_fields: object) -> dict:
    return {"question": Q, "filter": filter_fields}


# Bodies on each side of every limit the runtime sets, and the values JSON can hold that a limit must refuse.
BODIES = [
    {"question": Q},
    {"question": ""},
    {"question": "   \t"},
    {"question": "x" * QUESTION_MAX_CHARS},
    {"question": "x" * (QUESTION_MAX_CHARS + 1)},
    {"question": Q, "unknown": 1},
    {"question": Q, "k": 1},
    {"question": Q, "k": 50},
    {"question": Q, "k": 0},
    {"question": Q, "k": 51},
    {"question": Q, "k": "3"},
    {"question": Q, "k": 2.5},
    {"question": Q, "mode": "keyword"},
    {"question": Q, "mode": "sparse"},
    {"question": Q, "mode": None},
    {"question": Q, "filter": None},
    {"question": Q, "filter": "source=*.pdf"},
    _body(),
    _body(nonsense=True),
    _body(source="*/annual-report*.pdf"),
    _body(source=""),
    _body(source=" \t "),
    _body(source="s" * 1025),
    _body(source=None),
    _body(tags=["finance"]),
    _body(tags=["t" * MAX_TAG_CHARS]),
    _body(tags=["t" * (MAX_TAG_CHARS + 1)]),
    _body(tags=[""]),
    _body(tags=[" "]),
    _body(tags=["x"] * 32),
    _body(tags=["x"] * 33),
    _body(tags="finance"),
    _body(page_from=1, page_to=MAX_PAGE),
    _body(page_from=0),
    _body(page_to=MAX_PAGE + 1),
    _body(page_to=9223372036854775808),
    _body(page_from=None),
    _body(page_from="3"),
    _body(date_from="2023-01-01", date_to="2023-12-31"),
    _body(date_from="2023-1-1"),
    _body(date_from="20230101"),
    _body(date_from="2023-01-01T00:00"),
    _body(date_from="2023-01-01\n"),
    _body(date_from=2023),
    _body(date_to=None),
    _body(date_to="31/12/2023"),
    _body(issuer="Amcor"),
    _body(issuer=""),
    _body(issuer="  "),
    _body(issuer="i" * 200),
    _body(issuer="i" * 201),
    _body(period="2023"),
    _body(period="2023-Q4"),
    _body(period="2023-03-31"),
    _body(period="2023-Q5"),
    _body(period="23"),
    _body(period="2023\n"),
    _body(doc_type="10-K"),
    _body(doc_type="earnings release"),
    _body(doc_type="Annual_Report"),
    _body(doc_type="brochure"),
    _body(doc_type=""),
    _body(doc_type="10-K" + " " * 61),
    {"question": Q, "session": "chat-1"},
    {"question": Q, "session": "s" * SESSION_MAX_CHARS},
    {"question": Q, "session": "s" * (SESSION_MAX_CHARS + 1)},
    {"question": Q, "session": ""},
    {"question": Q, "session": "chat 1"},
    {"question": Q, "session": "owner#chat-1"},
    {"question": Q, "session": "chat-1\n"},
    {"question": Q, "session": 7},
    {"question": Q, "session": None},
]
REQUESTS = dict(ROUTE_MODELS.values())  # model title -> the runtime's request model for that route

# What only the runtime can judge, with the reason the gateway's model cannot say it in draft 4.
RUNTIME_ONLY = {
    # A calendar: the model's pattern reads the shape, not whether February has a 30th.
    json.dumps(_body(date_from="2023-02-30")): "no such day",
    # Ordering across two fields: draft 4 has no way to compare one field with another.
    json.dumps(_body(page_from=5, page_to=2)): "page range reversed",
    json.dumps(_body(date_from="2024-01-01", date_to="2023-01-01")): "date range reversed",
}


def _models(synthesized) -> dict[str, dict]:
    return {
        resource["Properties"]["Schema"]["title"]: resource["Properties"]["Schema"]
        for _, resource in synthesized.resources("AWS::ApiGateway::Model").values()
        if resource["Properties"]["Schema"].get("title") in ("QueryRequest", "SearchRequest")
    }


def _runtime_accepts(body: dict, title: str = "QueryRequest") -> bool:
    try:
        REQUESTS[title].model_validate(body)  # as the query Lambda and the local server read a parsed JSON body
    except ValidationError:
        return False
    return True


def test_both_routes_have_a_request_model(synthesized):
    assert set(_models(synthesized)) == {"QueryRequest", "SearchRequest"}
    for schema in _models(synthesized).values():
        Draft4Validator.check_schema(schema)
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"


@pytest.mark.parametrize("body", BODIES, ids=lambda body: json.dumps(body)[:80])
def test_the_gateway_and_the_runtime_agree_on_each_body(synthesized, body):
    for title, schema in _models(synthesized).items():
        runtime = _runtime_accepts(body, title)
        gateway = Draft4Validator(schema).is_valid(body)
        assert gateway == runtime, f"{title}: gateway {'accepts' if gateway else 'refuses'}, runtime does not"


@pytest.mark.parametrize("body", list(RUNTIME_ONLY), ids=list(RUNTIME_ONLY.values()))
def test_what_only_the_runtime_refuses_passes_the_gateway_to_be_refused_by_name(synthesized, body):
    parsed = json.loads(body)
    assert not _runtime_accepts(parsed)
    for schema in _models(synthesized).values():
        assert Draft4Validator(schema).is_valid(parsed)


def _refused_fields(body: dict) -> set[str]:
    """The fields the runtime names in refusing the body: "k", or "filter.tags" for a filter's field."""
    try:
        ConversationRequest.model_validate(body)
    except ValidationError as error:
        return {".".join(str(part) for part in item["loc"][:2]) for item in error.errors()}
    return set()


def test_the_bodies_cover_both_verdicts_for_every_field():
    """Every field of the request and of its filter is refused by name at least once and accepted at least
    once, so a limit missing from either side has a body here to show it."""
    from ragline.filters import SearchFilter

    wanted = set(ConversationRequest.model_fields) | {f"filter.{name}" for name in SearchFilter.model_fields}
    accepted = set()
    for body in filter(_runtime_accepts, BODIES):
        accepted |= {name for name in body if name != "filter"} | {
            f"filter.{name}" for name in body.get("filter") or {}
        }
        accepted |= {"filter"} if body.get("filter") is not None else set()
    refused = set().union(*(_refused_fields(body) for body in BODIES))
    assert wanted - accepted == set()
    assert wanted - refused == set()
