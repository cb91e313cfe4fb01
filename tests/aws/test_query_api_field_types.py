"""The query Lambda reads each field as JSON writes it, the way `ragline serve` does
(tests/unit/test_api_field_types.py): the same models, validated by Powertools in Python mode."""

from __future__ import annotations

import pytest

from tests.aws.api_events import api_event
from tests.aws.test_query_api import call
from tests.unit.test_api_field_types import REFUSED


@pytest.fixture
def api(stack):
    """The query function's own environment, nothing else."""
    stack.as_function("query")
    return stack


@pytest.mark.parametrize(("fields", "named"), REFUSED)
def test_a_value_of_the_wrong_json_type_or_shape_is_a_400_naming_the_field(api, fields, named):
    status, answer = call(api_event({"question": "what was revenue?", **fields}))
    assert status == 400, answer
    assert named in answer["error"]


def test_a_day_written_yyyy_mm_dd_and_a_type_as_users_write_it_are_answered(bootstrapped):
    bootstrapped.as_function("query")
    where = {"date_from": "2023-01-01", "date_to": "2024-02-29", "doc_type": "10k", "page_from": 2, "period": "2023"}
    status, answer = call(api_event({"question": "what was revenue?", "filter": where}, path="/search"))
    assert status == 200, answer
    assert answer["sources"] == []  # an empty index: what matters is that the filter was read, not refused
