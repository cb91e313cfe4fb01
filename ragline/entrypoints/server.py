"""The local HTTP JSON API: `POST /query` and `GET /health`, the same contract as API Gateway."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ragline.api import API_VERSION, ErrorResponse, HealthResponse, QueryRequest, QueryResponse, SearchResponse
from ragline.bootstrap import Engine
from ragline.errors import InvalidQueryError, ModelUnavailableError
from ragline.model import DocumentState


def _describe(errors: list[dict]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="ragline",
        version=API_VERSION,
        description="Ask questions of your documents; every answer cites its sources.",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {key: value for key, value in item.items() if key in ("loc", "msg", "type")} for item in error.errors()
        ]
        message = _describe(details)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and not content_type.startswith("application/json"):
            message = f"content-type: expected application/json, got {content_type or 'none'}; {message}"
        return JSONResponse(status_code=400, content=ErrorResponse(error=message, details=details).model_dump())

    @app.exception_handler(InvalidQueryError)
    async def _invalid_query(_: Request, error: InvalidQueryError) -> JSONResponse:
        return JSONResponse(status_code=400, content=ErrorResponse(error=str(error)).model_dump())

    @app.exception_handler(ModelUnavailableError)
    async def _model_unavailable(_: Request, error: ModelUnavailableError) -> JSONResponse:
        return JSONResponse(status_code=503, content=ErrorResponse(error=str(error)).model_dump())

    @app.post(
        "/query", response_model=QueryResponse, responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}
    )
    def query(request: QueryRequest) -> QueryResponse:
        answer = engine.ask(request.question, k=request.k, mode=request.mode, where=request.filter)
        return QueryResponse.from_answer(answer)

    @app.post(
        "/search",
        response_model=SearchResponse,
        responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    )
    def search(request: QueryRequest) -> SearchResponse:
        retrieved = engine.search(request.question, k=request.k, mode=request.mode, where=request.filter)
        return SearchResponse.from_retrieved(retrieved)

    @app.get("/health", response_model=HealthResponse)
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

    return app


def openapi_document() -> dict:
    """The OpenAPI document of the query API, built without loading any model."""
    app = create_app(engine=None)  # type: ignore[arg-type]  # routes are only described, never called
    return app.openapi()
