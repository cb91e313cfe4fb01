"""Textract completion and page-window batches -> chunks in OpenSearch.

Two kinds of SQS message reach this function (see README.md, "Deploy to AWS", "Why an SQS fan-out"):
- from the Textract completion queue: an SNS envelope whose `Message` is Textract's
  notification (`JobId`, `Status`, `JobTag`, `DocumentLocation`). On SUCCEEDED the function
  plans the document: it splits the result into windows of RAGLINE_INDEX_BATCH_PAGES pages and
  sends one message per window to RAGLINE_INDEX_BATCH_QUEUE_URL, recording the window count in
  RAGLINE_REGISTRY_TABLE. On FAILED it records the failure with Textract's reason.
- from the index batch queue: `{"kind": "index_batch", "job_id", "source", "document_id",
  "page_start", "page_end"}`. The function reads the Textract output for those pages, chunks,
  embeds in batches, bulk-indexes with deterministic chunk ids, archives each vector to
  RAGLINE_EMBEDDING_ARCHIVE_STREAM (newline-terminated JSON `ragline.records.EmbeddingRecord`),
  and decrements the window counter; the last window removes the source's stale chunks and
  marks the document indexed.

Placeholder until issue 4: classifies and logs the messages.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def classify(body: dict[str, Any]) -> str:
    if body.get("Type") == "Notification":
        return "textract_completion"
    if body.get("kind") == "index_batch":
        return "index_batch"
    raise ValueError(f"unexpected message: {sorted(body)}")


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    kinds = [classify(json.loads(record["body"])) for record in event.get("Records", [])]
    for kind in kinds:
        logger.info("message received", extra={"kind": kind})
    return {"messages": len(kinds)}
