"""The query Lambda and conversations (issue 14): not kept on AWS yet, so a session is refused by name, never
ignored (the local server's `POST /query` takes one: tests/integration/test_conversations.py)."""

from __future__ import annotations

from tests.aws.api_events import api_event
from tests.aws.test_query_api import api, call  # noqa: F401  # `api`: the query function's environment


def test_a_session_is_a_400_naming_it_until_conversations_are_kept_on_aws(api):  # noqa: F811
    status, answer = call(api_event({"question": "pumps?", "session": "chat-1"}))
    assert status == 400
    assert answer["error"] == "session: Extra inputs are not permitted"
