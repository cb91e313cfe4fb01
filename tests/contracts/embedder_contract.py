"""The contract every Embedder honours. Subclass it and provide an `embedder` fixture.

The port promises a sequence of vectors of floats (a numpy matrix locally, lists of floats on
AWS): the checks read them through `np.asarray`, whatever their type.
"""

import numpy as np


def embed(embedder, texts: list[str]) -> np.ndarray:
    return np.asarray(embedder.embed(texts), dtype=np.float64)


class EmbedderContract:
    # Least cosine between a text embedded alone and within a batch. Exact models reach 1.0;
    # an adapter with batch-dependent arithmetic (dynamic int8) overrides this with its measured bound.
    batch_invariance = 0.99999

    def test_vectors_are_unit_length_floats_of_the_declared_dimension(self, embedder):
        vectors = embedder.embed(["pumps move water", "a second, rather longer sentence about valves"])
        assert len(vectors) == 2
        assert all(len(vector) == embedder.dimension for vector in vectors)
        assert all(isinstance(value, float | np.floating) for vector in vectors for value in vector)
        assert np.allclose(np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=1), 1.0, atol=1e-4)

    def test_batching_and_order_do_not_change_vectors(self, embedder):
        texts = [f"sentence number {index} about topic {index % 3}" for index in range(40)]
        together = embed(embedder, texts)
        one_by_one = np.vstack([embed(embedder, [text]) for text in texts[:5]])
        assert (together[:5] * one_by_one).sum(axis=1).min() >= self.batch_invariance
        assert (embed(embedder, texts[::-1])[::-1] * together).sum(axis=1).min() >= self.batch_invariance

    def test_related_texts_are_closer_than_unrelated_ones(self, embedder):
        question, related, unrelated = embed(
            embedder,
            [
                "How do I replace the pump seal?",
                "Replacing the seal of the pump takes two hours.",
                "Chickadees sing in spring.",
            ],
        )
        assert question @ related > question @ unrelated

    def test_no_texts_give_no_vectors(self, embedder):
        assert len(embedder.embed([])) == 0
