"""Arguments, outputs and dispatch of the two Glue drift jobs (thin scripts in `glue_jobs/`).

Arguments (Glue passes `--name value`; `getResolvedOptions` is used when awsglue is present,
argparse otherwise, so `spark-submit glue_jobs/<script>.py --job_type ...` works locally):

    --job_type          BASELINE | SNAPSHOT (embedding_drift_analysis) or DISTANCE (embedding_distance_analysis)
    --kind              chunk (default) | prompt: which records BASELINE and SNAPSHOT analyse
    --data_path         archive of those records, e.g. s3://bucket/embeddingarchive/ (chunks),
                        s3://bucket/promptarchive/ (prompts) or file:///.../embeddingarchive
    --prompt_path       prompt archive, e.g. s3://bucket/promptarchive/ (DISTANCE)
    --out_table         DynamoDB table for one row per run (partition key run_id)
    --centroid_table    DynamoDB table for one row per baseline centroid (run_id + cluster); BASELINE only
    --distance_path     where per-prompt distances go, e.g. s3://bucket/promptdistance/ (DISTANCE)
    --baseline_path     where the baseline (basis, centroids, reference) is kept;
                        default <scheme>://<bucket of data_path or prompt_path>/driftbaseline
    --local_output      a folder (path or file:// URI): write runs, centroids, baseline and metrics
                        there instead of DynamoDB/S3/CloudWatch; no AWS client is created
    --k --seed --max_vectors --variance --since --until --model
    --psi_threshold --outlier_z --centroid_shift_threshold --distance_change_threshold
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from ragline.drift.archive import Selection, VectorBatch
from ragline.drift.baseline import BaselineOptions
from ragline.drift.distance import summarise_prompts
from ragline.drift.service import (
    DEFAULT_MAX_VECTORS,
    baseline_run,
    new_run_id,
    now,
    record_distance_report,
    snapshot_run,
)
from ragline.drift.snapshot import DriftThresholds, SnapshotOptions
from ragline.drift.store import BASELINE_PREFIX, AwsDriftStore, DriftStore, LocalDriftStore
from ragline.records import RecordKind

JOB_TYPES = ("BASELINE", "SNAPSHOT", "DISTANCE")
KINDS = tuple(kind.value for kind in RecordKind)
OPTIONAL_ARGUMENTS = (
    "kind", "out_table", "centroid_table", "data_path", "prompt_path", "distance_path", "baseline_path", "local_output",
    "k", "seed", "max_vectors", "variance", "since", "until", "model", "run_id",
    "psi_threshold", "outlier_z", "centroid_shift_threshold", "distance_change_threshold",
)  # fmt: skip


# Reads the selected records of an archive (path or URI) into memory: Spark on Glue, numpy locally.
BatchReader = Callable[[str, Selection], VectorBatch]


@dataclass(frozen=True)
class JobArguments:
    job_type: str
    kind: RecordKind = RecordKind.CHUNK  # what BASELINE and SNAPSHOT analyse; DISTANCE always reads prompts
    data_path: str | None = None
    prompt_path: str | None = None
    out_table: str | None = None
    centroid_table: str | None = None
    distance_path: str | None = None
    baseline_path: str | None = None
    local_output: str | None = None
    k: int | None = None
    seed: int = 0
    max_vectors: int = DEFAULT_MAX_VECTORS
    variance: float = 0.95
    since: str | None = None
    until: str | None = None
    model: str | None = None
    run_id: str | None = None
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    def check(self, allowed: tuple[str, ...]) -> JobArguments:
        if self.job_type not in allowed:
            raise SystemExit(f"--job_type must be one of {', '.join(allowed)}, got {self.job_type!r}")
        if self.job_type in ("BASELINE", "SNAPSHOT") and not self.data_path:
            raise SystemExit(f"{self.job_type} needs --data_path (the archive of {self.kind} records)")
        if self.job_type == "DISTANCE" and not self.prompt_path:
            raise SystemExit("DISTANCE needs --prompt_path (the prompt archive)")
        if self.local_output is None:
            needed = {"BASELINE": ("out_table", "centroid_table"), "SNAPSHOT": ("out_table",)}
            missing = [n for n in needed.get(self.job_type, ("out_table", "distance_path")) if getattr(self, n) is None]
            if missing:
                raise SystemExit(f"without --local_output, {self.job_type} needs --{', --'.join(missing)}")
        return self

    @property
    def resolved_baseline_path(self) -> str:
        if self.baseline_path:
            return self.baseline_path.rstrip("/")
        parsed = urlparse(self.data_path or self.prompt_path or "")
        return f"{parsed.scheme}://{parsed.netloc}/{BASELINE_PREFIX}"

    @property
    def resolved_distance_path(self) -> str:
        if self.distance_path:
            return self.distance_path.rstrip("/")
        return (local_folder(self.local_output) / "distances").as_uri()


def parse_job_arguments(argv: list[str], allowed: tuple[str, ...]) -> JobArguments:
    values = _resolved_options(argv)
    if values.get("kind") not in (None, *KINDS):  # checked here: Glue's getResolvedOptions has no choices
        raise SystemExit(f"--kind must be one of {', '.join(KINDS)}, got {values['kind']!r}")
    convert = {"k": int, "seed": int, "max_vectors": int, "variance": float, "kind": RecordKind}
    typed = {name: convert.get(name, str)(value) for name, value in values.items() if value is not None}
    threshold_names = {
        "psi_threshold": "psi",
        "outlier_z": "outlier_z",
        "centroid_shift_threshold": "centroid_shift",
        "distance_change_threshold": "mean_distance_change",
    }
    thresholds = {field: float(typed.pop(name)) for name, field in threshold_names.items() if name in typed}
    return JobArguments(**typed, thresholds=DriftThresholds(**thresholds)).check(allowed)


def _resolved_options(argv: list[str]) -> dict[str, str | None]:
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(description="ragline embedding drift job")
        parser.add_argument("--job_type", required=True, choices=JOB_TYPES)
        for name in OPTIONAL_ARGUMENTS:
            parser.add_argument(f"--{name}")
        known, _ = parser.parse_known_args(argv[1:])  # Glue adds its own arguments: ignore them
        return vars(known)
    # getResolvedOptions fails on a listed argument that is absent: list only those present.
    present = [name for name in OPTIONAL_ARGUMENTS if f"--{name}" in argv]
    return getResolvedOptions(argv, ["job_type", *present])


def local_folder(uri_or_path: str | None) -> Path:
    if uri_or_path is None:
        raise ValueError("no local output folder given")
    parsed = urlparse(uri_or_path)
    return Path(parsed.path) if parsed.scheme == "file" else Path(uri_or_path)


def build_store(arguments: JobArguments) -> DriftStore:
    """The local folder when asked for; otherwise DynamoDB, S3 and CloudWatch (boto3 made here, at run time)."""
    if arguments.local_output is not None:
        return LocalDriftStore(local_folder(arguments.local_output))
    import boto3

    dynamodb = boto3.resource("dynamodb")
    return AwsDriftStore(
        runs_table=dynamodb.Table(arguments.out_table),
        centroids_table=dynamodb.Table(arguments.centroid_table) if arguments.centroid_table else None,
        s3=boto3.client("s3"),
        cloudwatch=boto3.client("cloudwatch"),
        baseline_uri=arguments.resolved_baseline_path,
        distance_uri=arguments.distance_path,
    )


def run_job(spark, arguments: JobArguments, store: DriftStore) -> dict:
    """Run one job; return its summary row."""
    from ragline.drift import spark as spark_io

    # Archive times carry their offset; parse and compare them in UTC whatever the cluster's zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if arguments.job_type == "DISTANCE":
        return _distance_job(spark, arguments, store, store.load_baseline())
    return drift_job(arguments, store, lambda path, selection: spark_io.read_batch(spark, path, selection))


def drift_job(arguments: JobArguments, store: DriftStore, read_batch: BatchReader) -> dict:
    """BASELINE or SNAPSHOT of the `--kind` records under `--data_path`; return the summary row."""
    if arguments.job_type == "BASELINE":
        options = BaselineOptions(k=arguments.k, variance_to_keep=arguments.variance, seed=arguments.seed)
        batch = read_batch(arguments.data_path, _selection(arguments, arguments.kind))
        return baseline_run(batch, options, store, run_id=arguments.run_id).summary()
    baseline = store.load_baseline()
    options = SnapshotOptions(seed=arguments.seed, thresholds=arguments.thresholds)
    batch = read_batch(arguments.data_path, _selection(arguments, arguments.kind, model=baseline.model))
    return snapshot_run(batch, options, store, baseline=baseline, run_id=arguments.run_id).to_dict()


def _distance_job(spark, arguments: JobArguments, store: DriftStore, baseline) -> dict:
    import numpy as np

    from ragline.drift import spark as spark_io

    run_id = arguments.run_id or new_run_id("DISTANCE")
    selection = _selection(arguments, RecordKind.PROMPT, model=baseline.model)
    frame, _, _ = spark_io.selected_frame(spark_io.read_archive(spark, arguments.prompt_path), selection)
    outlier_z = arguments.thresholds.outlier_z
    distances = spark_io.prompt_distance_frame(frame, baseline, outlier_z=outlier_z, run_id=run_id).cache()
    distances.write.mode("overwrite").json(f"{arguments.resolved_distance_path}/run_id={run_id}", compression="gzip")
    rows = distances.select("time", "cluster", "distance", "residual").collect()
    if not rows:
        raise SystemExit("no prompts in the selection")
    report = summarise_prompts(
        baseline,
        np.asarray([row["distance"] for row in rows]),
        np.asarray([row["cluster"] for row in rows]),
        np.asarray([row["residual"] for row in rows]),
        outlier_z=outlier_z,
        run_id=run_id,
        created=now(),
        first_time=min(row["time"] for row in rows),
        last_time=max(row["time"] for row in rows),
    )
    record_distance_report(report, store)
    distances.unpersist()
    return report.to_dict()


def _selection(arguments: JobArguments, kind: RecordKind, model: str | None = None) -> Selection:
    return Selection(
        kind=kind,
        model=model or arguments.model,
        since=arguments.since,
        until=arguments.until,
        max_vectors=arguments.max_vectors,
        seed=arguments.seed,
    )


def spark_session(app_name: str):
    """Glue's session when running on Glue, a local one otherwise."""
    try:
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext

        spark = GlueContext(SparkContext.getOrCreate()).spark_session
    except ImportError:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName(app_name).getOrCreate()
    return spark


def main(
    argv: list[str], *, allowed: tuple[str, ...], app_name: str, spark=None, store: DriftStore | None = None
) -> dict:
    arguments = parse_job_arguments(argv, allowed)
    spark = spark or spark_session(app_name)
    summary = run_job(spark, arguments, store or build_store(arguments))
    print(json.dumps({key: summary[key] for key in summary if not isinstance(summary[key], list | dict)}))
    return summary
