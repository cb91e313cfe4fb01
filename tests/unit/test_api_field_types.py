"""Each field of the query API takes what its OpenAPI schema says, as JSON writes it, and nothing that lax
pydantic would read as something else (the number 2023 as a Unix time, true as page 1). A refusal is a
400 naming the field; the served schema refuses and accepts the same values the server does."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import jsonschema
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ragline.entrypoints.server import create_app, openapi_document
from ragline.filters import SearchFilter, parse_filter_expressions
from ragline.model import Answer
from tests.unit.test_server_limits import assert_error_shape


class RecordingEngine:
    """Answers at once and keeps what each request asked for, to see what a field was read as."""

    def __init__(self) -> None:
        self.asked: list[dict] = []
        self.embedder = SimpleNamespace(model_name="stub")
        self.index = SimpleNamespace(count=lambda: 0)

    def ask(self, question: str, **kwargs: object) -> Answer:
        self.asked.append({"question": question, **kwargs})
        return Answer(question=question, text="", citations=(), grounded=False, mode="hybrid", generator="stub")


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def client(engine) -> TestClient:
    return TestClient(create_app(engine))  # type: ignore[arg-type]


REFUSED = [
    ({"filter": {"date_from": 2023}}, "filter.date_from: Input should be a valid date, written YYYY-MM-DD"),
    ({"filter": {"date_to": 1672531200}}, "filter.date_to: Input should be a valid date, written YYYY-MM-DD"),
    ({"filter": {"date_from": "2023-01-01T00:00:00"}}, "filter.date_from: Input should be a valid date, written"),
    ({"filter": {"date_from": "1672531200"}}, "filter.date_from: Input should be a valid date, written YYYY-MM-DD"),
    ({"filter": {"date_to": "2023-02-30"}}, "filter.date_to: Input should be a valid date"),
    ({"filter": {"page_from": True}}, "filter.page_from: Input should be a valid integer"),
    ({"filter": {"page_to": "3"}}, "filter.page_to: Input should be a valid integer"),
    ({"filter": {"page_from": 2.5}}, "filter.page_from: Input should be a valid integer"),
    ({"filter": {"page_from": 0}}, "filter.page_from: Input should be greater than or equal to 1"),
    ({"filter": {"doc_type": ""}}, "filter.doc_type: Value error, '' is not one of 10-K"),
    ({"filter": {"doc_type": "10\u00a0K"}}, "filter.doc_type: Value error, '10\\xa0K' is not one of 10-K"),
    ({"filter": {"period": ""}}, "filter.period: Value error, '' is not a year, month, day or quarter"),
    ({"filter": {"period": "2023\n"}}, "filter.period: Value error, '2023\\n' is not a year"),
    ({"filter": {"period": "\u0662\u0660\u0662\u0663"}}, "filter.period: Value error"),  # Arabic-Indic digits
    ({"filter": {"period": 2023}}, "filter.period: Input should be a valid string"),
    ({"filter": {"tags": "finance"}}, "filter.tags: Input should be a valid tuple"),
    ({"filter": {"tags": [""]}}, "filter.tags.0: String should have at least 1 character"),
    ({"filter": {"tags": ["finance", " "]}}, "filter.tags.1: must not be blank"),  # would match no chunk
    ({"filter": {"issuer": "  "}}, "filter.issuer: must not be blank"),  # would match any issuer with a space
    ({"filter": {"source": "\t"}}, "filter.source: must not be blank"),
    ({"filter": {"source": 5}}, "filter.source: Input should be a valid string"),
    ({"k": True}, "k: Input should be a valid integer"),
    ({"k": "5"}, "k: Input should be a valid integer"),
    ({"mode": 1}, "mode: Input should be 'dense', 'keyword' or 'hybrid'"),
    ({"question": 5}, "question: Input should be a valid string"),
]


@pytest.mark.parametrize(("fields", "named"), REFUSED)
def test_a_value_of_the_wrong_json_type_or_shape_is_a_400_naming_the_field(client, engine, fields, named):
    body = {"question": "what was revenue?", **fields}
    message = assert_error_shape(client.post("/query", json=body), 400)
    assert named in message
    assert engine.asked == []


ACCEPTED = [
    ({"date_from": "2023-01-01"}, "date_from", date(2023, 1, 1)),
    ({"date_to": "2024-02-29"}, "date_to", date(2024, 2, 29)),
    ({"page_from": 3}, "page_from", 3),
    ({"page_to": 3.0}, "page_to", 3),  # JSON Schema counts 3.0 as an integer
    ({"doc_type": "10k"}, "doc_type", "10-K"),
    ({"doc_type": "Earnings_Release"}, "doc_type", "earnings release"),
    ({"period": "2023-Q1"}, "period", "2023-Q1"),
    ({"tags": ["finance", "legal"]}, "tags", ("finance", "legal")),
]


@pytest.mark.parametrize(("where", "field", "read_as"), ACCEPTED)
def test_a_value_the_schema_allows_reaches_the_engine_as_written(client, engine, where, field, read_as):
    response = client.post("/query", json={"question": "what was revenue?", "filter": where})
    assert response.status_code == 200, response.text
    assert getattr(engine.asked[0]["where"], field) == read_as


def _validate(where: dict) -> None:
    """As a client or schemathesis reads the served document: formats (date) asserted too."""
    document = openapi_document()
    schema = {**document["components"]["schemas"]["SearchFilter"], "components": document["components"]}
    jsonschema.validate(where, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(("fields", "named"), [case for case in REFUSED if "filter" in case[0]])
def test_the_served_schema_refuses_what_the_server_refuses(fields, named):
    with pytest.raises(jsonschema.ValidationError):
        _validate(fields["filter"])


@pytest.mark.parametrize(("where", "field", "read_as"), ACCEPTED)
def test_the_served_schema_accepts_what_the_server_accepts(where, field, read_as):
    _validate(where)


def test_text_is_a_page_number_only_from_the_command_line():
    assert parse_filter_expressions(["page=3..5"]) == SearchFilter(page_from=3, page_to=5)
    with pytest.raises(ValidationError, match="page_from\n  Input should be a valid integer"):
        SearchFilter.model_validate({"page_from": "3"})


def test_the_command_line_reads_a_day_only_as_yyyy_mm_dd():
    assert parse_filter_expressions(["date>=2024-01-01"]).date_from == date(2024, 1, 1)
    with pytest.raises(ValidationError, match="date_from\n  Input should be a valid date, written YYYY-MM-DD"):
        parse_filter_expressions(["date>=1704067200"])


def test_true_or_text_for_a_number_is_refused_as_any_other_non_integer_is(client, engine):
    """A client handling pydantic's refusal of a non-integer by its type handles these two the same way."""

    def refusal_of(k: object) -> tuple[str, str]:
        response = client.post("/query", json={"question": "what was revenue?", "k": k})
        assert_error_shape(response, 400)
        [detail] = response.json()["details"]
        return detail["type"], detail["msg"]

    assert refusal_of(True) == refusal_of("5") == refusal_of([5])
    assert engine.asked == []
