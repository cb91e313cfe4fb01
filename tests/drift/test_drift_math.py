"""The drift statistics on synthetic embeddings whose topics are known."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.drift.baseline import Baseline, BaselineOptions, fit_baseline
from ragline.drift.clustering import choose_k, fit_kmeans, silhouette_score
from ragline.drift.distance import measure_prompts, summarise_prompts
from ragline.drift.pca import fit_pca
from ragline.drift.snapshot import SnapshotOptions, compare_snapshot
from ragline.drift.statistics import (
    DistanceSummary,
    RobustReference,
    cluster_shares,
    jensen_shannon_distance,
    match_centroids,
    population_stability_index,
)

OLD_TOPICS = {0: 150, 1: 150, 2: 150, 3: 150}


def make_baseline(corpus, **options) -> Baseline:
    vectors, _ = corpus(OLD_TOPICS)
    return fit_baseline(vectors, BaselineOptions(**options), run_id="b", created="t", model="m")


def snapshot_of(baseline, vectors, sources=None):
    return compare_snapshot(baseline, vectors, SnapshotOptions(), run_id="s", created="t", sources=sources)


# PCA -----------------------------------------------------------------------------------------


def test_pca_keeps_the_fewest_components_reaching_95_percent_of_the_variance(corpus):
    vectors, _ = corpus(OLD_TOPICS)
    basis = fit_pca(vectors, 0.95)
    assert basis.explained_variance >= 0.95
    assert basis.explained_variance - basis.explained_variance_ratio[-1] < 0.95  # one fewer would not do
    assert basis.n_components < vectors.shape[1] // 4  # low-rank topics need few components
    np.testing.assert_allclose(basis.components @ basis.components.T, np.eye(basis.n_components), atol=1e-10)


def test_projection_and_residual_reconstruct_the_original_distance(corpus):
    vectors, _ = corpus(OLD_TOPICS)
    basis = fit_pca(vectors[:300], 0.95)
    others = vectors[300:]
    squared = (basis.project(others) ** 2).sum(axis=1) + basis.residual_norms(others) ** 2
    np.testing.assert_allclose(squared, ((others - basis.mean) ** 2).sum(axis=1), rtol=1e-9)


def test_pca_signs_do_not_depend_on_row_order(corpus):
    vectors, _ = corpus(OLD_TOPICS)
    forward, backward = fit_pca(vectors), fit_pca(vectors[::-1])
    np.testing.assert_allclose(forward.components, backward.components, atol=1e-8)


# k-means ---------------------------------------------------------------------------------------


def test_kmeans_with_the_same_seed_gives_the_same_centroids(corpus):
    points = fit_pca(corpus(OLD_TOPICS)[0]).project(corpus(OLD_TOPICS)[0])
    first, second = fit_kmeans(points, 4, seed=3), fit_kmeans(points, 4, seed=3)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    np.testing.assert_array_equal(first.labels, second.labels)


def test_kmeans_recovers_the_topics(corpus):
    vectors, truth = corpus(OLD_TOPICS)
    fit = fit_kmeans(fit_pca(vectors).project(vectors), 4, seed=0)
    for topic in range(4):
        assert len(np.unique(fit.labels[truth == topic])) == 1  # every topic is one cluster
    assert len(np.unique(fit.labels)) == 4


def test_silhouette_chooses_the_true_number_of_topics(corpus):
    vectors, _ = corpus(OLD_TOPICS)
    points = fit_pca(vectors).project(vectors)
    choice = choose_k(points, range(2, 8), seed=0, n_init=2, max_iter=100, silhouette_sample=2000)
    assert choice.fit.k == 4


def test_silhouette_agrees_with_scikit_learn(corpus):
    metrics = pytest.importorskip("sklearn.metrics")
    vectors, truth = corpus({0: 40, 1: 30, 2: 1, 3: 25})  # a singleton cluster too
    ours = silhouette_score(vectors, truth, sample_size=10_000, seed=0)
    assert ours == pytest.approx(metrics.silhouette_score(vectors, truth), abs=1e-12)


# statistics ------------------------------------------------------------------------------------


def test_centroid_matching_survives_permuted_labels(rng):
    centroids = rng.standard_normal((6, 10))
    permutation = rng.permutation(6)
    moved = centroids[permutation] + rng.normal(scale=0.01, size=(6, 10))
    matches = match_centroids(centroids, moved)
    assert {m.baseline_cluster: m.snapshot_cluster for m in matches} == {
        int(original): position for position, original in enumerate(permutation)
    }
    assert max(m.shift for m in matches) < 0.1


def test_population_shift_is_zero_for_equal_shares_and_grows_with_the_shift():
    base = cluster_shares(np.repeat(np.arange(4), 100), 4)
    small = cluster_shares(np.repeat(np.arange(4), [110, 100, 100, 90]), 4)
    large = cluster_shares(np.repeat(np.arange(4), [250, 50, 50, 50]), 4)
    assert population_stability_index(base, base) == 0.0
    assert 0 < population_stability_index(base, small) < population_stability_index(base, large)
    assert 0 < jensen_shannon_distance(base, small) < jensen_shannon_distance(base, large) <= 1


def test_an_empty_cluster_keeps_psi_finite():
    base = cluster_shares(np.repeat(np.arange(3), 50), 3)
    emptied = cluster_shares(np.repeat([0, 1], 75), 3)
    assert np.isfinite(population_stability_index(base, emptied))


def test_robust_reference_uses_median_and_scaled_mad():
    distances = np.array([1.0, 2.0, 3.0, 4.0, 100.0])  # one wild value does not move the reference
    reference = RobustReference.of(distances)
    assert reference.median == 3.0
    assert reference.scale == pytest.approx(1.4826, rel=1e-3)  # MAD 1, scaled to a normal sigma
    assert reference.z_scores(np.array([100.0]))[0] > 50


def test_distance_summary_median_is_exact():
    summary = DistanceSummary.of(np.array([4.0, 1.0, 3.0, 2.0]))
    assert summary.median == 2.5
    assert summary.p95 == pytest.approx(np.percentile([1, 2, 3, 4], 95))


# baseline, snapshot, distance ------------------------------------------------------------------


def test_baseline_reference_is_measured_on_held_out_vectors(corpus):
    baseline = make_baseline(corpus)
    assert baseline.reference_is_holdout
    assert baseline.n_train == 480
    assert baseline.reference_distances.size == 120
    assert baseline.k == 4 and baseline.k_chosen_by == "silhouette"


def test_baseline_survives_a_json_round_trip(corpus):
    import json

    baseline = make_baseline(corpus, k=4)
    again = Baseline.from_dict(json.loads(json.dumps(baseline.to_dict())))
    np.testing.assert_array_equal(again.centroids, baseline.centroids)
    np.testing.assert_array_equal(again.basis.components, baseline.basis.components)
    assert again.summary() == baseline.summary()


def test_a_resample_of_the_baseline_distribution_is_not_drift(corpus):
    baseline = make_baseline(corpus)
    resample, _ = corpus({0: 120, 1: 120, 2: 120, 3: 120})
    report = snapshot_of(baseline, resample)
    assert not report.drift_detected, report.reasons
    assert report.psi < 0.05
    assert report.new_topic_clusters == []
    assert report.max_relative_shift < 0.5
    assert abs(report.mean_distance_change) < 0.05


def test_twenty_percent_on_a_new_topic_is_drift_and_the_new_cluster_is_found(corpus):
    baseline = make_baseline(corpus)
    vectors, truth = corpus({0: 120, 1: 120, 2: 120, 3: 120, 4: 120})  # topic 4: 20 %
    sources = [f"topic-{t}.pdf" for t in truth]
    report = snapshot_of(baseline, vectors, sources)
    assert report.drift_detected
    assert len(report.new_topic_clusters) == 1
    (new,) = [c for c in report.clusters if c.new_topic]
    assert new.top_sources[0] == ("topic-4.pdf", 120)  # the whole new topic, and only it
    assert new.size == 120
    assert report.outlier_rate - report.baseline_outlier_rate == pytest.approx(0.2, abs=0.03)


def test_a_shift_between_known_topics_is_drift_by_population(corpus):
    baseline = make_baseline(corpus)
    skewed, _ = corpus({0: 400, 1: 40, 2: 40, 3: 40})
    report = snapshot_of(baseline, skewed)
    assert report.drift_detected
    assert report.psi >= 0.2
    assert report.new_topic_clusters == []  # nothing new, only the mix changed


def test_prompts_far_from_every_cluster_are_outliers(corpus, topics, rng):
    baseline = make_baseline(corpus)
    near, _ = corpus({0: 30, 1: 30, 2: 30})
    far = topics.far_from_all(10, rng)
    measured = measure_prompts(baseline, np.vstack([near, far]))
    flagged = measured.outliers(3.5)
    assert flagged[-10:].all()
    assert flagged[:-10].mean() < 0.05
    report = summarise_prompts(
        baseline, measured.distances, measured.labels, measured.residuals, outlier_z=3.5, run_id="d", created="t"
    )
    assert report.outlier_count == int(flagged.sum())
    assert report.distance["median"] == pytest.approx(float(np.median(measured.distances)))


def test_the_outlier_threshold_is_an_argument(corpus):
    baseline = make_baseline(corpus)
    vectors, _ = corpus({0: 50})
    measured = measure_prompts(baseline, vectors)
    strict = summarise_prompts(
        baseline, measured.distances, measured.labels, measured.residuals, outlier_z=0.5, run_id="d", created="t"
    )
    lenient = summarise_prompts(
        baseline, measured.distances, measured.labels, measured.residuals, outlier_z=10, run_id="d", created="t"
    )
    assert strict.outlier_count > lenient.outlier_count == 0
