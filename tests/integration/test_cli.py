"""The CLI end to end, through typer's runner, on an isolated data folder."""

import json

import pytest
from typer.testing import CliRunner

from ragline.entrypoints.cli import app
from tests import pdf_factory

runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pdf_factory.write_report_pdf(folder, name="report.pdf", pages=3)
    pdf_factory.write_not_a_pdf(folder, name="broken.pdf")
    return folder


def test_ingest_prints_a_summary_and_exits_1_when_a_file_failed(data_dir, folder):
    result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 1, result.output
    assert "Ingestion summary" in result.output
    assert "report.pdf" in result.output and "indexed" in result.output
    assert "broken.pdf" in result.output and "not a PDF" in result.output
    assert "pages/s" in result.output


def test_ask_json_gives_answer_and_sources_with_page_and_score(data_dir, folder):
    runner.invoke(app, ["ingest", str(folder)])
    result = runner.invoke(app, ["ask", "Which team logged entries?", "--json", "--k", "2", "--mode", "keyword"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["answer"]
    assert len(body["sources"]) == 2
    assert {"source", "page", "score", "text"} <= set(body["sources"][0])


def test_ask_with_a_bad_filter_names_it(data_dir):
    result = runner.invoke(app, ["ask", "anything?", "--filter", "colour=red"])
    assert result.exit_code == 2
    assert "colour=red" in result.output


def test_status_and_delete(data_dir, folder):
    runner.invoke(app, ["ingest", str(folder)])
    status = runner.invoke(app, ["status"])
    assert "report.pdf" in status.output and "failed" in status.output
    deleted = runner.invoke(app, ["delete", str(folder / "report.pdf")])
    assert deleted.exit_code == 0, deleted.output
    assert "chunks removed" in deleted.output
    assert "0 chunks indexed" in runner.invoke(app, ["status"]).output
    assert runner.invoke(app, ["delete", str(folder / "never.pdf")]).exit_code == 1


def test_deleting_a_file_whose_copy_remains_says_where_its_content_stays(data_dir, folder):
    (folder / "broken.pdf").unlink()
    (folder / "report-copy.pdf").write_bytes((folder / "report.pdf").read_bytes())
    assert runner.invoke(app, ["ingest", str(folder)]).exit_code == 0
    deleted = runner.invoke(app, ["delete", str(folder / "report.pdf")])
    assert deleted.exit_code == 0, deleted.output
    assert "0 chunks removed" in deleted.output
    assert "stays indexed as" in deleted.output and "report-copy.pdf" in deleted.output
    status = runner.invoke(app, ["status"]).output
    assert "report-copy.pdf" in status and "indexed" in status and "duplicate" not in status


def test_ingest_lists_the_files_it_skipped_with_their_reason(data_dir, folder):
    (folder / "broken.pdf").unlink()
    (folder / "minutes.docx").write_bytes(b"PK\x03\x04")
    result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 0, result.output
    assert "minutes.docx" in result.output and "skipped" in result.output
    assert "1 skipped" in result.output


def test_status_json_is_for_scripts(data_dir, folder):
    runner.invoke(app, ["ingest", str(folder)])
    body = json.loads(runner.invoke(app, ["status", "--json"]).output)
    by_name = {row["source"].rsplit("/", 1)[-1]: row for row in body["documents"]}
    assert by_name["report.pdf"]["state"] == "indexed"
    assert by_name["report.pdf"]["source"] == (folder / "report.pdf").resolve().as_posix()
    assert by_name["broken.pdf"]["state"] == "failed" and "not a PDF" in by_name["broken.pdf"]["reason"]
    assert body["chunks"] == by_name["report.pdf"]["chunk_count"] > 0


def test_a_page_filter_beyond_the_limit_is_refused_naming_it(data_dir):
    result = runner.invoke(app, ["ask", "anything?", "--filter", "page=9223372036854775808"])
    assert result.exit_code == 2
    assert "page_from: Input should be less than or equal to 1000000" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_ask_answers_a_question_longer_than_the_model_reads_at_once(data_dir, folder):
    from tests.integration.test_server import LONG_QUESTION

    runner.invoke(app, ["ingest", str(folder)])
    result = runner.invoke(app, ["ask", LONG_QUESTION, "--json", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"]
