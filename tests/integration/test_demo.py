"""`ragline demo` on the shipped corpus: three answers citing the right file and page; a rerun skips."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline.entrypoints.cli import DEMO_CORPUS, DEMO_QUESTIONS, app

EXPECTED = json.loads((DEMO_QUESTIONS.parent / "questions_expected.json").read_text())
runner = CliRunner()


@pytest.fixture
def data_dir(data_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps to the terminal; keep table rows on one line
    return data_dir


def test_demo_answers_every_question_with_a_source_naming_file_and_page(data_dir):
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    answers = result.output.split("Q: ")[1:]
    assert len(answers) == len(EXPECTED) == 3
    for answer in answers:
        question = answer.splitlines()[0].strip()
        expected = EXPECTED[question]
        cited = re.findall(r"\[\d+\]\s+(\S.*?\.pdf)\s+(\d+)(?:-(\d+))?\s", answer)
        assert cited, answer
        pages = {(name, page) for name, first, last in cited for page in range(int(first), int(last or first) + 1)}
        assert (expected["file"], expected["page"]) in pages, (question, cited)


def test_a_second_demo_run_reports_every_document_unchanged(data_dir):
    runner.invoke(app, ["demo"])
    second = runner.invoke(app, ["demo"])
    assert second.exit_code == 0, second.output
    pdfs = sorted(path.name for path in Path(DEMO_CORPUS).glob("*.pdf"))
    assert f"{len(pdfs)} files: {len(pdfs)} unchanged" in second.output
