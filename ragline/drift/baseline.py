"""The baseline: what the corpus looked like when the system was built on it.

It keeps the PCA basis, the centroids in that basis and, measured on a held-out part of the
baseline itself, two reference distributions: the distance of a vector to its nearest centroid,
and its distance from the basis plane (the PCA reconstruction error). On real embeddings the
second is what gives a new topic away: SciFact abstracts and FinanceBench pages lie at similar
distances from SciFact centroids, but the finance pages lie far off the plane SciFact spans.
Later snapshots and prompts are projected onto this stored basis and judged against these
stored distributions; nothing is re-fitted to judge them (the original's distance job
re-fitted, defect 7).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ragline.drift.clustering import choose_k, fit_kmeans, nearest_centroid, silhouette_score
from ragline.drift.pca import PcaBasis, fit_pca
from ragline.drift.statistics import DistanceSummary, RobustReference, cluster_shares

BASELINE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class BaselineOptions:
    """How a baseline is fitted. Every default is overridable from the CLI and the Glue job."""

    k: int | None = None  # None: choose k by silhouette over k_min..k_max
    k_min: int = 2
    k_max: int = 10
    variance_to_keep: float = 0.95  # the PCA keeps the fewest components explaining this share
    seed: int = 0
    n_init: int = 4  # k-means restarts; the fit with the lowest inertia wins
    max_iter: int = 300
    silhouette_sample: int = 2000  # silhouette is O(n^2): estimate it on a seeded sample
    # Distances of the baseline's own vectors to centroids fitted on them are biased low (the
    # fit has seen them). The reference distribution is measured on a held-out share instead,
    # so that new data from the same source scores like the reference.
    holdout_fraction: float = 0.2
    min_holdout: int = 30  # below this many held-out vectors, fall back to in-sample distances

    def __post_init__(self) -> None:
        if self.k is not None and self.k < 2:
            raise ValueError(f"k must be at least 2, got {self.k}")
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")


@dataclass(frozen=True)
class Located:
    """Where vectors fall relative to a baseline."""

    coordinates: np.ndarray  # (n, m) in the baseline basis
    residuals: np.ndarray  # (n,) distance from the basis plane
    labels: np.ndarray  # (n,) nearest baseline centroid
    distances: np.ndarray  # (n,) distance to that centroid in the original space


@dataclass(frozen=True)
class Novelty:
    distance_z: np.ndarray  # how far from the nearest centroid, in reference spreads
    residual_z: np.ndarray  # how far off the basis plane, in reference spreads (0 without a hold-out)

    @property
    def z(self) -> np.ndarray:
        """A vector is as novel as the larger of its two z-scores."""
        return np.maximum(self.distance_z, self.residual_z)


@dataclass(frozen=True)
class Baseline:
    run_id: str
    created: str
    model: str
    basis: PcaBasis
    centroids: np.ndarray  # (k, m) in the basis
    cluster_counts: np.ndarray  # (k,) baseline vectors nearest each centroid
    cluster_radius: np.ndarray  # (k,) median reference distance of each cluster
    reference_distances: np.ndarray  # distance of each reference vector to its nearest centroid, sorted
    reference_residuals: np.ndarray  # distance of the same vectors from the basis plane, same order
    reference_is_holdout: bool
    silhouette: float
    silhouette_by_k: dict[int, float]
    inertia: float
    k_chosen_by: str  # "fixed" or "silhouette"
    n_vectors: int
    n_train: int
    first_time: str | None = None
    last_time: str | None = None
    options: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def shares(self) -> np.ndarray:
        return cluster_shares(np.repeat(np.arange(self.k), self.cluster_counts), self.k)

    @property
    def reference(self) -> RobustReference:
        return RobustReference.of(self.reference_distances)

    @property
    def residual_reference(self) -> RobustReference | None:
        # Residuals of vectors the PCA was fitted on are biased to zero: only held-out ones count.
        return RobustReference.of(self.reference_residuals) if self.reference_is_holdout else None

    @property
    def reference_summary(self) -> DistanceSummary:
        return DistanceSummary.of(self.reference_distances)

    def novelty(self, distances: np.ndarray, residuals: np.ndarray) -> Novelty:
        """Robust z-scores of distances to centroid and from the plane, against the reference."""
        distance_z = self.reference.z_scores(distances)
        residual_reference = self.residual_reference
        residual_z = residual_reference.z_scores(residuals) if residual_reference else np.zeros_like(distance_z)
        return Novelty(distance_z=distance_z, residual_z=residual_z)

    def reference_outlier_rate(self, outlier_z: float) -> float:
        """Share of the baseline's own held-out vectors beyond `outlier_z`: the rate to expect."""
        return float(np.mean(self.novelty(self.reference_distances, self.reference_residuals).z > outlier_z))

    def locate(self, vectors: np.ndarray) -> Located:
        """Project onto the stored basis and find the nearest stored centroid.

        Every centroid lies in the basis plane, so the nearest one in the plane is the nearest
        one in the original space, and the exact distance adds the residual in quadrature.
        """
        if vectors.shape[1] != self.basis.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the baseline has {self.basis.dimension}")
        coordinates = self.basis.project(vectors)
        residuals = self.basis.residual_norms(vectors)
        labels, in_plane_squared = nearest_centroid(coordinates, self.centroids)
        distances = np.sqrt(in_plane_squared + residuals**2)
        return Located(coordinates=coordinates, residuals=residuals, labels=labels, distances=distances)

    def summary(self) -> dict:
        """The run row: everything but the basis and the reference distances."""
        return {
            "run_id": self.run_id,
            "job_type": "BASELINE",
            "created": self.created,
            "model": self.model,
            "dimension": self.basis.dimension,
            "components": self.basis.n_components,
            "explained_variance": self.basis.explained_variance,
            "k": self.k,
            "k_chosen_by": self.k_chosen_by,
            "silhouette": self.silhouette,
            "silhouette_by_k": {str(k): score for k, score in self.silhouette_by_k.items()},
            "inertia": self.inertia,
            "n_vectors": self.n_vectors,
            "n_train": self.n_train,
            "n_reference": int(self.reference_distances.size),
            "reference_is_holdout": self.reference_is_holdout,
            "reference_distance": self.reference_summary.to_dict(),
            "reference_residual_median": float(np.median(self.reference_residuals)),
            "cluster_counts": self.cluster_counts.tolist(),
            "first_time": self.first_time,
            "last_time": self.last_time,
            "options": self.options,
        }

    @property
    def centroids_in_embedding_space(self) -> np.ndarray:
        return self.centroids @ self.basis.components + self.basis.mean

    def centroid_rows(self) -> list[dict]:
        """One row per centroid, in the original embedding space so that it outlives the basis."""
        original_space = self.centroids_in_embedding_space
        shares = self.shares
        return [
            {
                "run_id": self.run_id,
                "cluster": index,
                "count": int(self.cluster_counts[index]),
                "share": float(shares[index]),
                "radius": float(self.cluster_radius[index]),
                "centroid": original_space[index].tolist(),
            }
            for index in range(self.k)
        ]

    def to_dict(self) -> dict:
        return {
            "format_version": BASELINE_FORMAT_VERSION,
            **self.summary(),
            "basis": self.basis.to_dict(),
            "centroids": self.centroids.tolist(),
            "cluster_radius": self.cluster_radius.tolist(),
            "reference_distances": self.reference_distances.tolist(),
            "reference_residuals": self.reference_residuals.tolist(),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> Baseline:
        if payload.get("format_version") != BASELINE_FORMAT_VERSION:
            raise ValueError(f"unsupported baseline format {payload.get('format_version')!r}")
        return cls(
            run_id=payload["run_id"],
            created=payload["created"],
            model=payload["model"],
            basis=PcaBasis.from_dict(payload["basis"]),
            centroids=np.asarray(payload["centroids"], dtype=np.float64),
            cluster_counts=np.asarray(payload["cluster_counts"], dtype=np.int64),
            cluster_radius=np.asarray(payload["cluster_radius"], dtype=np.float64),
            reference_distances=np.asarray(payload["reference_distances"], dtype=np.float64),
            reference_residuals=np.asarray(payload["reference_residuals"], dtype=np.float64),
            reference_is_holdout=payload["reference_is_holdout"],
            silhouette=payload["silhouette"],
            silhouette_by_k={int(k): score for k, score in payload["silhouette_by_k"].items()},
            inertia=payload["inertia"],
            k_chosen_by=payload["k_chosen_by"],
            n_vectors=payload["n_vectors"],
            n_train=payload["n_train"],
            first_time=payload.get("first_time"),
            last_time=payload.get("last_time"),
            options=payload.get("options", {}),
        )


def fit_baseline(
    vectors: np.ndarray,
    options: BaselineOptions,
    *,
    run_id: str,
    created: str,
    model: str,
    first_time: str | None = None,
    last_time: str | None = None,
) -> Baseline:
    """PCA, then seeded k-means in PCA space, then the held-out reference distances."""
    data = np.asarray(vectors, dtype=np.float64)
    minimum = (options.k or options.k_min) + 1
    if len(data) < minimum:
        raise ValueError(f"a baseline needs at least {minimum} vectors, got {len(data)}")
    train, reference, is_holdout = _split_holdout(data, options)
    basis = fit_pca(train, options.variance_to_keep)
    coordinates = basis.project(train)
    fit, silhouette_by_k, chosen_by = _cluster(coordinates, options)
    if fit.k in silhouette_by_k:
        silhouette = silhouette_by_k[fit.k]
    else:
        silhouette = silhouette_score(coordinates, fit.labels, sample_size=options.silhouette_sample, seed=options.seed)
    baseline = Baseline(
        run_id=run_id,
        created=created,
        model=model,
        basis=basis,
        centroids=fit.centroids,
        cluster_counts=np.zeros(fit.k, dtype=np.int64),
        cluster_radius=np.zeros(fit.k),
        reference_distances=np.zeros(0),
        reference_residuals=np.zeros(0),
        reference_is_holdout=is_holdout,
        silhouette=float(silhouette),
        silhouette_by_k=silhouette_by_k if chosen_by == "silhouette" else {fit.k: float(silhouette)},
        inertia=fit.inertia,
        k_chosen_by=chosen_by,
        n_vectors=len(data),
        n_train=len(train),
        first_time=first_time,
        last_time=last_time,
        options=asdict(options),
    )
    return _with_reference(baseline, data, reference)


def _split_holdout(data: np.ndarray, options: BaselineOptions) -> tuple[np.ndarray, np.ndarray, bool]:
    holdout_size = round(len(data) * options.holdout_fraction)
    train_size = len(data) - holdout_size
    if holdout_size < options.min_holdout or train_size <= (options.k or options.k_max):
        return data, data, False
    order = np.random.default_rng(options.seed).permutation(len(data))
    return data[np.sort(order[:train_size])], data[np.sort(order[train_size:])], True


def _cluster(coordinates: np.ndarray, options: BaselineOptions):
    if options.k is not None:
        fit = fit_kmeans(coordinates, options.k, seed=options.seed, n_init=options.n_init, max_iter=options.max_iter)
        return fit, {}, "fixed"
    choice = choose_k(
        coordinates,
        range(options.k_min, options.k_max + 1),
        seed=options.seed,
        n_init=options.n_init,
        max_iter=options.max_iter,
        silhouette_sample=options.silhouette_sample,
    )
    return choice.fit, choice.silhouette_by_k, "silhouette"


def _with_reference(baseline: Baseline, everything: np.ndarray, reference: np.ndarray) -> Baseline:
    located = baseline.locate(reference)
    k = baseline.k
    overall_radius = float(np.median(located.distances))
    # A cluster with no held-out member borrows the overall figure rather than reporting nothing.
    members = [located.labels == cluster for cluster in range(k)]
    radius = np.array([np.median(located.distances[m]) if m.any() else overall_radius for m in members])
    counts = np.bincount(baseline.locate(everything).labels, minlength=k)
    order = np.argsort(located.distances, kind="stable")
    return replace(
        baseline,
        cluster_counts=counts,
        cluster_radius=radius,
        reference_distances=located.distances[order],
        reference_residuals=located.residuals[order],
    )
