"""The drift formulas against values worked out by hand from their definitions (issue 16, item 4).

The Glue-versus-numpy tests compare two paths that share one formula, so a wrong formula passes
both. Here each expected value is computed in the test from the textbook definition, on inputs
small enough to check on paper, never with the project's own code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragline.drift.baseline import Baseline
from ragline.drift.distance import prompt_rows
from ragline.drift.pca import PcaBasis
from ragline.drift.statistics import (
    DistanceSummary,
    RobustReference,
    cluster_shares,
    jensen_shannon_distance,
    match_centroids,
    population_stability_index,
)

# --- population stability index: sum over bins of (a - e) * ln(a / e) -------------------------


def test_psi_of_two_bins_swapping_a_quarter_is_half_ln_2():
    # (0.5 - 0.25) ln 2 + 0 + (0.25 - 0.5) ln(1/2) = 0.25 ln 2 + 0.25 ln 2
    assert population_stability_index(np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])) == pytest.approx(
        0.5 * math.log(2), abs=1e-12
    )


def test_psi_of_a_lopsided_shift_matches_the_definition_term_by_term():
    expected, actual = [0.1, 0.9], [0.3, 0.7]
    by_hand = (0.3 - 0.1) * math.log(0.3 / 0.1) + (0.7 - 0.9) * math.log(0.7 / 0.9)  # 0.269985
    assert by_hand == pytest.approx(0.2699853, abs=1e-7)
    assert population_stability_index(np.array(expected), np.array(actual)) == pytest.approx(by_hand, abs=1e-12)


def test_psi_is_the_same_whichever_side_is_the_baseline():
    # (a - e) ln(a / e) = (e - a) ln(e / a): PSI is symmetric by definition.
    first, second = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])
    assert population_stability_index(first, second) == pytest.approx(population_stability_index(second, first))


# --- Jensen-Shannon distance, base 2: sqrt of the mean KL divergence to the midpoint ---------------


def _kl_bits(p: list[float], q: list[float]) -> float:
    return sum(pi * math.log2(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)


def _js_distance_by_definition(p: list[float], q: list[float]) -> float:
    middle = [(pi + qi) / 2 for pi, qi in zip(p, q, strict=True)]
    return math.sqrt((_kl_bits(p, middle) + _kl_bits(q, middle)) / 2)


def test_disjoint_shares_are_one_bit_apart_and_equal_shares_zero():
    assert jensen_shannon_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert jensen_shannon_distance(np.array([0.2, 0.8]), np.array([0.2, 0.8])) == pytest.approx(0.0, abs=1e-7)


def test_js_distance_of_half_half_against_all_in_one_is_0_5579():
    # M = (0.75, 0.25); KL(P||M) = 0.5 log2(2/3) + 0.5 log2 2 = 0.207519; KL(Q||M) = log2(4/3) = 0.415037;
    # sqrt of their mean = sqrt(0.311278) = 0.557923
    assert _js_distance_by_definition([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.557923, abs=1e-6)
    assert jensen_shannon_distance(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(0.557923, abs=1e-6)


def test_js_distance_of_three_clusters_matches_the_definition():
    p, q = [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]
    assert jensen_shannon_distance(np.array(p), np.array(q)) == pytest.approx(_js_distance_by_definition(p, q))


# --- cluster shares: counts plus half a count each, over the total --------------------------------


def test_shares_add_half_a_count_to_every_cluster_including_the_empty_one():
    shares = cluster_shares(np.array([0, 0, 0, 1]), 3)
    # (3.5, 1.5, 0.5) / 5.5
    assert shares.tolist() == pytest.approx([3.5 / 5.5, 1.5 / 5.5, 0.5 / 5.5])


def test_psi_of_shares_from_counts_matches_a_calculation_by_hand():
    baseline = cluster_shares(np.repeat([0, 1], [10, 10]), 2)  # 10.5 / 21 each = 0.5
    snapshot = cluster_shares(np.repeat([0, 1], [15, 5]), 2)  # 15.5 / 21, 5.5 / 21
    a0, a1 = 15.5 / 21, 5.5 / 21
    by_hand = (a0 - 0.5) * math.log(a0 / 0.5) + (a1 - 0.5) * math.log(a1 / 0.5)
    assert population_stability_index(baseline, snapshot) == pytest.approx(by_hand, abs=1e-12)


# --- robust reference: median, MAD * 1.4826, mean absolute deviation * sqrt(pi/2) when MAD is 0 ---


def test_the_mad_scale_is_the_normal_consistency_constant():
    reference = RobustReference.of(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    # MAD = median(|x - 3|) = median(2, 1, 0, 1, 97) = 1; 1 / Phi^-1(3/4) = 1.482602...
    assert reference.median == 3.0
    assert reference.scale == pytest.approx(1.482602218505602, abs=1e-12)
    assert reference.z_scores(np.array([6.0]))[0] == pytest.approx(3 / 1.482602218505602)


def test_when_most_distances_are_equal_the_mean_absolute_deviation_gives_the_scale():
    reference = RobustReference.of(np.array([5.0, 5.0, 5.0, 6.0, 9.0]))
    # MAD = median(0, 0, 0, 1, 4) = 0; mean |x - 5| = 1; times sqrt(pi/2) = 1.2533141
    assert reference.scale == pytest.approx(1.2533141373155, abs=1e-12)
    assert reference.z_scores(np.array([9.0]))[0] == pytest.approx(4 / 1.2533141373155)


def test_all_equal_distances_have_no_scale_and_say_so():
    with pytest.raises(ValueError, match="all equal"):
        RobustReference.of(np.array([2.0, 2.0, 2.0]))


# --- distance summary ---------------------------------------------------------------------------


def test_summary_of_one_to_four_by_hand():
    summary = DistanceSummary.of(np.array([4.0, 1.0, 3.0, 2.0]))
    assert (summary.count, summary.mean, summary.median) == (4, 2.5, 2.5)
    assert summary.std == pytest.approx(math.sqrt(5 / 3))  # sample deviation: (2.25+0.25+0.25+2.25) / 3
    assert summary.p95 == pytest.approx(3.85)  # rank 0.95 * 3 = 2.85: 3 + 0.85 * (4 - 3)
    assert (summary.minimum, summary.maximum) == (1.0, 4.0)
    assert DistanceSummary.of(np.array([7.0])).std == 0.0


# --- centroid matching: the pairing with the smallest total distance ------------------------------


def test_matching_pairs_crossed_centroids_and_leaves_the_extra_one_out():
    baseline = np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]])
    snapshot = np.array([[9.0, 0.0], [1.0, 0.0]])
    matches = {(m.baseline_cluster, m.snapshot_cluster): m.shift for m in match_centroids(baseline, snapshot)}
    # 0<->1 (1) + 2<->0 (1) = 2 beats every pairing using the middle centroid (at least 4 + 1).
    assert matches == {(0, 1): pytest.approx(1.0), (2, 0): pytest.approx(1.0)}


def test_matching_shift_is_the_euclidean_distance():
    matches = match_centroids(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]))
    assert [m.shift for m in matches] == [pytest.approx(5.0)]


# --- a prompt's distance to the nearest centroid, in the original space ---------------------------


def _plane_baseline() -> Baseline:
    """3-d vectors, a basis spanning x and y around (1, 1, 1), centroids at (0, 0) and (3, 0) in it."""
    basis = PcaBasis(
        mean=np.array([1.0, 1.0, 1.0]),
        components=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
        explained_variance_ratio=np.array([0.6, 0.3]),
    )
    return Baseline(
        run_id="b",
        created="2026-11-30T00:00:00Z",
        model="m",
        basis=basis,
        centroids=np.array([[0.0, 0.0], [3.0, 0.0]]),
        cluster_counts=np.array([3, 1]),
        cluster_radius=np.array([1.0, 1.0]),
        reference_distances=np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
        reference_residuals=np.array([0.0, 1.0, 1.0, 2.0, 6.0]),
        reference_is_holdout=True,
        silhouette=0.5,
        silhouette_by_k={2: 0.5},
        inertia=1.0,
        k_chosen_by="fixed",
        n_vectors=9,
        n_train=4,
    )


def test_the_distance_to_the_nearest_centroid_is_euclidean_in_the_original_space():
    baseline = _plane_baseline()
    prompts = np.array([[4.0, 5.0, 13.0], [1.0, 1.0, 1.0]])
    located = baseline.locate(prompts)
    # Centroids in the original space: (1, 1, 1) and (4, 1, 1). The first prompt is nearest the
    # second: sqrt(0 + 16 + 144); the second prompt sits on the first centroid.
    assert located.labels.tolist() == [1, 0]
    assert located.distances.tolist() == pytest.approx([math.sqrt(160.0), 0.0])
    assert located.residuals.tolist() == pytest.approx([12.0, 0.0])  # |z - 1| off the x-y plane
    centroids = baseline.centroids_in_embedding_space
    brute_force = [min(np.linalg.norm(prompt - c) for c in centroids) for prompt in prompts]
    assert located.distances.tolist() == pytest.approx(brute_force)


def test_a_prompts_z_score_is_the_larger_of_its_two_robust_z_scores():
    baseline = _plane_baseline()
    # Reference distances 1..5: median 3, MAD 1 -> scale 1.4826. Residuals 0,1,1,2,6: median 1,
    # MAD median(1, 0, 0, 1, 5) = 1 -> scale 1.4826.
    rows = prompt_rows(
        baseline,
        np.array([[4.0, 5.0, 13.0]]),
        ids=["p1"],
        times=["2026-11-30T10:00:00Z"],
        sources=["api"],
        outlier_z=3.5,
        run_id="r",
    )
    scale = 1.482602218505602
    distance_z, residual_z = (math.sqrt(160.0) - 3) / scale, (12.0 - 1) / scale
    assert rows[0]["distance_z"] == pytest.approx(distance_z)
    assert rows[0]["residual_z"] == pytest.approx(residual_z)
    assert rows[0]["z_score"] == pytest.approx(max(distance_z, residual_z))
    assert rows[0]["outlier"] is True
    assert rows[0]["cluster"] == 1
