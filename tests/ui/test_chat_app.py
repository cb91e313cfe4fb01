"""The chat UI's script, run in-process by Streamlit's AppTest: what it shows when it cannot answer.

The browser test (test_chat_browser.py) drives the answers; these cover the refusals, which need no
browser: no index yet, a question the engine refuses, an unexpected failure. Each is one clear
message on the page, never a traceback.
"""

from __future__ import annotations

import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ragline.bootstrap import Engine, build_engine
from ragline.entrypoints import ui
from ragline.entrypoints.cli import DEMO_CORPUS, app

NORTHWIND = "northwind-cycles-annual-report-2025.pdf"
# The first run builds the engine and loads the model: seconds on a loaded machine, not AppTest's default 3.
TIMEOUT_S = 120


@pytest.fixture
def data_dir(data_dir):
    yield data_dir
    # One engine per UI process: between tests (other data folders) it must be built again.
    st.cache_resource.clear()


def started(data_dir) -> AppTest:
    page = AppTest.from_file(ui.__file__, default_timeout=TIMEOUT_S)
    page.run()
    assert not page.exception, page.exception
    return page


def test_without_an_index_a_question_is_answered_by_what_to_do(data_dir):
    page = started(data_dir)
    assert "0 of 0 documents served, 0 chunks indexed" in [caption.value for caption in page.sidebar.caption]
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    assert [error.value for error in page.error] == [
        f"No documents are indexed in {data_dir} yet: run `ragline ingest <folder>` first, then ask again."
    ]
    assert not page.exception and not page.chat_message


@pytest.fixture
def northwind_indexed(data_dir, settings, real_embedder, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DEMO_CORPUS / NORTHWIND, folder / NORTHWIND)
    engine = build_engine(settings, embedder=real_embedder)
    try:
        engine.ingest([folder])
    finally:
        engine.close()
    return data_dir


def test_a_question_the_engine_refuses_is_its_message_and_no_turn(northwind_indexed):
    page = started(northwind_indexed)
    assert "1 of 1 documents served" in page.sidebar.caption[0].value
    page.chat_input[0].set_value("x" * 2001).run()
    assert [error.value for error in page.error] == ["question: 2001 characters, more than the limit of 2000"]
    assert not page.exception and not page.chat_message


def test_an_unexpected_failure_is_named_by_its_type_never_a_traceback(northwind_indexed, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a detail for the log only")

    monkeypatch.setattr(Engine, "converse", broken)
    page = started(northwind_indexed)
    page.chat_input[0].set_value("What was Northwind Cycles' net income?").run()
    assert [error.value for error in page.error] == [
        "internal error (RuntimeError); see the terminal running `ragline ui`"
    ]
    assert not page.exception


runner = CliRunner()


def test_ui_refuses_an_address_beyond_loopback():
    result = runner.invoke(app, ["ui", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "the chat UI has no sign-in; it listens on loopback only" in result.output


def test_ui_without_streamlit_says_which_extra_to_install(monkeypatch):
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else found(name, *a))
    result = runner.invoke(app, ["ui"])
    assert result.exit_code == 2
    assert "Streamlit is not installed: pip install -e '.[ui]' (or make ui)" in result.output
