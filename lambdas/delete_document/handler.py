"""S3 'Object Deleted' events (via EventBridge and SQS) remove the document's chunks.

The logic lives in the domain package; this module only names the entry point the function's
configuration points at (`handler.lambda_handler`).
"""

from ragline.entrypoints.lambdas.delete_document import lambda_handler

__all__ = ["lambda_handler"]
