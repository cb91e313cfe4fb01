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
