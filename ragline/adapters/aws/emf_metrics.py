"""The Metrics port as CloudWatch embedded metric format (EMF), through Powertools.

One EMF document per query, namespace `rag` (as the original pattern's dashboard expects),
standard resolution, dimensions `model` and `index` only: no `service` dimension, so a
dashboard or alarm can name the metric without knowing which function emitted it.
- `similarity`: cosine similarity of the top hit;
- `mean_similarity`: mean cosine similarity of the hits returned.
"""

from __future__ import annotations

from typing import Any


class EmfMetrics:
    def __init__(self, *, model: str, index: str, namespace: str = "rag") -> None:
        self._dimensions = {"model": model, "index": index}
        self._namespace = namespace

    def record_query(self, *, top_similarity: float, mean_similarity: float, hits: int, mode: str) -> None:
        provider = self._provider()
        for name, value in self._dimensions.items():
            provider.add_dimension(name=name, value=value)
        for name, value in (("similarity", top_similarity), ("mean_similarity", mean_similarity)):
            provider.add_metric(name=name, unit="None", value=float(value))  # standard resolution: 60 s
        provider.add_metadata(key="mode", value=mode)  # searchable in the logs, not a dimension
        provider.add_metadata(key="hits", value=hits)
        provider.flush_metrics()

    def _provider(self) -> Any:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        # service="" keeps Powertools from adding the function's service name as a dimension. A provider of its
        # own per query (not the `Metrics` class, whose sets every instance shares) starts with empty sets.
        return AmazonCloudWatchEMFProvider(namespace=self._namespace, service="")
