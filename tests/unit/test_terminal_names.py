"""Terminal tables name files relative to the folder they share, not by absolute path (issue 13)."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console
from typer.testing import CliRunner

from ragline.entrypoints import cli, drift_cli
from ragline.entrypoints.display import short_names
from tests import pdf_factory


def test_paths_are_named_under_their_shared_folder_and_uris_stay_whole():
    folder, names = short_names(["/data/reports/2023/a.pdf", "/data/reports/b.pdf", "s3://bucket/c.pdf"])
    assert folder == "/data/reports"
    assert names == ["2023/a.pdf", "b.pdf", "s3://bucket/c.pdf"]
    assert short_names(["s3://bucket/c.pdf"]) == ("", ["s3://bucket/c.pdf"])


def test_status_lists_names_under_the_folder(fast_engine, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    (corpus / "q1").mkdir(parents=True)
    pdf_factory.write_report_pdf(corpus, name="annual.pdf", pages=1)
    pdf_factory.write_report_pdf(corpus / "q1", name="quarter.pdf", pages=2)
    pdf_factory.write_report_pdf(corpus / "q1", name="copy.pdf", pages=2)  # a duplicate, whose reason names a path
    fast_engine.ingest([corpus])
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(fast_engine.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(cli.app, ["status"])
    assert result.exit_code == 0, result.output
    assert f"under {corpus}" in result.output
    assert " annual.pdf " in result.output and " q1/quarter.pdf " in result.output
    assert "same content as q1/" in result.output
    assert f"{corpus}/" not in result.output


def test_snapshot_clusters_name_their_top_sources_under_the_folder(monkeypatch):
    console = Console(width=200, record=True)
    monkeypatch.setattr(drift_cli, "console", console)
    cluster = SimpleNamespace(
        cluster=0,
        size=5,
        matched_baseline_cluster=None,
        relative_shift=None,
        median_z=0.5,
        new_topic=True,
        top_sources=[("/home/u/reports/2023/a.pdf", 3), ("/home/u/reports/b.pdf", 2)],
    )
    numbers = dict.fromkeys(
        ("n_vectors", "psi", "js_distance", "max_relative_shift", "mean_distance_change", "outlier_rate"), 0
    )
    report = SimpleNamespace(
        drift_detected=True, run_id="s1", baseline_run_id="b1", baseline_outlier_rate=0.0, reasons=[], **numbers
    )
    report.clusters = [cluster]
    drift_cli._show_snapshot(report)
    text = console.export_text()
    assert "top sources under /home/u/reports" in text
    assert "2023/a.pdf (3), b.pdf (2)" in text
    assert "/home/u/reports/b.pdf" not in text
