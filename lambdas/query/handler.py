"""The query API (API Gateway REST, IAM or Cognito auth) -> retrieval and answer.

Routes: POST /query (answer with citations), POST /search (hits only), GET /documents
(the registry). Request bodies are validated by API Gateway against the JSON schemas in
stacks/components/api.py before they reach this function.

Contract: each hit's cosine similarity goes to CloudWatch as metric `similarity` in namespace
`rag` (Powertools Metrics, dimension service=POWERTOOLS_SERVICE_NAME); the question's
embedding goes to RAGLINE_PROMPT_ARCHIVE_STREAM as a newline-terminated
`ragline.records.EmbeddingRecord` of kind "prompt"; conversation turns go to
RAGLINE_MEMORY_TABLE with TTL attribute `expires_at`.

Placeholder until issue 4: answers 501 on every route.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


def _not_implemented() -> Response:
    return Response(
        status_code=501,
        content_type=content_types.APPLICATION_JSON,
        body='{"message": "the query runtime is not deployed yet"}',
    )


@app.post("/query")
def query() -> Response:
    return _not_implemented()


@app.post("/search")
def search() -> Response:
    return _not_implemented()


@app.get("/documents")
def documents() -> Response:
    return _not_implemented()


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
