"""The contract every Embedder honours. Subclass it and provide an `embedder` fixture."""

import numpy as np


class EmbedderContract:
    # Least cosine between a text embedded alone and within a batch. Exact models reach 1.0;
    # an adapter with batch-dependent arithmetic (dynamic int8) overrides this with its measured bound.
    batch_invariance = 0.99999

    def test_vectors_are_unit_length_float32_of_the_declared_dimension(self, embedder):
        vectors = embedder.embed(["pumps move water", "a second, rather longer sentence about valves"])
        assert vectors.shape == (2, embedder.dimension)
        assert vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    def test_batching_and_order_do_not_change_vectors(self, embedder):
        texts = [f"sentence number {index} about topic {index % 3}" for index in range(40)]
        together = embedder.embed(texts)
        one_by_one = np.vstack([embedder.embed([text]) for text in texts[:5]])
        assert (together[:5] * one_by_one).sum(axis=1).min() >= self.batch_invariance
        assert (embedder.embed(texts[::-1])[::-1] * together).sum(axis=1).min() >= self.batch_invariance

    def test_related_texts_are_closer_than_unrelated_ones(self, embedder):
        question, related, unrelated = embedder.embed(
            [
                "How do I replace the pump seal?",
                "Replacing the seal of the pump takes two hours.",
                "Chickadees sing in spring.",
            ]
        )
        assert question @ related > question @ unrelated

    def test_no_texts_give_an_empty_matrix(self, embedder):
        assert embedder.embed([]).shape == (0, embedder.dimension)
