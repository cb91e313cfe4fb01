"""A disk cache of embeddings for benchmark re-runs: embedding is almost all of a FinanceBench run's time.

Keyed by the embedder's model name, its precision and the exact text embedded (the chunk's embedding text, header
included), so a change of chunking or of the card's header misses and is embedded afresh, while every unchanged
chunk is read back. Stored in SQLite under ``bench/out/cache/`` (git-ignored).

Any precision: the local model runs each text alone, so a vector depends on its text only, in int8 as in fp32
(until 2026-12-01 int8 ran in batches whose activation scales moved each vector with its neighbours, and was
refused here; `tests/contracts/test_embedder_local.py` now checks the bits are the same in any company).

Timings of a run through the cache are not throughput: the row records the hits and misses beside them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import OUT_DIR

CACHE_FILE = OUT_DIR / "cache" / "embeddings.sqlite"


class CachedEmbedder:
    """The `Embedder` port around another embedder: texts seen before (same model, same precision) are read back."""

    def __init__(self, inner, precision: str, path: Path = CACHE_FILE) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self._prefix = f"{inner.model_name}\0{precision}\0"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)  # model_name, dimension, tokens: the inner embedder's

    def _key(self, text: str) -> str:
        return hashlib.sha256((self._prefix + text).encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(text) for text in texts]
        found = self._read(set(keys))
        missing = sorted({key: text for key, text in zip(keys, texts, strict=True) if key not in found}.items())
        if missing:
            vectors = np.asarray(self._inner.embed([text for _, text in missing]), dtype=np.float32)
            fresh = {key: vector for (key, _), vector in zip(missing, vectors, strict=True)}
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)", [(key, v.tobytes()) for key, v in fresh.items()]
                )
            found.update(fresh)
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return np.stack([found[key] for key in keys]) if keys else np.asarray(self._inner.embed([]))

    def _read(self, keys: set[str]) -> dict[str, np.ndarray]:
        found = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 900):  # SQLite's bound on parameters a statement
            batch = wanted[start : start + 900]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})", batch
            )
            found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return found

    def close(self) -> None:
        self._db.close()
