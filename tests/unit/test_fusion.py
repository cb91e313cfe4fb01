from ragline.retrieval import reciprocal_rank_fusion


def test_first_in_both_lists_scores_exactly_one():
    fused = reciprocal_rank_fusion([["a", "b"], ["a", "c"]], rrf_k=60)
    assert fused["a"] == 1.0


def test_scores_lie_in_zero_one_and_order_by_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"]], rrf_k=60)
    assert all(0 < value <= 1 for value in fused.values())
    assert fused["b"] > fused["a"] > 0
    assert fused["b"] > fused["c"]


def test_a_hit_in_one_list_only_scores_at_most_half():
    fused = reciprocal_rank_fusion([["a"], ["b"]], rrf_k=60)
    assert fused["a"] == fused["b"] == 0.5


def test_convex_fusion_keeps_margins_and_weights_the_lists():
    from ragline.retrieval import convex_fusion

    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    keyword = [("c", 30.0), ("a", 3.0)]
    fused = convex_fusion(dense, keyword, dense_weight=0.5)
    assert fused["a"] == 0.5 * 1.0 + 0.5 * 0.0
    assert fused["c"] == 0.5 * 0.0 + 0.5 * 1.0
    assert fused["b"] == 0.5 * 0.5  # absent from the keyword list: nothing from it
    only_dense = convex_fusion(dense, keyword, dense_weight=1.0)
    assert max(only_dense, key=only_dense.get) == "a"


def test_a_lone_or_tied_candidate_is_the_best_of_its_list():
    from ragline.retrieval import convex_fusion

    assert convex_fusion([("a", 0.3)], [], dense_weight=0.5) == {"a": 0.5}
    assert convex_fusion([("a", 0.3), ("b", 0.3)], [("a", 2.0)], dense_weight=0.5) == {"a": 1.0, "b": 0.5}
