"""Where drift results go: a local folder, or DynamoDB + S3 + CloudWatch on AWS.

Both stores take the same rows. The AWS store is handed its boto3 objects (nothing is created
at import time), so tests pass fakes and a local Glue run never needs credentials.

Local layout under `<data_dir>/drift/` (or a Glue job's `--local_output`):
    baseline.json              the current baseline (basis, centroids, reference distances)
    baselines/<run_id>.json    every baseline ever fitted
    runs/<run_id>.json         one summary per run (the DynamoDB out_table row)
    centroids/<run_id>.json    centroid rows of a baseline (the DynamoDB centroid_table rows)
    distances/<run_id>.jsonl   per-prompt distances (S3 promptdistance/ on AWS)
    metrics.jsonl              the metric values CloudWatch would receive
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ragline.drift.baseline import Baseline
from ragline.errors import RaglineError

METRIC_NAMESPACE = "rag"
LATEST_BASELINE = "baseline.json"
BASELINE_PREFIX = "driftbaseline"  # beside embeddingarchive/ and promptarchive/ in the bucket


class NoBaselineError(RaglineError):
    """A snapshot or distance run was asked for before any baseline was fitted."""


class DriftStore(Protocol):
    def save_baseline(self, baseline: Baseline) -> str: ...

    def load_baseline(self) -> Baseline: ...

    def put_run(self, row: dict) -> None: ...

    def put_centroids(self, rows: list[dict]) -> None: ...

    def put_distances(self, run_id: str, rows: list[dict]) -> str: ...

    def put_metrics(self, metrics: dict[str, float], run_id: str) -> None: ...


class LocalDriftStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def save_baseline(self, baseline: Baseline) -> str:
        text = json.dumps(baseline.to_dict())
        _write(self.folder / "baselines" / f"{baseline.run_id}.json", text)
        _write(self.folder / LATEST_BASELINE, text)
        return str(self.folder / LATEST_BASELINE)

    def load_baseline(self) -> Baseline:
        path = self.folder / LATEST_BASELINE
        if not path.is_file():
            raise NoBaselineError(f"no baseline at {path}: run `ragline drift baseline` first")
        return Baseline.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def put_run(self, row: dict) -> None:
        _write(self.folder / "runs" / f"{row['run_id']}.json", json.dumps(row, indent=2))

    def put_centroids(self, rows: list[dict]) -> None:
        if rows:
            _write(self.folder / "centroids" / f"{rows[0]['run_id']}.json", json.dumps(rows))

    def put_distances(self, run_id: str, rows: list[dict]) -> str:
        path = self.folder / "distances" / f"{run_id}.jsonl"
        _write(path, "".join(json.dumps(row) + "\n" for row in rows))
        return str(path)

    def put_metrics(self, metrics: dict[str, float], run_id: str) -> None:
        path = self.folder / "metrics.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {"time": _now(), "run_id": run_id, "namespace": METRIC_NAMESPACE, "metrics": metrics}
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    # Reading back, for the notebooks and the CLI.
    def runs(self, job_type: str | None = None) -> list[dict]:
        rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((self.folder / "runs").glob("*.json"))]
        return [row for row in rows if job_type is None or row.get("job_type") == job_type]

    def distances(self, run_id: str) -> list[dict]:
        """Per-prompt rows of a run, as the local run writes them or as Spark does (part files)."""
        single = self.folder / "distances" / f"{run_id}.jsonl"
        parts = sorted((self.folder / "distances" / f"run_id={run_id}").glob("part-*"))
        texts = [single.read_text(encoding="utf-8")] if single.is_file() else [_read_text(p) for p in parts]
        return [json.loads(line) for text in texts for line in text.splitlines() if line]


class AwsDriftStore:
    """DynamoDB rows, S3 objects and CloudWatch metrics.

    `runs_table` and `centroids_table` are boto3 `Table` resources (`put_item`,
    `batch_writer`); `s3` and `cloudwatch` are boto3 clients.
    """

    def __init__(
        self,
        *,
        runs_table: Any,
        centroids_table: Any,
        s3: Any,
        cloudwatch: Any,
        baseline_uri: str,
        distance_uri: str | None = None,
        namespace: str = METRIC_NAMESPACE,
    ) -> None:
        self.runs_table = runs_table
        self.centroids_table = centroids_table
        self.s3 = s3
        self.cloudwatch = cloudwatch
        self.baseline_uri = baseline_uri.rstrip("/")
        self.distance_uri = distance_uri.rstrip("/") if distance_uri else None
        self.namespace = namespace

    def save_baseline(self, baseline: Baseline) -> str:
        body = json.dumps(baseline.to_dict()).encode("utf-8")
        for key in (f"baselines/{baseline.run_id}.json", LATEST_BASELINE):
            bucket, path = _split_s3(f"{self.baseline_uri}/{key}")
            self.s3.put_object(Bucket=bucket, Key=path, Body=body, ContentType="application/json")
        return f"{self.baseline_uri}/{LATEST_BASELINE}"

    def load_baseline(self) -> Baseline:
        bucket, key = _split_s3(f"{self.baseline_uri}/{LATEST_BASELINE}")
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:  # botocore's NoSuchKey is a dynamic class: name it in the message instead
            message = f"no baseline at s3://{bucket}/{key}: run the BASELINE job first ({error})"
            raise NoBaselineError(message) from error
        return Baseline.from_dict(json.loads(body))

    def put_run(self, row: dict) -> None:
        self.runs_table.put_item(Item=to_dynamodb(row))

    def put_centroids(self, rows: list[dict]) -> None:
        if self.centroids_table is None:
            raise RaglineError("no centroid table configured: the BASELINE job needs --centroid_table")
        with self.centroids_table.batch_writer() as batch:
            for row in rows:
                batch.put_item(Item=to_dynamodb(row))

    def put_distances(self, run_id: str, rows: list[dict]) -> str:
        if self.distance_uri is None:
            raise RaglineError("no distance path configured for per-prompt distances")
        uri = f"{self.distance_uri}/run_id={run_id}/distances.jsonl"
        bucket, key = _split_s3(uri)
        body = "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        return uri

    # Reading back, for the notebooks.
    def runs(self, job_type: str | None = None) -> list[dict]:
        items, request = [], {}
        while True:
            page = self.runs_table.scan(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        rows = [from_dynamodb(item) for item in items]
        rows = [row for row in rows if job_type is None or row.get("job_type") == job_type]
        return sorted(rows, key=lambda row: row["run_id"])

    def distances(self, run_id: str) -> list[dict]:
        if self.distance_uri is None:
            raise RaglineError("no distance path configured for per-prompt distances")
        bucket, prefix = _split_s3(f"{self.distance_uri}/run_id={run_id}/")
        rows = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                body = self.s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                text = gzip.decompress(body).decode() if entry["Key"].endswith(".gz") else body.decode()
                rows.extend(json.loads(line) for line in text.splitlines() if line)
        return rows

    def put_metrics(self, metrics: dict[str, float], run_id: str) -> None:
        data = [{"MetricName": name, "Value": float(value), "Unit": "None"} for name, value in metrics.items()]
        # PutMetricData takes at most 1000 values per call; a run sends about ten.
        self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data)


def to_dynamodb(value: Any) -> Any:
    """DynamoDB takes Decimal, not float, and no empty strings in keys; None becomes NULL."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamodb(v) for v in value]
    return value


def from_dynamodb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamodb(v) for v in value]
    return value


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def _write(path: Path, text: str) -> None:
    # Write then rename, so a reader never sees half a baseline.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
