"""The chat UI as it runs on AWS (RAGLINE_UI_API_URL set), run in-process by Streamlit's AppTest against a stub
of the query API: a loopback HTTP server that answers as the API Gateway + Lambda pair does and refuses any
request without the signed-in user's bearer token. A cited page is rendered from S3 (moto, in process).

AppTest's `user` stands in for Streamlit's OIDC sign-in (it sets what `st.user` returns, tokens included).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
import streamlit as st
from moto import mock_aws
from streamlit.testing.v1 import AppTest

from ragline.entrypoints import ui
from tests.pdf_factory import write_report_pdf
from tests.ui.stub_api import BUCKET, KEY, TOKEN, StubApi, queries, serving

TIMEOUT_S = 60


@pytest.fixture
def stub_api(monkeypatch) -> Iterator[StubApi]:
    with serving() as stub:
        monkeypatch.setenv(ui.API_URL_ENV, stub.url)
        monkeypatch.setenv(ui.SOURCE_BUCKET_ENV, BUCKET)
        yield stub
    st.cache_data.clear()
    st.cache_resource.clear()


def signed_in(token: str = TOKEN) -> AppTest:
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": True, "email": "ana@example.org", "tokens": {"id": token}}
    page.run()
    assert not page.exception, page.exception
    return page


def test_questions_go_to_the_api_as_the_signed_in_user_and_a_follow_up_keeps_the_session(stub_api):
    page = signed_in()
    assert "1 of 2 documents served, 7 chunks indexed" in [caption.value for caption in page.sidebar.caption]
    assert stub_api.requests[0][:3] == ("GET", "/v1/documents", f"Bearer {TOKEN}")

    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.chat_input[0].set_value("and the year before?").run()

    assert not page.exception and not page.error
    (first_auth, first), (second_auth, second) = queries(stub_api)
    assert first_auth == second_auth == f"Bearer {TOKEN}"
    assert first == {"question": "What was Northwind Cycles' net income?", "session": page.session_state.session}
    assert second == {"question": "and the year before?", "session": first["session"]}
    assert [message.name for message in page.chat_message] == ["user", "assistant", "user", "assistant"]
    assert "turn 2" in page.chat_message[3].markdown[0].value
    assert page.chat_message[3].caption[0].value == r"read as: and the year before? \(Northwind Cycles net income\)"
    assert page.toggle[0].label == "[1] annual.pdf · page 2"


def test_an_api_error_is_shown_as_its_message_and_adds_no_turn(stub_api):
    stub_api.refuse = (503, "the generation model is unavailable (ThrottlingException); retry in a moment")
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    assert [error.value for error in page.error] == [
        "the query API refused POST /query: the generation model is unavailable (ThrottlingException); "
        "retry in a moment"
    ]
    assert not page.exception and not page.chat_message


def test_an_expired_token_says_to_sign_in_again(stub_api):
    page = signed_in(token="expired")
    assert [error.value for error in page.error] == [
        "the query API refused GET /documents: Unauthorized (sign out and in again: the sign-in has expired)"
    ]
    assert not page.exception and not page.chat_input


def test_signed_out_the_page_offers_sign_in_and_calls_nothing(stub_api):
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": False}
    page.run()
    assert not page.exception
    assert [info.value for info in page.info] == ["Sign in to ask questions about the documents."]
    assert [button.label for button in page.button] == ["Sign in"]
    assert not page.chat_input and not stub_api.requests


@pytest.fixture
def s3_pdf(tmp_path, monkeypatch) -> Iterator[None]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        pdf = write_report_pdf(tmp_path, pages=3)
        s3.upload_file(str(pdf.path), BUCKET, KEY)
        yield


def test_a_cited_page_is_rendered_from_the_s3_object(stub_api, s3_pdf):
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.toggle[0].set_value(True).run()
    assert not page.exception and not page.warning, [w.value for w in page.warning]
    (image,) = page.image
    assert image.captions == ["annual.pdf, page 2"]


def test_a_source_outside_the_ingest_bucket_is_named_not_fetched(stub_api, s3_pdf, monkeypatch):
    monkeypatch.setenv(ui.SOURCE_BUCKET_ENV, "another-bucket")
    page = signed_in()
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    page.toggle[0].set_value(True).run()
    assert [warning.value for warning in page.warning] == [
        f"s3://{BUCKET}/{KEY}: not in the ingest bucket, so the UI may not read it; see page 2"
    ]
    assert not page.image


def test_past_its_expiry_the_id_token_is_not_sent_and_sign_in_is_offered_again(stub_api):
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.user = {"is_logged_in": True, "exp": time.time() - 1, "tokens": {"id": TOKEN}}
    page.run()
    assert not page.exception
    assert [info.value for info in page.info] == ["Your sign-in has expired: sign in again to go on asking."]
    assert [button.label for button in page.button] == ["Sign in"]
    assert not page.chat_input and not stub_api.requests
    page.user = {"is_logged_in": True, "exp": time.time() + 3600, "tokens": {"id": TOKEN}}
    page.run()
    assert not page.info and page.chat_input and stub_api.requests


def test_a_question_the_api_would_refuse_is_refused_in_its_words_without_a_call(stub_api):
    page = signed_in()
    page.chat_input[0].set_value("x" * 2001).run()
    assert [error.value for error in page.error] == ["question: String should have at most 2000 characters"]
    assert not queries(stub_api) and not page.chat_message
