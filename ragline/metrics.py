"""Local metrics: the per-query similarity signals, logged where AWS would send them to CloudWatch."""

from __future__ import annotations

import logging

log = logging.getLogger("ragline.metrics")


class LoggingMetrics:
    def record_query(self, *, top_similarity: float, mean_similarity: float, hits: int, mode: str) -> None:
        log.info("similarity top=%.4f mean=%.4f hits=%d mode=%s", top_similarity, mean_similarity, hits, mode)
