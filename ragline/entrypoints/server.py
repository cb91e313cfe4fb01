"""The local HTTP JSON API: `POST /query`, `POST /search` and `GET /health`, the same contract as API Gateway.

Every error, whoever raises it (validation, routing, the body limit, the concurrency limit, the
token check, an unexpected exception), answers with one body shape, `ragline.api.ErrorResponse`,
and every route declares the errors it can answer in the OpenAPI document.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline.api import (
    API_VERSION,
    ConversationRequest,
    ErrorResponse,
    HealthResponse,
    QueryRequest,
    QueryResponse,
    SearchResponse,
    describe_errors,
)
from ragline.bootstrap import Engine
from ragline.config import ServerSettings
from ragline.errors import InvalidQueryError, ModelUnavailableError
from ragline.model import DocumentState

logger = logging.getLogger(__name__)

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
# What any route can answer besides its result; the POST routes add what their body and token can cause.
_ANY_ROUTE: dict[int | str, dict[str, Any]] = {
    500: {"model": ErrorResponse, "description": "An unexpected error; the details are in the server log."},
    503: {
        "model": ErrorResponse,
        "description": "Busy (max_in_flight requests in flight) or the model is unavailable.",
        "headers": _RETRY_AFTER,
    },
}
_BODY_ROUTE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid request; the error names the field."},
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token (when the server has one)."},
    413: {"model": ErrorResponse, "description": "Request body over max_body_bytes."},
    **_ANY_ROUTE,
}
_bearer = HTTPBearer(auto_error=False, description="Required when the server is started with a token.")


def is_loopback(host: str) -> bool:
    """Whether a listen address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # any other name may resolve beyond this machine
        return False


def _error(status: int, message: str, details: list[dict] | None = None, headers: dict | None = None) -> JSONResponse:
    body = ErrorResponse(error=message, details=details or []).model_dump()
    return JSONResponse(status_code=status, content=body, headers=headers)


class InFlightLimit:
    """At most `limit` requests inside the app; the next one is answered 503 at once, never queued.

    uvicorn's own `limit_concurrency` also counts idle keep-alive connections and answers in plain
    text without Retry-After, so it cannot stand in for this. The counter needs no lock: it is only
    touched on the event loop, between awaits.
    """

    def __init__(self, app: ASGIApp, *, limit: int, retry_after_seconds: int) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = str(retry_after_seconds)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            busy = f"server busy: {self.limit} requests in flight; retry after {self.retry_after} s"
            await _error(503, busy, headers={"Retry-After": self.retry_after})(scope, receive, send)
            return
        self.in_flight += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released, self.in_flight = True, self.in_flight - 1

        async def send_then_release(message: Message) -> None:
            # The slot is free before the response's last byte leaves: a client that got its answer and
            # asks again at once must find it free, not race this coroutine's `finally`.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_then_release)
        finally:
            release()


# Without it uvicorn reads the rest of an unread body to keep the connection: 200 MB read for nothing.
_CLOSE = {"Connection": "close"}


