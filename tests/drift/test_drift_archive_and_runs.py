"""Reading the archive, the local runs and their stored results, the CLI and the AWS store."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ragline.drift import ArchiveError, LocalDriftStore, NoBaselineError, run_baseline, run_distance, run_snapshot
from ragline.drift.archive import Selection, read_local_archive, sample_indices
from ragline.drift.store import AwsDriftStore
from ragline.entrypoints.drift_cli import drift_app
from ragline.records import EmbeddingRecord, RecordKind


def write_lines(path: Path, records: list[EmbeddingRecord], *, compress: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(r.to_json() + "\n" for r in records)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def chunk(record_id: str, time: str, vector: list[float], model: str = "m") -> EmbeddingRecord:
    return EmbeddingRecord(
        id=record_id, kind=RecordKind.CHUNK, time=time, source="s.pdf", model=model, vector=vector, document_id="d"
    )


# archive ---------------------------------------------------------------------------------------


def test_reads_plain_and_gzip_files_at_any_depth_keeping_the_latest_record_of_an_id(tmp_path):
    folder = tmp_path / "archive" / "embeddingarchive"
    write_lines(folder / "dt=2026-01-01" / "part-1.jsonl", [chunk("b", "2026-01-01T00:00:00+00:00", [1, 0])])
    write_lines(
        folder / "2026" / "01" / "02" / "03" / "fh-1.gz",
        [chunk("a", "2026-01-02T03:00:00Z", [0, 1]), chunk("b", "2026-01-02T03:00:00Z", [2, 0])],
        compress=True,
    )
    batch = read_local_archive(tmp_path, Selection(RecordKind.CHUNK))
    assert batch.ids == ["a", "b"]  # sorted by id, "b" once
    np.testing.assert_array_equal(batch.vectors, [[0, 1], [2, 0]])  # the re-ingested "b" wins


def test_time_window_is_inclusive_then_exclusive(tmp_path):
    times = ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]
    records = [chunk(f"c{i}", t, [float(i), 1.0]) for i, t in enumerate(times)]
    write_lines(tmp_path / "archive" / "embeddingarchive" / "x.jsonl", records)
    selection = Selection(RecordKind.CHUNK, since="2026-01-02T00:00:00Z", until="2026-01-03T00:00:00Z")
    assert read_local_archive(tmp_path, selection).ids == ["c1"]


def test_several_models_must_be_told_apart(tmp_path):
    records = [chunk("a", "2026-01-01T00:00:00Z", [1, 0], "m1"), chunk("b", "2026-01-01T00:00:00Z", [0, 1], "m2")]
    write_lines(tmp_path / "archive" / "embeddingarchive" / "x.jsonl", records)
    with pytest.raises(ArchiveError, match="several models"):
        read_local_archive(tmp_path, Selection(RecordKind.CHUNK))
    batch = read_local_archive(tmp_path, Selection(RecordKind.CHUNK, model="m2"))
    assert batch.ids == ["b"] and batch.skipped_other_models == 1


def test_a_bad_line_names_its_file_and_line(tmp_path):
    path = tmp_path / "archive" / "embeddingarchive" / "x.jsonl"
    write_lines(path, [chunk("a", "2026-01-01T00:00:00Z", [1, 0])])
    with path.open("a") as out:
        out.write('{"id": "broken"}\n')
    with pytest.raises(ArchiveError, match=r"x\.jsonl:2"):
        read_local_archive(tmp_path, Selection(RecordKind.CHUNK))


def test_an_empty_archive_says_what_to_do(tmp_path):
    with pytest.raises(ArchiveError, match="ingest documents"):
        read_local_archive(tmp_path, Selection(RecordKind.CHUNK))


def test_sampling_is_seeded_and_keeps_id_order():
    first, again, other = sample_indices(1000, 100, 5), sample_indices(1000, 100, 5), sample_indices(1000, 100, 6)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.all(np.diff(first) > 0)
    np.testing.assert_array_equal(sample_indices(10, 100, 5), np.arange(10))


# local runs ------------------------------------------------------------------------------------


def test_local_runs_store_baseline_runs_centroids_distances_and_metrics(synthetic_archive):
    data_dir = synthetic_archive.data_dir
    baseline = run_baseline(data_dir, until=synthetic_archive.baseline_until)
    snapshot = run_snapshot(data_dir)
    distance = run_distance(data_dir)

    store = LocalDriftStore(data_dir / "drift")
    assert store.load_baseline().run_id == baseline.run_id
    assert [run["job_type"] for run in store.runs()] == ["BASELINE", "SNAPSHOT", "DISTANCE"]
    centroids = json.loads((data_dir / "drift" / "centroids" / f"{baseline.run_id}.json").read_text())
    assert len(centroids) == baseline.k and len(centroids[0]["centroid"]) == 384
    rows = store.distances(distance.run_id)
    assert len(rows) == distance.n_prompts and {"id", "cluster", "distance", "z_score", "outlier"} <= rows[0].keys()
    metric_lines = (data_dir / "drift" / "metrics.jsonl").read_text().splitlines()
    assert "drift_psi" in json.loads(metric_lines[1])["metrics"]
    assert snapshot.drift_detected and snapshot.new_topic_clusters
    new_cluster = snapshot.clusters[snapshot.new_topic_clusters[0]]
    assert new_cluster.top_sources[0][0] == synthetic_archive.new_topic_source
    assert distance.outlier_rate > distance.baseline_outlier_rate


def test_a_snapshot_before_any_baseline_says_so(synthetic_archive):
    with pytest.raises(NoBaselineError, match="drift baseline"):
        run_snapshot(synthetic_archive.data_dir)


def test_cli_runs_the_three_commands(synthetic_archive):
    runner = CliRunner()
    data_dir = str(synthetic_archive.data_dir)
    result = runner.invoke(drift_app, ["baseline", "--data-dir", data_dir, "--until", synthetic_archive.baseline_until])
    assert result.exit_code == 0, result.output
    assert "silhouette" in result.output
    result = runner.invoke(drift_app, ["snapshot", "--data-dir", data_dir, "--fail-on-drift"])
    assert result.exit_code == 2 and "DRIFT" in result.output
    result = runner.invoke(drift_app, ["distance", "--data-dir", data_dir, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["job_type"] == "DISTANCE"


def test_cli_reports_errors_without_a_traceback(tmp_path):
    result = CliRunner().invoke(drift_app, ["snapshot", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no baseline" in result.output


# AWS store, with fakes standing in for boto3 ---------------------------------------------------


class FakeTable:
    def __init__(self):
        self.items = []

    def put_item(self, Item):  # noqa: N803 - boto3's argument name
        self.items.append(Item)

    def batch_writer(self):
        table = self

        class Writer:
            def __enter__(self):
                return table

            def __exit__(self, *exc):
                return False

        return Writer()


class FakeS3:
    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body, ContentType):  # noqa: N803
        self.objects[(Bucket, Key)] = Body

    def get_object(self, Bucket, Key):  # noqa: N803
        body = self.objects[(Bucket, Key)]
        return {"Body": type("Body", (), {"read": lambda self: body})()}


class FakeCloudWatch:
    def __init__(self):
        self.calls = []

    def put_metric_data(self, Namespace, MetricData):  # noqa: N803
        self.calls.append((Namespace, MetricData))


def test_aws_store_writes_decimal_rows_s3_objects_and_rag_metrics(synthetic_archive):
    from ragline.drift.archive import read_local_archive as read
    from ragline.drift.baseline import BaselineOptions
    from ragline.drift.service import baseline_run

    runs, centroids, s3, cloudwatch = FakeTable(), FakeTable(), FakeS3(), FakeCloudWatch()
    store = AwsDriftStore(
        runs_table=runs, centroids_table=centroids, s3=s3, cloudwatch=cloudwatch,
        baseline_uri="s3://bucket/driftbaseline/", distance_uri="s3://bucket/promptdistance",
    )  # fmt: skip
    batch = read(synthetic_archive.data_dir, Selection(RecordKind.CHUNK, until=synthetic_archive.baseline_until))
    baseline = baseline_run(batch, BaselineOptions(k=4), store)

    assert isinstance(runs.items[0]["silhouette"], Decimal)
    assert len(centroids.items) == 4 and centroids.items[0]["cluster"] == 0
    assert ("bucket", "driftbaseline/baseline.json") in s3.objects
    assert store.load_baseline().run_id == baseline.run_id
    namespace, data = cloudwatch.calls[0]
    assert namespace == "rag" and {d["MetricName"] for d in data} == {"baseline_silhouette", "baseline_k"}
    uri = store.put_distances("r1", [{"id": "q", "distance": 0.5}])
    assert uri == "s3://bucket/promptdistance/run_id=r1/distances.jsonl"


def test_aws_store_without_a_baseline_says_so():
    class Missing(FakeS3):
        def get_object(self, Bucket, Key):  # noqa: N803
            raise KeyError(Key)

    store = AwsDriftStore(
        runs_table=FakeTable(), centroids_table=FakeTable(), s3=Missing(), cloudwatch=FakeCloudWatch(),
        baseline_uri="s3://bucket/driftbaseline",
    )  # fmt: skip
    with pytest.raises(NoBaselineError, match="BASELINE job"):
        store.load_baseline()


def test_aws_store_reads_runs_page_by_page_and_distance_part_files():
    class PagedTable(FakeTable):
        def scan(self, **request):
            if "ExclusiveStartKey" not in request:
                return {
                    "Items": [{"run_id": "2", "job_type": "DISTANCE", "rate": Decimal("0.25")}],
                    "LastEvaluatedKey": 1,
                }
            return {"Items": [{"run_id": "1", "job_type": "SNAPSHOT", "k": Decimal("4")}]}

    class ListingS3(FakeS3):
        def get_paginator(self, name):
            objects = self.objects

            class Paginator:
                def paginate(self, Bucket, Prefix):  # noqa: N803
                    yield {"Contents": [{"Key": key} for (bucket, key) in objects if key.startswith(Prefix)]}

            return Paginator()

    s3 = ListingS3()
    s3.objects[("b", "promptdistance/run_id=r/part-0.json.gz")] = gzip.compress(b'{"id": "q1"}\n{"id": "q2"}\n')
    store = AwsDriftStore(
        runs_table=PagedTable(), centroids_table=FakeTable(), s3=s3, cloudwatch=FakeCloudWatch(),
        baseline_uri="s3://b/driftbaseline", distance_uri="s3://b/promptdistance",
    )  # fmt: skip
    assert [run["run_id"] for run in store.runs()] == ["1", "2"]
    assert store.runs("DISTANCE") == [{"run_id": "2", "job_type": "DISTANCE", "rate": 0.25}]
    assert [row["id"] for row in store.distances("r")] == ["q1", "q2"]


def test_local_store_reads_distances_written_by_spark(tmp_path):
    folder = tmp_path / "distances" / "run_id=r"
    folder.mkdir(parents=True)
    (folder / "part-00000-x.json.gz").write_bytes(gzip.compress(b'{"id": "q1", "time": "2026-01-01T00:00:00Z"}\n'))
    (folder / "_SUCCESS").write_text("")
    assert LocalDriftStore(tmp_path).distances("r") == [{"id": "q1", "time": "2026-01-01T00:00:00Z"}]


def test_daily_trend_groups_prompts_by_utc_day():
    from ragline.drift.notebook import daily_distance_trend

    rows = [
        {"time": "2026-01-01T10:00:00Z", "distance": 1.0, "outlier": False},
        {"time": "2026-01-01T11:00:00Z", "distance": 3.0, "outlier": True},
        {"time": "2026-01-02T10:00:00Z", "distance": 2.0, "outlier": False},
    ]
    trend = daily_distance_trend(rows)
    assert list(trend) == ["2026-01-01", "2026-01-02"]
    assert trend["2026-01-01"]["median"] == 2.0 and trend["2026-01-01"]["outlier_rate"] == 0.5
