"""`ragline drift baseline|snapshot|distance`: the local drift runs, with results in a table.

Each command parses its options, calls one function of `ragline.drift.service` and prints the
result; results are also stored under `<data_dir>/drift/`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ragline.drift.baseline import Baseline, BaselineOptions
from ragline.drift.distance import DEFAULT_OUTLIER_Z, DistanceReport
from ragline.drift.service import DEFAULT_MAX_VECTORS, run_baseline, run_distance, run_snapshot
from ragline.drift.snapshot import DriftThresholds, SnapshotOptions, SnapshotReport
from ragline.entrypoints.display import short_names
from ragline.errors import RaglineError

drift_app = typer.Typer(
    help="Embedding drift: fit a baseline, compare snapshots, measure prompts.", no_args_is_help=True
)
console = Console()

DataDir = Annotated[Path | None, typer.Option(help="Data folder; default: the configured data_dir.")]
Since = Annotated[str | None, typer.Option(help="Only records at or after this ISO 8601 time.")]
Until = Annotated[str | None, typer.Option(help="Only records before this ISO 8601 time.")]
MaxVectors = Annotated[int, typer.Option(min=10, help="Seeded sample beyond this many vectors.")]
Seed = Annotated[int, typer.Option(help="Seed for sampling, the hold-out split and k-means.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OutlierZ = Annotated[float, typer.Option(min=0.1, help="Robust z-score above which a distance is an outlier.")]

_defaults = DriftThresholds()


@drift_app.command()
def baseline(
    data_dir: DataDir = None,
    k: Annotated[int | None, typer.Option(min=2, help="Number of clusters; default: chosen by silhouette.")] = None,
    k_min: Annotated[int, typer.Option(min=2)] = BaselineOptions.k_min,
    k_max: Annotated[int, typer.Option(min=2)] = BaselineOptions.k_max,
    variance: Annotated[float, typer.Option(min=0.5, max=1.0, help="Variance the PCA keeps.")] = 0.95,
    holdout: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share held out for the reference.")] = 0.2,
    model: Annotated[str | None, typer.Option(help="Embedding model, when the archive holds several.")] = None,
    since: Since = None,
    until: Until = None,
    max_vectors: MaxVectors = DEFAULT_MAX_VECTORS,
    seed: Seed = 0,
    as_json: AsJson = False,
) -> None:
    """Fit PCA and seeded k-means on the chunk archive and store them as the baseline."""
    options = BaselineOptions(
        k=k, k_min=k_min, k_max=k_max, variance_to_keep=variance, holdout_fraction=holdout, seed=seed
    )
    result = _guarded(
        lambda: run_baseline(
            _data_dir(data_dir), options, model=model, since=since, until=until, max_vectors=max_vectors
        )
    )
    _print_json(result.summary()) if as_json else _show_baseline(result)


@drift_app.command()
def snapshot(
    data_dir: DataDir = None,
    k: Annotated[int | None, typer.Option(min=2, help="Snapshot clusters; default: chosen by silhouette.")] = None,
    psi: Annotated[float, typer.Option(min=0.0, help="PSI at or above which shares have shifted.")] = _defaults.psi,
    outlier_z: OutlierZ = _defaults.outlier_z,
    centroid_shift: Annotated[float, typer.Option(help="Centroid move, in cluster radii.")] = _defaults.centroid_shift,
    distance_change: Annotated[
        float, typer.Option(help="Relative rise of the mean distance to centroid.")
    ] = _defaults.mean_distance_change,
    since: Since = None,
    until: Until = None,
    max_vectors: MaxVectors = DEFAULT_MAX_VECTORS,
    seed: Seed = 0,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit with status 2 when drift is detected.")] = False,
    as_json: AsJson = False,
) -> None:
    """Compare the chunk archive (or a time window of it) with the stored baseline."""
    thresholds = DriftThresholds(
        psi=psi, outlier_z=outlier_z, centroid_shift=centroid_shift, mean_distance_change=distance_change
    )
    options = SnapshotOptions(k=k, seed=seed, thresholds=thresholds)
    result = _guarded(
        lambda: run_snapshot(_data_dir(data_dir), options, since=since, until=until, max_vectors=max_vectors)
    )
    _print_json(result.to_dict()) if as_json else _show_snapshot(result)
    if fail_on_drift and result.drift_detected:
        raise typer.Exit(2)


@drift_app.command()
def distance(
    data_dir: DataDir = None,
    outlier_z: OutlierZ = DEFAULT_OUTLIER_Z,
    since: Since = None,
    until: Until = None,
    max_vectors: MaxVectors = DEFAULT_MAX_VECTORS,
    seed: Seed = 0,
    as_json: AsJson = False,
) -> None:
    """Distance of each archived prompt to its nearest baseline centroid, and the outliers."""
    result = _guarded(
        lambda: run_distance(
            _data_dir(data_dir), outlier_z=outlier_z, since=since, until=until, max_vectors=max_vectors, seed=seed
        )
    )
    _print_json(result.to_dict()) if as_json else _show_distance(result)


def _data_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from ragline.config import load_settings  # only the CLI reads the settings; the service takes a path

    return load_settings().data_dir


def _guarded(run):
    try:
        return run()
    except (RaglineError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from error


def _print_json(payload: dict) -> None:
    console.print_json(json.dumps(payload))


def _show_baseline(result: Baseline) -> None:
    summary = result.summary()
    table = _key_values(f"Baseline {result.run_id}")
    table.add_row("model", result.model)
    table.add_row("vectors (train / reference)", f"{result.n_vectors} ({result.n_train} / {summary['n_reference']})")
    table.add_row("PCA components", f"{result.basis.n_components} of {result.basis.dimension}")
    table.add_row("variance kept", f"{result.basis.explained_variance:.1%}")
    table.add_row("k", f"{result.k} ({result.k_chosen_by})")
    table.add_row("silhouette", f"{result.silhouette:.3f}")
    reference = summary["reference_distance"]
    table.add_row("reference distance", f"median {reference['median']:.4f}, p95 {reference['p95']:.4f}")
    table.add_row("cluster sizes", ", ".join(str(c) for c in result.cluster_counts))
    console.print(table)
    if not result.reference_is_holdout:
        console.print(
            "[yellow]warning:[/yellow] too few vectors to hold some out: the reference distances are "
            "measured on the fitted vectors themselves, so later outlier rates will read high."
        )


def _show_snapshot(result: SnapshotReport) -> None:
    verdict = "[red]DRIFT[/red]" if result.drift_detected else "[green]no drift[/green]"
    table = _key_values(f"Snapshot {result.run_id} vs baseline {result.baseline_run_id}: {verdict}")
    table.add_row("vectors", str(result.n_vectors))
    table.add_row("PSI / Jensen-Shannon", f"{result.psi:.4f} / {result.js_distance:.4f}")
    table.add_row("centroid shift (max, radii)", f"{result.max_relative_shift:.3f}")
    table.add_row("mean distance change", f"{result.mean_distance_change:+.1%}")
    table.add_row("outlier rate (baseline's own)", f"{result.outlier_rate:.1%} ({result.baseline_outlier_rate:.1%})")
    for reason in result.reasons:
        table.add_row("reason", reason)
    console.print(table)
    folder, names = short_names([source for c in result.clusters for source, _ in c.top_sources[:3]])
    short = iter(names)
    clusters = Table(title=f"Snapshot clusters{f' (top sources under {folder})' if folder else ''}")
    for column in ("cluster", "size", "matched", "shift (radii)", "median z", "new topic", "top sources"):
        clusters.add_column(column)
    for c in result.clusters:
        clusters.add_row(
            str(c.cluster),
            str(c.size),
            "-" if c.matched_baseline_cluster is None else str(c.matched_baseline_cluster),
            "-" if c.relative_shift is None else f"{c.relative_shift:.2f}",
            f"{c.median_z:.2f}",
            "[red]yes[/red]" if c.new_topic else "no",
            ", ".join(f"{next(short)} ({count})" for _, count in c.top_sources[:3]),
        )
    console.print(clusters)


def _show_distance(result: DistanceReport) -> None:
    table = _key_values(f"Prompt distances {result.run_id} vs baseline {result.baseline_run_id}")
    d = result.distance
    table.add_row("prompts", str(result.n_prompts))
    table.add_row("mean / median / std", f"{d['mean']:.4f} / {d['median']:.4f} / {d['std']:.4f}")
    table.add_row("p95", f"{d['p95']:.4f}")
    table.add_row(
        f"outliers (z > {result.outlier_z})",
        f"{result.outlier_count} ({result.outlier_rate:.1%}; baseline's own {result.baseline_outlier_rate:.1%})",
    )
    table.add_row("prompts per cluster", ", ".join(str(c) for c in result.cluster_counts))
    console.print(table)


def _key_values(title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    return table
