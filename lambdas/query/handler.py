"""The query API (API Gateway REST): retrieve, generate, answer with sources, record metrics.

The logic lives in the domain package; this module only names the entry point the function's
configuration points at (`handler.lambda_handler`).
"""

from ragline.entrypoints.lambdas.query import lambda_handler

__all__ = ["lambda_handler"]
