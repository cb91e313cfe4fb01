"""A snapshot of the corpus judged against the stored baseline.

Five signals, each with its threshold in `DriftThresholds`:
- population shift: the shares of vectors nearest each baseline centroid (PSI, and the
  Jensen-Shannon distance for a bounded view of the same thing);
- centroid movement: the snapshot is clustered on its own (seeded) and its centroids are
  matched to the baseline's by the Hungarian method, never by index;
- distance shift: the change in mean distance to the nearest baseline centroid;
- novelty: the share of vectors that are outliers against the baseline's own held-out
  vectors (distance to centroid or distance from the PCA plane), above the share the
  baseline itself shows;
- new topics: snapshot clusters most of whose members are such outliers, reported with the
  sources they come from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ragline.drift.baseline import Baseline
from ragline.drift.clustering import choose_k, fit_kmeans
from ragline.drift.statistics import (
    DistanceSummary,
    cluster_shares,
    jensen_shannon_distance,
    match_centroids,
    population_stability_index,
)


@dataclass(frozen=True)
class DriftThresholds:
    """When a snapshot or a prompt counts as drifted. Each default is a documented convention."""

    # PSI: < 0.1 no real change, 0.1-0.2 moderate, >= 0.2 significant (the usual credit-scoring bands).
    psi: float = 0.2
    # Robust (modified) z-score above which a distance is an outlier: Iglewicz & Hoaglin (1993)
    # recommend 3.5 for the MAD-based z-score.
    outlier_z: float = 3.5
    # A matched centroid moving further than its cluster's median radius has left its cluster.
    centroid_shift: float = 1.0
    # Relative change of the mean distance to the nearest centroid (0.1 = 10 % further).
    mean_distance_change: float = 0.1
    # Share of outlying vectors above the baseline's own outlier share: 0.05 = one vector in
    # twenty more than expected. A new topic making up 5 % of the corpus reaches it.
    novel_share: float = 0.05

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"threshold {name} must be positive, got {value}")


@dataclass(frozen=True)
class SnapshotOptions:
    # None: silhouette chooses among baseline k .. baseline k + extra_clusters, because a snapshot
    # with a new topic needs a cluster more than the baseline had; forcing the baseline's k would
    # merge the new topic into an old cluster.
    k: int | None = None
    extra_clusters: int = 2
    silhouette_sample: int = 2000
    seed: int = 0
    n_init: int = 4
    max_iter: int = 300
    top_sources: int = 5  # sources listed per snapshot cluster
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)


@dataclass(frozen=True)
class SnapshotCluster:
    cluster: int
    size: int
    share: float
    matched_baseline_cluster: int | None
    shift: float | None
    relative_shift: float | None  # shift / the matched baseline cluster's median radius
    median_z: float  # median robust z of the members' distances to the baseline
    outlier_share: float
    new_topic: bool
    top_sources: list[tuple[str, int]]


@dataclass(frozen=True)
class SnapshotReport:
    run_id: str
    baseline_run_id: str
    created: str
    model: str
    n_vectors: int
    baseline_shares: list[float]
    snapshot_shares: list[float]
    psi: float
    js_distance: float
    max_relative_shift: float
    mean_relative_shift: float
    baseline_distance: dict
    snapshot_distance: dict
    mean_distance_change: float  # relative: (snapshot mean - baseline mean) / baseline mean
    outlier_rate: float  # share of vectors whose distance or residual z exceeds outlier_z
    baseline_outlier_rate: float  # the rate the baseline's own held-out vectors show
    clusters: list[SnapshotCluster]
    new_topic_clusters: list[int]
    drift_detected: bool
    reasons: list[str]
    thresholds: dict
    first_time: str | None = None
    last_time: str | None = None

    def to_dict(self) -> dict:
        return {"job_type": "SNAPSHOT", **asdict(self)}

    def metrics(self) -> dict[str, float]:
        """The values the CloudWatch alarms compare against."""
        return {
            "drift_psi": self.psi,
            "drift_js_distance": self.js_distance,
            "centroid_shift": self.max_relative_shift,
            "mean_distance_change": self.mean_distance_change,
            "drift_outlier_rate": self.outlier_rate,
            "new_topic_clusters": float(len(self.new_topic_clusters)),
            "drift_detected": float(self.drift_detected),
        }


def compare_snapshot(
    baseline: Baseline,
    vectors: np.ndarray,
    options: SnapshotOptions,
    *,
    run_id: str,
    created: str,
    sources: Sequence[str] | None = None,
    first_time: str | None = None,
    last_time: str | None = None,
) -> SnapshotReport:
    thresholds = options.thresholds
    data = np.asarray(vectors, dtype=np.float64)
    if len(data) < 2:
        raise ValueError(f"a snapshot needs at least 2 vectors, got {len(data)}")
    located = baseline.locate(data)
    baseline_shares = baseline.shares
    snapshot_shares = cluster_shares(located.labels, baseline.k)
    psi = population_stability_index(baseline_shares, snapshot_shares)
    js = jensen_shannon_distance(baseline_shares, snapshot_shares)

    z_scores = baseline.novelty(located.distances, located.residuals).z
    outliers = z_scores > thresholds.outlier_z
    outlier_rate = float(outliers.mean())
    baseline_outlier_rate = baseline.reference_outlier_rate(thresholds.outlier_z)
    baseline_summary = baseline.reference_summary
    snapshot_summary = DistanceSummary.of(located.distances)
    distance_change = (snapshot_summary.mean - baseline_summary.mean) / baseline_summary.mean

    clusters = _snapshot_clusters(baseline, data, z_scores, outliers, options, sources)
    shifts = [c.relative_shift for c in clusters if c.relative_shift is not None]
    new_topics = [c.cluster for c in clusters if c.new_topic]
    signals = Signals(psi, max(shifts), distance_change, outlier_rate - baseline_outlier_rate, new_topics)
    reasons = signals.reasons(thresholds)
    return SnapshotReport(
        run_id=run_id,
        baseline_run_id=baseline.run_id,
        created=created,
        model=baseline.model,
        n_vectors=len(data),
        baseline_shares=baseline_shares.tolist(),
        snapshot_shares=snapshot_shares.tolist(),
        psi=psi,
        js_distance=js,
        max_relative_shift=float(max(shifts)),
        mean_relative_shift=float(np.mean(shifts)),
        baseline_distance=baseline_summary.to_dict(),
        snapshot_distance=snapshot_summary.to_dict(),
        mean_distance_change=float(distance_change),
        outlier_rate=outlier_rate,
        baseline_outlier_rate=baseline_outlier_rate,
        clusters=clusters,
        new_topic_clusters=new_topics,
        drift_detected=bool(reasons),
        reasons=reasons,
        thresholds=asdict(thresholds),
        first_time=first_time,
        last_time=last_time,
    )


def _snapshot_clusters(baseline, vectors, z_scores, outliers, options, sources) -> list[SnapshotCluster]:
    # The snapshot is clustered in the embedding space itself, not in the baseline plane: a
    # topic the baseline never saw lies mostly off that plane, and projected onto it, it would
    # merge with old topics. Baseline centroids are lifted back into the same space to match.
    fit = _cluster_snapshot(vectors, baseline.k, options)
    k = fit.k
    matches = {m.snapshot_cluster: m for m in match_centroids(baseline.centroids_in_embedding_space, fit.centroids)}
    shares = cluster_shares(fit.labels, k)
    clusters = []
    for cluster in range(k):
        members = fit.labels == cluster
        match = matches.get(cluster)
        median_z = float(np.median(z_scores[members])) if members.any() else 0.0
        clusters.append(
            SnapshotCluster(
                cluster=cluster,
                size=int(members.sum()),
                share=float(shares[cluster]),
                matched_baseline_cluster=match.baseline_cluster if match else None,
                shift=match.shift if match else None,
                relative_shift=match.shift / float(baseline.cluster_radius[match.baseline_cluster]) if match else None,
                median_z=median_z,  # of the larger of distance and residual z
                outlier_share=float(outliers[members].mean()) if members.any() else 0.0,
                # Most members are outliers exactly when the median member is one.
                new_topic=bool(members.any() and median_z > options.thresholds.outlier_z),
                top_sources=_top_sources(sources, members, options.top_sources),
            )
        )
    return clusters


def _cluster_snapshot(points: np.ndarray, baseline_k: int, options: SnapshotOptions):
    if options.k is not None or len(points) <= baseline_k + 1:
        k = min(options.k or baseline_k, len(points))
        return fit_kmeans(points, k, seed=options.seed, n_init=options.n_init, max_iter=options.max_iter)
    choice = choose_k(
        points,
        range(baseline_k, baseline_k + options.extra_clusters + 1),
        seed=options.seed,
        n_init=options.n_init,
        max_iter=options.max_iter,
        silhouette_sample=options.silhouette_sample,
    )
    return choice.fit


def _top_sources(sources: Sequence[str] | None, members: np.ndarray, limit: int) -> list[tuple[str, int]]:
    if sources is None:
        return []
    counts = Counter(source for source, member in zip(sources, members, strict=True) if member)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


@dataclass(frozen=True)
class Signals:
    psi: float
    max_shift: float
    distance_change: float
    excess_outlier_share: float
    new_topics: list[int]

    def reasons(self, thresholds: DriftThresholds) -> list[str]:
        """Why the snapshot counts as drift; empty when it does not."""
        reasons = []
        if self.psi >= thresholds.psi:
            reasons.append(f"population shift: PSI {self.psi:.3f} >= {thresholds.psi}")
        if self.max_shift >= thresholds.centroid_shift:
            reasons.append(f"centroid moved {self.max_shift:.2f} cluster radii >= {thresholds.centroid_shift}")
        if self.distance_change >= thresholds.mean_distance_change:
            change, limit = self.distance_change, thresholds.mean_distance_change
            reasons.append(f"mean distance to centroid up {change:.1%} >= {limit:.0%}")
        if self.excess_outlier_share >= thresholds.novel_share:
            excess, limit = self.excess_outlier_share, thresholds.novel_share
            reasons.append(f"outliers {excess:.1%} above the baseline's own share >= {limit:.0%}")
        if self.new_topics:
            reasons.append(f"new topic cluster(s) {self.new_topics}: most members beyond z {thresholds.outlier_z}")
        return reasons
