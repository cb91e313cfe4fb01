"""Small helpers the drift notebooks share: where the data is, and a demo archive when there is none.

A notebook must run on a clean machine (CI executes it headless). When the local archive is
empty, it works on a synthetic archive written to a temporary folder, and says so.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from ragline.drift.archive import archive_files, archive_folder
from ragline.drift.store import BASELINE_PREFIX, AwsDriftStore
from ragline.drift.synthetic import SyntheticArchive, write_synthetic_archive
from ragline.records import PROMPT_DISTANCE_PREFIX, RecordKind


def configured_data_dir(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from ragline.config import load_settings

    return load_settings().data_dir


def data_or_demo(data_dir: Path) -> tuple[Path, SyntheticArchive | None]:
    """`data_dir` when it holds both archives, otherwise a fresh synthetic one in a temp folder."""
    has_chunks = bool(archive_files(archive_folder(data_dir, RecordKind.CHUNK)))
    has_prompts = bool(archive_files(archive_folder(data_dir, RecordKind.PROMPT)))
    if has_chunks and has_prompts:
        return data_dir, None
    demo = write_synthetic_archive(Path(tempfile.mkdtemp(prefix="ragline-drift-demo-")))
    return demo.data_dir, demo


def aws_store(*, bucket: str, runs_table: str, centroids_table: str, region: str | None = None) -> AwsDriftStore:
    """The results the Glue jobs wrote (needs AWS credentials; boto3 is imported only here)."""
    import boto3

    session = boto3.Session(region_name=region)
    dynamodb = session.resource("dynamodb")
    return AwsDriftStore(
        runs_table=dynamodb.Table(runs_table),
        centroids_table=dynamodb.Table(centroids_table),
        s3=session.client("s3"),
        cloudwatch=session.client("cloudwatch"),
        baseline_uri=f"s3://{bucket}/{BASELINE_PREFIX}",
        distance_uri=f"s3://{bucket}/{PROMPT_DISTANCE_PREFIX}",
    )


def daily_distance_trend(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per day (UTC date of the prompt): count, mean, median, p95 of distances and outlier rate."""
    by_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_day[row["time"][:10]].append(row)
    trend = {}
    for day in sorted(by_day):
        distances = [row["distance"] for row in by_day[day]]
        trend[day] = {
            "count": len(distances),
            "mean": float(np.mean(distances)),
            "median": float(np.median(distances)),
            "p95": float(np.percentile(distances, 95)),
            "outlier_rate": float(np.mean([row["outlier"] for row in by_day[day]])),
        }
    return trend
