"""The benchmarks' embedding cache: a text seen before is read back, never embedded again, and reads back the
very vector it was given; a changed text, another model or another precision is a miss."""

from __future__ import annotations

import numpy as np

from bench.embedding_cache import CachedEmbedder


class CountingEmbedder:
    """A deterministic stand-in: each text's vector is made from its characters; every embedded text is counted."""

    dimension = 4

    def __init__(self, model_name: str = "fake-model") -> None:
        self.model_name = model_name
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded.extend(texts)
        return np.asarray([[len(t), sum(map(ord, t)) % 97, t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_a_second_embedding_of_the_same_texts_reads_them_back(tmp_path):
    inner = CountingEmbedder()
    first = CachedEmbedder(inner, "fp32", tmp_path / "cache.sqlite").embed(["alpha", "beta", "alpha"])
    inner.embedded.clear()
    again = CachedEmbedder(inner, "fp32", tmp_path / "cache.sqlite")  # a new run: a new process, the same file
    second = again.embed(["beta", "alpha", "gamma"])
    assert inner.embedded == ["gamma"]
    assert (again.hits, again.misses) == (2, 1)
    np.testing.assert_array_equal(second[:2], first[[1, 0]])
    np.testing.assert_array_equal(second[2], CountingEmbedder().embed(["gamma"])[0])


def test_another_model_misses(tmp_path):
    CachedEmbedder(CountingEmbedder("model-a"), "fp32", tmp_path / "c.sqlite").embed(["alpha"])
    other = CountingEmbedder("model-b")
    CachedEmbedder(other, "fp32", tmp_path / "c.sqlite").embed(["alpha"])
    assert other.embedded == ["alpha"]


def test_another_precision_misses(tmp_path):
    CachedEmbedder(CountingEmbedder(), "fp32", tmp_path / "c.sqlite").embed(["alpha"])
    inner = CountingEmbedder()
    CachedEmbedder(inner, "int8", tmp_path / "c.sqlite").embed(["alpha"])
    assert inner.embedded == ["alpha"]


def test_the_inner_embedders_attributes_show_through(tmp_path):
    assert CachedEmbedder(CountingEmbedder("m"), "fp32", tmp_path / "c.sqlite").dimension == 4
