"""The statistics drift is judged by: robust z-scores, distance summaries, population shift
between cluster shares, and Hungarian matching of centroids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist, jensenshannon
from scipy.stats import median_abs_deviation

# Half a count added to every cluster before taking shares (the Jeffreys prior): an empty
# cluster would otherwise make PSI infinite, and half a count barely moves a populated one.
SHARE_SMOOTHING_COUNT = 0.5

# sqrt(pi/2): makes the mean absolute deviation estimate a normal standard deviation. Used only
# when more than half of the reference distances are equal and the MAD is zero.
MEAN_ABSOLUTE_DEVIATION_SCALE = float(np.sqrt(np.pi / 2))


@dataclass(frozen=True)
class RobustReference:
    """Location and scale of a reference distance distribution, for robust z-scores."""

    median: float
    scale: float  # MAD scaled to estimate a normal standard deviation

    @classmethod
    def of(cls, distances: np.ndarray) -> RobustReference:
        values = np.asarray(distances, dtype=np.float64)
        if values.size == 0:
            raise ValueError("a robust reference needs at least one distance")
        median = float(np.median(values))
        scale = float(median_abs_deviation(values, scale="normal"))
        if scale == 0.0:
            scale = float(np.mean(np.abs(values - median)) * MEAN_ABSOLUTE_DEVIATION_SCALE)
        if scale == 0.0:
            raise ValueError("the reference distances are all equal: no scale to judge outliers by")
        return cls(median=median, scale=scale)

    def z_scores(self, distances: np.ndarray) -> np.ndarray:
        """Robust z of each distance (Iglewicz & Hoaglin's modified z-score)."""
        return (np.asarray(distances, dtype=np.float64) - self.median) / self.scale


@dataclass(frozen=True)
class DistanceSummary:
    count: int
    mean: float
    median: float  # exact, not approximate
    std: float
    p95: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, distances: np.ndarray) -> DistanceSummary:
        values = np.asarray(distances, dtype=np.float64)
        if values.size == 0:
            raise ValueError("no distances to summarise")
        return cls(
            count=int(values.size),
            mean=float(values.mean()),
            median=float(np.median(values)),
            std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
            p95=float(np.percentile(values, 95)),
            minimum=float(values.min()),
            maximum=float(values.max()),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def cluster_shares(labels: np.ndarray, k: int) -> np.ndarray:
    """Smoothed share of points in each of `k` clusters (sums to 1)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k).astype(np.float64)
    return shares_from_counts(counts)


def shares_from_counts(counts: np.ndarray) -> np.ndarray:
    smoothed = np.asarray(counts, dtype=np.float64) + SHARE_SMOOTHING_COUNT
    return smoothed / smoothed.sum()


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum (a - e) ln(a / e) over clusters; both arguments are shares with no zeros."""
    expected, actual = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def jensen_shannon_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance in bits: 0 for identical shares, 1 for disjoint ones."""
    return float(jensenshannon(expected, actual, base=2))


@dataclass(frozen=True)
class CentroidMatch:
    baseline_cluster: int
    snapshot_cluster: int
    shift: float  # distance between the matched centroids


def match_centroids(baseline: np.ndarray, snapshot: np.ndarray) -> list[CentroidMatch]:
    """Pair centroids of two independent fits so that the summed distance is smallest.

    Cluster numbers of two k-means fits mean nothing to each other (the original compared them
    by index); the Hungarian method finds the pairing. With unequal counts, the extra centroids
    of the larger side stay unmatched.
    """
    costs = cdist(baseline, snapshot)
    rows, columns = linear_sum_assignment(costs)
    return [
        CentroidMatch(baseline_cluster=int(row), snapshot_cluster=int(column), shift=float(costs[row, column]))
        for row, column in zip(rows, columns, strict=True)
    ]
