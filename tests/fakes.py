"""Test doubles that keep the real shapes: a hashing embedder that still sizes chunks with the real tokenizer."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from ragline.tokens import WordPieceTokenCounter

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag-of-words vectors: fast enough to push 5,000 pages through the real pipeline.

    Texts sharing words get similar vectors, so retrieval behaves sensibly; the real MiniLM
    tokenizer counts tokens so chunk sizes are exactly those of production.
    """

    def __init__(self, tokens: WordPieceTokenCounter, dimension: int = 384) -> None:
        self.tokens = tokens
        self._dimension = dimension
        self.calls = 0

    @property
    def model_name(self) -> str:
        return "test/hashing-bag-of-words"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                vectors[row, bucket % self._dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms
