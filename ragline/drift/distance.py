"""Distance of each prompt to the nearest baseline centroid, and what is unusual about them.

The prompts are placed with the stored baseline (never a re-fit) and judged by robust z-scores
against the baseline's own held-out vectors: their distance to the nearest centroid, and their
distance from the baseline's PCA plane. A question far from every document cluster, or off the
plane the documents span, is one the corpus was not built to answer. (Measured here: 99 % of
FinanceBench questions score beyond z 3.5 on a SciFact baseline, 2 % of SciFact's own queries.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ragline.drift.baseline import Baseline, Novelty
from ragline.drift.statistics import DistanceSummary

# The robust z above which a prompt is an outlier, Iglewicz & Hoaglin's recommended 3.5 for the
# MAD-based z-score. Overridable everywhere (`--outlier-z`, `--outlier_z`).
DEFAULT_OUTLIER_Z = 3.5


@dataclass(frozen=True)
class PromptDistances:
    labels: np.ndarray
    distances: np.ndarray
    residuals: np.ndarray
    novelty: Novelty

    @property
    def z_scores(self) -> np.ndarray:
        return self.novelty.z

    def outliers(self, outlier_z: float) -> np.ndarray:
        return self.z_scores > outlier_z


def measure_prompts(baseline: Baseline, vectors: np.ndarray) -> PromptDistances:
    located = baseline.locate(np.asarray(vectors, dtype=np.float64))
    return PromptDistances(
        labels=located.labels,
        distances=located.distances,
        residuals=located.residuals,
        novelty=baseline.novelty(located.distances, located.residuals),
    )


def prompt_rows(
    baseline: Baseline,
    vectors: np.ndarray,
    *,
    ids: Sequence[str],
    times: Sequence[str],
    sources: Sequence[str],
    outlier_z: float,
    run_id: str,
) -> list[dict]:
    """One row per prompt, as written to `promptdistance/` (S3) or `drift/distances/` (local)."""
    measured = measure_prompts(baseline, vectors)
    return [
        {
            "run_id": run_id,
            "id": prompt_id,
            "time": time,
            "source": source,
            "cluster": int(label),
            "distance": float(distance),
            "residual": float(residual),
            "distance_z": float(distance_z),
            "residual_z": float(residual_z),
            "z_score": float(max(distance_z, residual_z)),
            "outlier": bool(max(distance_z, residual_z) > outlier_z),
        }
        for prompt_id, time, source, label, distance, residual, distance_z, residual_z in zip(
            ids,
            times,
            sources,
            measured.labels,
            measured.distances,
            measured.residuals,
            measured.novelty.distance_z,
            measured.novelty.residual_z,
            strict=True,
        )
    ]


@dataclass(frozen=True)
class DistanceReport:
    run_id: str
    baseline_run_id: str
    created: str
    model: str
    n_prompts: int
    distance: dict  # DistanceSummary: mean, exact median, std, p95, ...
    outlier_z: float
    outlier_count: int
    outlier_rate: float
    baseline_outlier_rate: float  # what the baseline's own held-out chunks show at the same z
    reference_median: float  # of the baseline's held-out distances to centroid
    reference_scale: float  # their MAD, scaled to a normal standard deviation
    cluster_counts: list[int]
    first_time: str | None = None
    last_time: str | None = None

    def to_dict(self) -> dict:
        return {"job_type": "DISTANCE", **asdict(self)}

    def metrics(self) -> dict[str, float]:
        return {
            "prompt_distance_mean": self.distance["mean"],
            "prompt_distance_median": self.distance["median"],
            "prompt_distance_p95": self.distance["p95"],
            "prompt_outlier_rate": self.outlier_rate,
            "prompt_count": float(self.n_prompts),
        }


def summarise_prompts(
    baseline: Baseline,
    distances: np.ndarray,
    labels: np.ndarray,
    residuals: np.ndarray,
    *,
    outlier_z: float,
    run_id: str,
    created: str,
    first_time: str | None = None,
    last_time: str | None = None,
) -> DistanceReport:
    """The report from per-prompt distances (computed here, or on Spark workers)."""
    if outlier_z <= 0:
        raise ValueError(f"outlier_z must be positive, got {outlier_z}")
    reference = baseline.reference
    outliers = baseline.novelty(np.asarray(distances), np.asarray(residuals)).z > outlier_z
    return DistanceReport(
        run_id=run_id,
        baseline_run_id=baseline.run_id,
        created=created,
        model=baseline.model,
        n_prompts=len(distances),
        distance=DistanceSummary.of(distances).to_dict(),
        outlier_z=outlier_z,
        outlier_count=int(outliers.sum()),
        outlier_rate=float(outliers.mean()),
        baseline_outlier_rate=baseline.reference_outlier_rate(outlier_z),
        reference_median=reference.median,
        reference_scale=reference.scale,
        cluster_counts=np.bincount(np.asarray(labels, dtype=np.int64), minlength=baseline.k).tolist(),
        first_time=first_time,
        last_time=last_time,
    )
