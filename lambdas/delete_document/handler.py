"""S3 "Object Deleted" (EventBridge, through the delete SQS queue) -> remove the document.

Contract: delete every chunk of the source `s3://bucket/key` from the OpenSearch index
(RAGLINE_OPENSEARCH_ENDPOINT / RAGLINE_OPENSEARCH_INDEX, delete-by-query on `source`) and mark
it deleted in RAGLINE_REGISTRY_TABLE. Idempotent: deleting twice is not an error.

Placeholder until issue 4: parses and logs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sources = []
    for record in event.get("Records", []):
        detail = json.loads(record["body"])["detail"]
        sources.append(f"s3://{detail['bucket']['name']}/{unquote_plus(detail['object']['key'])}")
    for source in sources:
        logger.info("document removed", extra={"source": source})
    return {"removed": len(sources)}
