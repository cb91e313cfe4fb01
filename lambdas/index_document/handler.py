"""Textract completions (SNS, then SQS) are chunked, embedded, indexed and archived.

The logic lives in the domain package; this module only names the entry point the function's
configuration points at (`handler.lambda_handler`).
"""

from ragline.entrypoints.lambdas.index_document import lambda_handler

__all__ = ["lambda_handler"]
