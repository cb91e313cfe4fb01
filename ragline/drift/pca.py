"""Principal components of a set of embeddings, keeping a chosen share of the variance.

Clustering raw 384-d (or 4096-d) vectors spends most of its effort on noise directions; the
original job computed PCA and then ignored it (defect 7). Here the basis is fitted once on the
baseline and every later vector is projected onto that same basis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PcaBasis:
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (m, d), orthonormal rows
    explained_variance_ratio: np.ndarray  # (m,), share of the total variance of each kept component

    @property
    def dimension(self) -> int:
        return int(self.components.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @property
    def explained_variance(self) -> float:
        return float(self.explained_variance_ratio.sum())

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Coordinates of `vectors` in the basis, shape (n, m)."""
        return (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.components.T

    def residual_norms(self, vectors: np.ndarray) -> np.ndarray:
        """How far each vector lies from the basis plane: the part PCA cannot see.

        A document on a topic the baseline never had points mostly outside the plane; keeping
        this length makes distances exact in the original space instead of underestimating them.
        """
        centred = np.asarray(vectors, dtype=np.float64) - self.mean
        in_plane = centred @ self.components.T
        squared = np.einsum("ij,ij->i", centred, centred) - np.einsum("ij,ij->i", in_plane, in_plane)
        return np.sqrt(np.clip(squared, 0.0, None))

    def to_dict(self) -> dict:
        return {
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "explained_variance_ratio": self.explained_variance_ratio.tolist(),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> PcaBasis:
        return cls(
            mean=np.asarray(payload["mean"], dtype=np.float64),
            components=np.asarray(payload["components"], dtype=np.float64),
            explained_variance_ratio=np.asarray(payload["explained_variance_ratio"], dtype=np.float64),
        )


def fit_pca(vectors: np.ndarray, variance_to_keep: float = 0.95) -> PcaBasis:
    """Fit PCA by SVD and keep the fewest components explaining at least `variance_to_keep`."""
    if not 0.0 < variance_to_keep <= 1.0:
        raise ValueError(f"variance_to_keep must be in (0, 1], got {variance_to_keep}")
    data = np.asarray(vectors, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"PCA needs a matrix of at least 2 vectors, got shape {data.shape}")
    mean = data.mean(axis=0)
    _, singular_values, rows = np.linalg.svd(data - mean, full_matrices=False)
    variances = singular_values**2
    total = variances.sum()
    if total == 0.0:
        raise ValueError("all vectors are identical: there is no variance to analyse")
    ratios = variances / total
    # The small tolerance stops float rounding (0.9499999...) from costing one more component.
    kept = int(np.searchsorted(np.cumsum(ratios), variance_to_keep - 1e-12) + 1)
    kept = min(kept, len(ratios))
    components = _deterministic_signs(rows[:kept])
    return PcaBasis(mean=mean, components=components, explained_variance_ratio=ratios[:kept])


def _deterministic_signs(components: np.ndarray) -> np.ndarray:
    # SVD may return v or -v; fixing the sign of each component's largest loading makes two fits
    # of the same data (numpy here, numpy on a Glue worker) give identical coordinates.
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), largest])
    signs[signs == 0] = 1.0
    return components * signs[:, None]
