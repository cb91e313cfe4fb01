"""S3 "Object Created" (EventBridge, through the ingest SQS queue) -> start async Textract.

Contract (README.md, "Deploy to AWS", "Runtime contract"): for each new object version, call
`StartDocumentAnalysis` with FeatureTypes LAYOUT and TABLES, the completion topic/role from
RAGLINE_TEXTRACT_TOPIC_ARN / RAGLINE_TEXTRACT_ROLE_ARN, output to
s3://RAGLINE_TEXTRACT_OUTPUT_BUCKET/RAGLINE_TEXTRACT_OUTPUT_PREFIX encrypted with
RAGLINE_KMS_KEY_ARN, a ClientRequestToken derived from bucket/key/version (idempotent on
redelivery), and record the document as pending in RAGLINE_REGISTRY_TABLE.

Placeholder until issue 4: it parses and logs the events, and fails loudly on malformed input
so that the message goes to the DLQ rather than being dropped.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()


def s3_objects(event: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(bucket, key, version id) of every EventBridge S3 event carried by the SQS batch."""
    objects = []
    for record in event.get("Records", []):
        detail = json.loads(record["body"])["detail"]
        key = unquote_plus(detail["object"]["key"])
        objects.append((detail["bucket"]["name"], key, detail["object"].get("version-id")))
    return objects


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    objects = s3_objects(event)
    for bucket, key, version in objects:
        logger.info("document received", extra={"bucket": bucket, "key": key, "version": version})
    return {"received": len(objects)}
