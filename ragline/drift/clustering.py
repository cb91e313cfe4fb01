"""Seeded k-means (k-means++ start, Lloyd iterations) and silhouette-based choice of k.

Everything is driven by one integer seed so that the local run and the Glue run of the same
data produce the same centroids; the original job had no seed (defect 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class KMeansFit:
    centroids: np.ndarray  # (k, m)
    labels: np.ndarray  # (n,)
    inertia: float  # sum of squared distances to the assigned centroid

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def nearest_centroid(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centroid for each point, and the squared distance to it."""
    squared = cdist(points, centroids, "sqeuclidean")
    labels = squared.argmin(axis=1)
    return labels, squared[np.arange(len(points)), labels]


def fit_kmeans(points: np.ndarray, k: int, *, seed: int, n_init: int = 4, max_iter: int = 300) -> KMeansFit:
    """Best of `n_init` seeded k-means runs (lowest inertia)."""
    data = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= len(data):
        raise ValueError(f"k must be between 1 and the number of points ({len(data)}), got {k}")
    rng = np.random.default_rng(seed)
    fits = [_lloyd(data, _kmeans_plus_plus(data, k, rng), max_iter) for _ in range(max(1, n_init))]
    return min(fits, key=lambda fit: fit.inertia)


def _kmeans_plus_plus(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    # Arthur & Vassilvitskii (2007): each new centre is drawn with probability proportional to the
    # squared distance to the nearest centre chosen so far.
    centres = [data[rng.integers(len(data))]]
    closest = cdist(data, centres, "sqeuclidean")[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        index = rng.choice(len(data), p=closest / total) if total > 0 else rng.integers(len(data))
        centres.append(data[index])
        closest = np.minimum(closest, cdist(data, [data[index]], "sqeuclidean")[:, 0])
    return np.asarray(centres)


def _lloyd(data: np.ndarray, centroids: np.ndarray, max_iter: int) -> KMeansFit:
    labels, squared = nearest_centroid(data, centroids)
    for _ in range(max_iter):
        centroids = _recentre(data, labels, squared, len(centroids))
        new_labels, squared = nearest_centroid(data, centroids)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return KMeansFit(centroids=centroids, labels=labels, inertia=float(squared.sum()))


def _recentre(data: np.ndarray, labels: np.ndarray, squared: np.ndarray, k: int) -> np.ndarray:
    centroids = np.zeros((k, data.shape[1]))
    counts = np.bincount(labels, minlength=k)
    np.add.at(centroids, labels, data)
    empty = np.flatnonzero(counts == 0)
    centroids[counts > 0] /= counts[counts > 0, None]
    # An empty cluster restarts on the points worst served by the current centroids.
    worst = np.argsort(-squared, kind="stable")[: len(empty)]
    centroids[empty] = data[worst]
    return centroids


def silhouette_score(points: np.ndarray, labels: np.ndarray, *, sample_size: int, seed: int) -> float:
    """Mean silhouette (Rousseeuw 1987) over a seeded sample of at most `sample_size` points.

    The exact score is O(n^2); a few thousand points estimate it well. A point alone in its
    cluster scores 0, as in scikit-learn.
    """
    data = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        raise ValueError("the silhouette needs at least 2 clusters")
    if len(data) > sample_size:
        chosen = np.sort(np.random.default_rng(seed).choice(len(data), size=sample_size, replace=False))
        data, labels = data[chosen], labels[chosen]
    distances = cdist(data, data)
    clusters = np.unique(labels)
    members = labels[:, None] == clusters[None, :]  # (n, c)
    sizes = members.sum(axis=0)
    sums = distances @ members  # (n, c): summed distance from each point to each cluster
    own = np.searchsorted(clusters, labels)
    own_size = sizes[own]
    within = np.where(own_size > 1, sums[np.arange(len(data)), own] / np.maximum(own_size - 1, 1), 0.0)
    mean_to_other = sums / sizes
    mean_to_other[np.arange(len(data)), own] = np.inf
    nearest_other = mean_to_other.min(axis=1)
    scores = np.where(own_size > 1, (nearest_other - within) / np.maximum(within, nearest_other), 0.0)
    return float(scores.mean())


@dataclass(frozen=True)
class KChoice:
    fit: KMeansFit
    silhouette_by_k: dict[int, float]


def choose_k(
    points: np.ndarray, k_values: range, *, seed: int, n_init: int, max_iter: int, silhouette_sample: int
) -> KChoice:
    """Fit every k in `k_values` and keep the one with the highest silhouette (smallest k on ties)."""
    candidates = [k for k in k_values if 2 <= k < len(points)]
    if not candidates:
        raise ValueError(f"no k in {k_values} fits {len(points)} points (need 2 <= k < n)")
    fits: dict[int, KMeansFit] = {}
    scores: dict[int, float] = {}
    for k in candidates:
        fits[k] = fit_kmeans(points, k, seed=seed, n_init=n_init, max_iter=max_iter)
        scores[k] = silhouette_score(points, fits[k].labels, sample_size=silhouette_sample, seed=seed)
    best = max(candidates, key=lambda k: (scores[k], -k))
    return KChoice(fit=fits[best], silhouette_by_k=scores)
