"""S3 'Object Created' events (via EventBridge and SQS) start async Textract analysis.

The logic lives in the domain package; this module only names the entry point the function's
configuration points at (`handler.lambda_handler`).
"""

from ragline.entrypoints.lambdas.ingest_start import lambda_handler

__all__ = ["lambda_handler"]
