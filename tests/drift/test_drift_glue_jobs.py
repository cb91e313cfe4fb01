"""The Glue scripts: their arguments, and under local pyspark the same numbers as the numpy path."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragline.drift import LocalDriftStore
from ragline.drift.archive import Selection, read_local_archive
from ragline.drift.baseline import BaselineOptions
from ragline.drift.jobs import parse_job_arguments
from ragline.drift.service import baseline_run, distance_run, snapshot_run
from ragline.drift.snapshot import SnapshotOptions
from ragline.records import RecordKind
from tests.spark_jvm import java_tool_options

REPO_ROOT = Path(__file__).resolve().parents[2]
DRIFT_SCRIPT = REPO_ROOT / "glue_jobs" / "embedding_drift_analysis.py"
DISTANCE_SCRIPT = REPO_ROOT / "glue_jobs" / "embedding_distance_analysis.py"
DRIFT_TYPES = ("BASELINE", "SNAPSHOT")


# arguments -------------------------------------------------------------------------------------


def test_arguments_on_aws_need_the_tables():
    with pytest.raises(SystemExit, match="--out_table, --centroid_table"):
        parse_job_arguments(["job", "--job_type", "BASELINE", "--data_path", "s3://b/embeddingarchive/"], DRIFT_TYPES)


def test_arguments_resolve_the_baseline_path_from_the_bucket_and_ignore_glue_extras():
    arguments = parse_job_arguments(
        ["job", "--JOB_NAME", "x", "--job_type", "SNAPSHOT", "--data_path", "s3://bkt/embeddingarchive/",
         "--out_table", "runs", "--centroid_table", "centroids", "--psi_threshold", "0.1", "--k", "6"],
        DRIFT_TYPES,
    )  # fmt: skip
    assert arguments.resolved_baseline_path == "s3://bkt/driftbaseline"
    assert arguments.thresholds.psi == 0.1 and arguments.k == 6


def test_distance_on_aws_needs_the_run_table_and_the_distance_path():
    with pytest.raises(SystemExit, match="--out_table, --distance_path"):
        parse_job_arguments(["job", "--job_type", "DISTANCE", "--prompt_path", "s3://b/promptarchive/"], ("DISTANCE",))


def test_each_script_accepts_only_its_job_types():
    with pytest.raises(SystemExit, match="BASELINE, SNAPSHOT"):
        parse_job_arguments(["job", "--job_type", "DISTANCE", "--local_output", "/tmp/x"], DRIFT_TYPES)
    with pytest.raises(SystemExit, match="--prompt_path"):
        parse_job_arguments(["job", "--job_type", "DISTANCE", "--local_output", "/tmp/x"], ("DISTANCE",))


# under local pyspark -----------------------------------------------------------------------------

needs_spark = pytest.mark.skipif(
    shutil.which("java") is None or shutil.which("spark-submit", path=str(Path(sys.executable).parent)) is None,
    reason="pyspark (the drift extra) and Java are needed",
)


def spark_environment() -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "JAVA_TOOL_OPTIONS": java_tool_options(),
        # On Glue, --extra-py-files puts ragline on the path; here the checkout does.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }


@needs_spark
def test_spark_submit_baseline_equals_the_numpy_baseline(synthetic_archive, tmp_path):
    archive = synthetic_archive.data_dir / "archive" / "embeddingarchive"
    output = tmp_path / "glue"
    command = [
        str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
        str(DRIFT_SCRIPT), "--job_type", "BASELINE", "--data_path", archive.as_uri(),
        "--until", synthetic_archive.baseline_until, "--local_output", output.as_uri(),
    ]  # fmt: skip
    finished = subprocess.run(command, env=spark_environment(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]

    selection = Selection(RecordKind.CHUNK, until=synthetic_archive.baseline_until)
    batch = read_local_archive(synthetic_archive.data_dir, selection)
    expected = baseline_run(batch, BaselineOptions(), LocalDriftStore(tmp_path / "numpy"))
    got = LocalDriftStore(output).load_baseline()
    np.testing.assert_allclose(got.basis.components, expected.basis.components, atol=1e-9)
    np.testing.assert_allclose(got.centroids, expected.centroids, atol=1e-9)
    np.testing.assert_allclose(got.reference_distances, expected.reference_distances, atol=1e-9)
    assert (got.k, got.n_vectors) == (expected.k, expected.n_vectors)


@needs_spark
def test_glue_snapshot_and_distance_under_local_pyspark_agree_with_numpy(synthetic_archive, tmp_path, monkeypatch):
    from pyspark.sql import SparkSession

    data_dir = synthetic_archive.data_dir
    chunks = read_local_archive(data_dir, Selection(RecordKind.CHUNK, until=synthetic_archive.baseline_until))
    glue_store = LocalDriftStore(tmp_path / "glue")
    baseline = baseline_run(chunks, BaselineOptions(), glue_store)  # the stored baseline both paths use
    numpy_store = LocalDriftStore(tmp_path / "numpy")
    everything = read_local_archive(data_dir, Selection(RecordKind.CHUNK))
    expected_snapshot = snapshot_run(everything, SnapshotOptions(), numpy_store, baseline=baseline)
    prompts = read_local_archive(data_dir, Selection(RecordKind.PROMPT))
    expected_distance = distance_run(prompts, numpy_store, baseline=baseline)

    for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "JAVA_TOOL_OPTIONS"):
        monkeypatch.setenv(name, spark_environment()[name])
    spark = (
        SparkSession.builder.master("local[2]").appName("drift-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
    )  # fmt: skip
    try:
        archive = (data_dir / "archive").as_uri()
        local = ["--local_output", (tmp_path / "glue").as_uri()]
        drift_main = runpy.run_path(str(DRIFT_SCRIPT), run_name="glue_job")["main"]
        distance_main = runpy.run_path(str(DISTANCE_SCRIPT), run_name="glue_job")["main"]
        snapshot = drift_main(
            ["job", "--job_type", "SNAPSHOT", "--data_path", f"{archive}/embeddingarchive", *local], spark=spark
        )
        distance = distance_main(
            ["job", "--job_type", "DISTANCE", "--prompt_path", f"{archive}/promptarchive", *local], spark=spark
        )
        rows = spark.read.json(str(tmp_path / "glue" / "distances" / f"run_id={distance['run_id']}")).collect()
    finally:
        spark.stop()

    for key in ("psi", "js_distance", "max_relative_shift", "mean_distance_change", "outlier_rate"):
        assert snapshot[key] == pytest.approx(getattr(expected_snapshot, key), abs=1e-9), key
    assert snapshot["new_topic_clusters"] == expected_snapshot.new_topic_clusters
    assert snapshot["drift_detected"] is True
    for key in ("mean", "median", "std", "p95"):
        assert distance["distance"][key] == pytest.approx(expected_distance.distance[key], abs=1e-9), key
    assert distance["outlier_count"] == expected_distance.outlier_count
    by_id = {row["id"]: row["distance"] for row in rows}
    expected_rows = {row["id"]: row["distance"] for row in numpy_store.distances(expected_distance.run_id)}
    assert by_id.keys() == expected_rows.keys()
    assert max(abs(by_id[i] - expected_rows[i]) for i in by_id) < 1e-9
    assert json.loads((tmp_path / "glue" / "metrics.jsonl").read_text().splitlines()[-1])["metrics"]["prompt_count"]
