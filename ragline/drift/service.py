"""The three drift runs, as one function each, shared by the CLI, the notebooks and Glue.

`*_run` functions take vectors already read (by the local reader or by Spark) and a store;
`run_*` functions are the local entry points that read `<data_dir>/archive/` and store under
`<data_dir>/drift/`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from ragline.drift.archive import Selection, VectorBatch, read_local_archive
from ragline.drift.baseline import Baseline, BaselineOptions, fit_baseline
from ragline.drift.distance import DEFAULT_OUTLIER_Z, DistanceReport, measure_prompts, prompt_rows, summarise_prompts
from ragline.drift.snapshot import SnapshotOptions, SnapshotReport, compare_snapshot
from ragline.drift.store import DriftStore, LocalDriftStore
from ragline.records import RecordKind

DRIFT_FOLDER = "drift"
DEFAULT_MAX_VECTORS = 20_000


def new_run_id(job_type: str) -> str:
    """Sortable by time, unique across concurrent runs."""
    moment = datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond:06d}Z-{job_type.lower()}-{secrets.token_hex(3)}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def baseline_run(
    batch: VectorBatch, options: BaselineOptions, store: DriftStore, *, run_id: str | None = None
) -> Baseline:
    baseline = fit_baseline(
        batch.vectors,
        options,
        run_id=run_id or new_run_id("BASELINE"),
        created=now(),
        model=batch.model,
        first_time=batch.first_time,
        last_time=batch.last_time,
    )
    store.save_baseline(baseline)
    store.put_run(baseline.summary())
    store.put_centroids(baseline.centroid_rows())
    store.put_metrics({"baseline_silhouette": baseline.silhouette, "baseline_k": float(baseline.k)}, baseline.run_id)
    return baseline


def snapshot_run(
    batch: VectorBatch,
    options: SnapshotOptions,
    store: DriftStore,
    *,
    baseline: Baseline | None = None,
    run_id: str | None = None,
) -> SnapshotReport:
    baseline = baseline or store.load_baseline()
    report = compare_snapshot(
        baseline,
        batch.vectors,
        options,
        run_id=run_id or new_run_id("SNAPSHOT"),
        created=now(),
        sources=batch.sources,
        first_time=batch.first_time,
        last_time=batch.last_time,
    )
    store.put_run(report.to_dict())
    store.put_metrics(report.metrics(), report.run_id)
    return report


def distance_run(
    batch: VectorBatch,
    store: DriftStore,
    *,
    outlier_z: float = DEFAULT_OUTLIER_Z,
    baseline: Baseline | None = None,
    run_id: str | None = None,
) -> DistanceReport:
    baseline = baseline or store.load_baseline()
    run_id = run_id or new_run_id("DISTANCE")
    rows = prompt_rows(
        baseline,
        batch.vectors,
        ids=batch.ids,
        times=batch.times,
        sources=batch.sources,
        outlier_z=outlier_z,
        run_id=run_id,
    )
    store.put_distances(run_id, rows)
    measured = measure_prompts(baseline, batch.vectors)
    report = summarise_prompts(
        baseline,
        measured.distances,
        measured.labels,
        measured.residuals,
        outlier_z=outlier_z,
        run_id=run_id,
        created=now(),
        first_time=batch.first_time,
        last_time=batch.last_time,
    )
    record_distance_report(report, store)
    return report


def record_distance_report(report: DistanceReport, store: DriftStore) -> None:
    store.put_run(report.to_dict())
    store.put_metrics(report.metrics(), report.run_id)


# Local entry points -------------------------------------------------------------------------


def local_store(data_dir: Path) -> LocalDriftStore:
    return LocalDriftStore(Path(data_dir) / DRIFT_FOLDER)


def run_baseline(
    data_dir: Path,
    options: BaselineOptions | None = None,
    *,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
    max_vectors: int = DEFAULT_MAX_VECTORS,
) -> Baseline:
    """Fit a baseline on the local chunk archive and store it as the current one."""
    options = options or BaselineOptions()
    selection = Selection(RecordKind.CHUNK, model, since, until, max_vectors, options.seed)
    return baseline_run(read_local_archive(data_dir, selection), options, local_store(data_dir))


def run_snapshot(
    data_dir: Path,
    options: SnapshotOptions | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    max_vectors: int = DEFAULT_MAX_VECTORS,
) -> SnapshotReport:
    """Compare the local chunk archive (or a time window of it) with the current baseline."""
    options = options or SnapshotOptions()
    store = local_store(data_dir)
    baseline = store.load_baseline()
    selection = Selection(RecordKind.CHUNK, baseline.model, since, until, max_vectors, options.seed)
    return snapshot_run(read_local_archive(data_dir, selection), options, store, baseline=baseline)


def run_distance(
    data_dir: Path,
    *,
    outlier_z: float = DEFAULT_OUTLIER_Z,
    since: str | None = None,
    until: str | None = None,
    max_vectors: int = DEFAULT_MAX_VECTORS,
    seed: int = 0,
) -> DistanceReport:
    """Measure the local prompt archive against the current baseline."""
    store = local_store(data_dir)
    baseline = store.load_baseline()
    selection = Selection(RecordKind.PROMPT, baseline.model, since, until, max_vectors, seed)
    return distance_run(read_local_archive(data_dir, selection), store, outlier_z=outlier_z, baseline=baseline)