class BodyLimit:
    """Refuse a body over `limit` bytes with a 413, counted as it arrives: nothing larger is buffered.

    A declared Content-Length over the limit is answered before any of the body is read; a chunked
    body is cut off once it passes the limit (the exception reaches the app's handler, so the 413
    has the error shape). Any answer given before the body was read whole (that 413, a 404, a busy
    503) closes the connection. Starlette's own RequestBodyLimitMiddleware (FastAPI's
    `max_body_size`) replaces any answer to an over-long Content-Length with a plain-text 413.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _error(413, self._too_large(f"{declared} bytes"), headers=_CLOSE)(scope, receive, send)
            return
        received = 0
        whole = declared in (None, "0") and "transfer-encoding" not in headers

        async def counted() -> Message:
            nonlocal received, whole
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if received > self.limit:
                    raise HTTPException(413, self._too_large(f"over {self.limit} bytes"))
            return message

        async def closing_if_unread(message: Message) -> None:
            if message["type"] == "http.response.start" and not whole:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing_if_unread)

    def _too_large(self, size: str) -> str:
        return f"body: {size}, the limit is {self.limit} bytes (server.max_body_bytes)"


def _token_check(token: SecretStr | None):
    expected = token.get_secret_value().encode() if token else None

    async def authorize(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if expected is None:
            return
        if credentials is None:
            raise HTTPException(401, "Authorization: expected 'Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(401, "Authorization: wrong token", headers={"WWW-Authenticate": "Bearer"})

    return authorize


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {key: value for key, value in item.items() if key in ("loc", "msg", "type")} for item in error.errors()
        ]
        message = describe_errors(details)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and not content_type.startswith("application/json"):
            message = f"content-type: expected application/json, got {content_type or 'none'}; {message}"
        return _error(400, message, details)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, error: HTTPException) -> JSONResponse:
        # 404, 405, 413 and 401: Starlette's and FastAPI's own answer {"detail": ...}.
        return _error(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(InvalidQueryError)
    async def _invalid_query(_: Request, error: InvalidQueryError) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(ModelUnavailableError)
    async def _model_unavailable(_: Request, error: ModelUnavailableError) -> JSONResponse:
        logger.error("model unavailable: %s", error)
        return _error(503, str(error))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The traceback goes to the log, never to the client.
        logger.exception("unexpected error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(error).__name__}); see the server log")


def create_app(engine: Engine, server: ServerSettings | None = None) -> FastAPI:
    server = server or ServerSettings()
    # /docs, /redoc and /openapi.json stay open with a token: they describe requests and answers (the
    # document published in docs/openapi.json), never document data (tests/unit/test_server_token_routes.py).
    app = FastAPI(
        title="ragline",
        version=API_VERSION,
        description="Ask questions of your documents; every answer cites its sources.",
    )
    app.add_middleware(InFlightLimit, limit=server.max_in_flight, retry_after_seconds=server.retry_after_seconds)
    # Added last, so outermost: it sees every answer, the busy 503 too, to close what it leaves unread.
    app.add_middleware(BodyLimit, limit=server.max_body_bytes)
    _add_error_handlers(app)
    authorized = [Depends(_token_check(server.token))]

    @app.post("/query", response_model=QueryResponse, responses=_BODY_ROUTE, dependencies=authorized)
    def query(request: ConversationRequest) -> QueryResponse:
        if request.session is not None:
            turn = engine.converse(
                request.session, request.question, k=request.k, mode=request.mode, where=request.filter
            )
            return QueryResponse.from_conversation(turn)
        answer = engine.ask(request.question, k=request.k, mode=request.mode, where=request.filter)
        return QueryResponse.from_answer(answer)

    @app.post("/search", response_model=SearchResponse, responses=_BODY_ROUTE, dependencies=authorized)
    def search(request: QueryRequest) -> SearchResponse:
        retrieved = engine.search(request.question, k=request.k, mode=request.mode, where=request.filter)
        return SearchResponse.from_retrieved(retrieved)

    # Open without the token, for probes: it reveals counts and the model's name, no document text.
    @app.get("/health", response_model=HealthResponse, responses=_ANY_ROUTE)
    def health() -> HealthResponse:
        documents = [
            status for status in engine.status() if status.state in (DocumentState.INDEXED, DocumentState.UNCHANGED)
        ]
        return HealthResponse(
            status="ok",
            chunks=engine.index.count(),
            documents=len(documents),
            embedding_model=engine.embedder.model_name,
        )

    app.openapi = lambda: _without_422(FastAPI.openapi(app))  # type: ignore[method-assign]
    return app


def _without_422(document: dict) -> dict:
    """Validation errors are 400s with an ErrorResponse here; drop the 422 FastAPI declares for them."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def openapi_document() -> dict:
    """The OpenAPI document of the query API, built without loading any model."""
    app = create_app(engine=None)  # type: ignore[arg-type]  # routes are only described, never called
    return app.openapi()
