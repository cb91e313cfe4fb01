"""The query API behind API Gateway (REST, proxy integration): the same contract as `ragline serve`.

`POST /query` takes a `ragline.api.ConversationRequest` and answers a `QueryResponse`: the answer,
its sources with pages, scores and similarities. With a `session`, the question is the next turn
of that conversation, as on the local server: rewritten with its earlier turns, answered, kept in
DynamoDB, and the response carries `session` and `standalone_question`. A conversation belongs to
its caller: it is kept under the identity API Gateway authenticated (`caller_identity`), so
another caller sending the same id reads nothing of it. Bad input is a 400 whose message names the
field (a missing, empty or oversized question, a bad k or filter, a body that is not JSON, a
content type that is not JSON), never a 500. The query service records the similarity
metrics (EMF, namespace `rag`) and archives the question's embedding.

No Powertools Tracer here, unlike the queue consumers: building it imports the X-Ray SDK, whose
recorder creates botocore clients for its sampler, and that was half of this handler's cold
import (`bench/RESULTS_handlers.md`), which every API caller meeting a cold start waits for.
The function keeps Lambda's active tracing (the stacks set it), so X-Ray still shows each
invocation and its initialization; the per-call subsegments are what is given up, and the stage
timings (embed, retrieve, generate) stand in for them: every response carries them, and each
answer logs them with the request id.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ragline.api import (
    ConversationRequest,
    ErrorResponse,
    QueryRequest,
    QueryResponse,
    SearchResponse,
    describe_errors,
)
from ragline.entrypoints.lambdas import runtime
from ragline.errors import InvalidQueryError, ModelUnavailableError

logger = Logger(service=runtime.SERVICE)
metrics = runtime.metrics
app = APIGatewayRestResolver(enable_validation=True)

API_CLIENT = "api"  # the `source` of prompt records: who asked


class NoCallerError(Exception):
    """A conversation asked for in a request that carries no authenticated caller to keep it under."""


def caller_identity(event: dict[str, Any]) -> str:
    """Who API Gateway authenticated: the Cognito user's `sub` (a Cognito authorizer), else the IAM caller's
    ARN (SigV4). Never read from the body or a header the caller writes."""
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    if claims.get("sub"):
        return f"cognito:{claims['sub']}"
    identity = context.get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    if principal:
        return f"iam:{principal}"
    raise NoCallerError(
        "session: a conversation is kept under its caller's identity, and this request carries none "
        "(requestContext.authorizer.claims.sub or requestContext.identity.userArn); ask without a session"
    )


def _error(status: int, message: str, details: list[dict] | None = None) -> Response:
    metrics.add_metric(name="QueriesRefused" if status < 500 else "QueriesFailed", unit=MetricUnit.Count, value=1)
    body = ErrorResponse(error=message, details=details or []).model_dump_json()
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def content_type_error() -> Response | None:
    """A 400 when a POST body is not declared as JSON (a form, plain text, nothing)."""
    event = app.current_event
    if event.http_method != "POST":
        return None
    content_type = event.headers.get("content-type") or event.headers.get("Content-Type")
    if (content_type or "").split(";", 1)[0].strip().lower() == content_types.APPLICATION_JSON:
        return None
    return _error(400, f"Content-Type: expected application/json, got {content_type or 'nothing'}")


def require_json(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Bodies must be JSON, even one that a form parser would have read into valid fields."""
    return content_type_error() or next_middleware(app)


app.use(middlewares=[require_json])


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
    # The parser refuses unknown content types with a 415 before any middleware runs: answer 400.
    return content_type_error() or _error(400, "Content-Type: expected application/json")


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    if refused := content_type_error():  # a form body fails validation first: name the real cause
        return refused
    details = [{key: value for key, value in item.items() if key in ("loc", "msg", "type")} for item in error.errors()]
    return _error(400, describe_errors(details), details)


@app.exception_handler(InvalidQueryError)
def invalid_query(error: InvalidQueryError) -> Response:
    return _error(400, str(error))


@app.exception_handler(NoCallerError)
def no_caller(error: NoCallerError) -> Response:
    return _error(403, str(error))


@app.exception_handler(ModelUnavailableError)
def model_unavailable(error: ModelUnavailableError) -> Response:
    logger.exception("model unavailable")
    return _error(503, str(error))


@app.not_found
def not_found(_: Exception) -> Response:
    # API Gateway routes only the declared methods here; this keeps the body shape for anything else.
    event = app.current_event
    return _error(404, f"{event.http_method} {event.path}: not a route (POST /query, POST /search, GET /documents)")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    """Anything else: the ErrorResponse shape, not API Gateway's bare 502, and the traceback in the log
    (with the request id, so the caller's 500 can be found there); the message names only the type."""
    logger.exception("unexpected error")
    return _error(500, f"internal error ({type(error).__name__}): see the function's log for this request id")


@app.post("/query")
def query(request: ConversationRequest) -> QueryResponse:
    services = runtime.services()
    queries = services.queries
    question = queries.question(request.question, k=request.k, mode=request.mode, where=request.filter)
    question = replace(question, client=API_CLIENT)
    if request.session is not None:
        owner = caller_identity(app.current_event.raw_event)
        turn = services.conversations_of(owner).ask(request.session, question)
        logger.info("answered a turn", extra={"grounded": turn.answer.grounded, **turn.answer.timings_ms})
        metrics.add_metric(name="QueriesAnswered", unit=MetricUnit.Count, value=1)
        return QueryResponse.from_conversation(turn)
    answer = queries.ask(question)
    logger.info("answered", extra={"grounded": answer.grounded, "sources": len(answer.citations), **answer.timings_ms})
    metrics.add_metric(name="QueriesAnswered", unit=MetricUnit.Count, value=1)
    return QueryResponse.from_answer(answer)


@app.post("/search")
def search(request: QueryRequest) -> SearchResponse:
    queries = runtime.services().queries
    question = queries.question(request.question, k=request.k, mode=request.mode, where=request.filter)
    return SearchResponse.from_retrieved(queries.search(replace(question, client=API_CLIENT)))


@app.get("/documents")
def documents() -> dict[str, Any]:
    statuses = runtime.services().registry.all()
    return {
        "documents": [
            {
                "source": status.source,
                "state": status.state.value,
                "chunks": status.chunk_count,
                "pages": status.page_count,
                "reason": status.reason,
                "updated_at": status.updated_at,
                "card": status.card.to_json() if status.card else None,
            }
            for status in statuses
        ]
    }


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
