"""The query API contract, shared by the local server and the API Gateway Lambda.

These pydantic models are the single definition of the request and response; the OpenAPI
document in `docs/openapi.json` is generated from them (`ragline openapi`), and a test keeps
the file in step with the code.
"""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ragline.config import SearchMode
from ragline.conversation import SESSION_MAX_CHARS, SESSION_PATTERN, ConversationAnswer, session_problem
from ragline.filters import NOT_BLANK, JsonInt, SearchFilter
from ragline.model import Answer, Citation, DocumentCard
from ragline.query import Retrieved

API_VERSION = "1.0.0"
QUESTION_MAX_CHARS = 2000
# The schema's session pattern, as ragline.filters writes its patterns: $(?!\n), since Python's and Java's $
# (API Gateway's model) also match before a final newline, which the runtime refuses.
SESSION_SCHEMA_PATTERN = SESSION_PATTERN.removesuffix("$") + r"$(?!\n)"


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        max_length=QUESTION_MAX_CHARS,
        # Something besides what str.strip() removes (Unicode White_Space and \x1c-\x1f), which the engine refuses.
        pattern=NOT_BLANK,
        description="What to ask of the documents.",
    )
    k: JsonInt = Field(default=5, ge=1, le=50, description="How many sources to retrieve.")
    mode: SearchMode = Field(default=SearchMode.HYBRID, description="dense, keyword or hybrid retrieval.")
    filter: SearchFilter | None = Field(default=None, description="Restrict retrieval by source, tags, pages or date.")

    @field_validator("question", mode="wrap")
    @classmethod
    def _not_blank(cls, value: object, handler: ValidatorFunctionWrapHandler) -> str:
        """The pattern above in words, as the engine says it: pydantic's message would quote the regular expression."""
        try:
            return handler(value)
        except ValidationError as error:
            if any(item["type"] == "string_pattern_mismatch" for item in error.errors()):
                raise PydanticCustomError("blank", "must not be empty") from None  # as the engine says
            raise


class ConversationRequest(QueryRequest):
    """`POST /query`, on the local server and on the query Lambda: a question that may continue a conversation.

    On AWS a conversation is kept under the caller API Gateway authenticated as well as its id, so the same
    id sent by another caller starts a conversation of its own (`ragline.entrypoints.lambdas.query`).
    `POST /search` takes a `QueryRequest`, which refuses `session` by name.
    """

    session: str | None = Field(
        default=None,
        min_length=1,
        max_length=SESSION_MAX_CHARS,
        pattern=SESSION_PATTERN,
        json_schema_extra={"pattern": SESSION_SCHEMA_PATTERN},
        description="Conversation id (letters, digits, '-' and '_'): the question is read as a follow-up of "
        "its earlier turns and becomes its next turn. An unknown id starts a conversation; none, a lone question.",
    )

    @field_validator("session", mode="wrap")
    @classmethod
    def _session_in_words(cls, value: object, handler: ValidatorFunctionWrapHandler) -> str | None:
        """The rule in words, as the CLI says it: pydantic's message would quote the regular expression."""
        try:
            return handler(value)
        except ValidationError as error:
            if isinstance(value, str) and (problem := session_problem(value)):
                raise PydanticCustomError("session", problem) from None
            raise error


class CardOut(BaseModel):
    """What a document is, read at ingestion from its first pages and its file name (README: document cards)."""

    title: str
    doc_type: str = Field(description="10-K, 10-Q, 8-K, earnings release, annual report, manual, paper or other.")
    issuer: str | None = None
    period: str | None = Field(default=None, description="ISO: 2023-03-31, or 2023 when only a year is known.")
    period_text: str | None = Field(default=None, description="The period as the document words it.")


class SourceOut(BaseModel):
    number: int = Field(description="The [n] the answer uses to cite this source.")
    source: str = Field(description="URI of the document (a local path, or s3://bucket/key on AWS).")
    title: str
    pages: list[int] = Field(description="1-based pages the passage spans.")
    page: int = Field(description="First page of the passage, for a one-number citation.")
    score: float = Field(description="Ranking score of the retrieval mode (see README: scores).")
    similarity: float = Field(description="Cosine similarity of question and passage, in [-1, 1].")
    text: str
    chunk_id: str
    card: CardOut | None = Field(default=None, description="What the document is; none if indexed before cards.")


def _card(card: DocumentCard | None) -> CardOut | None:
    return CardOut(**card.to_json()) if card else None


def _sources(citations: tuple[Citation, ...]) -> list[SourceOut]:
    return [
        SourceOut(
            number=citation.number,
            source=citation.source,
            title=citation.title,
            pages=list(citation.pages),
            page=citation.pages[0] if citation.pages else 0,
            score=round(citation.score, 6),
            similarity=round(citation.similarity, 6),
            text=citation.text,
            chunk_id=citation.chunk_id,
            card=_card(citation.card),
        )
        for citation in citations
    ]


class SearchResponse(BaseModel):
    """`POST /search`: the sources an answer would be written from, without generating one."""

    question: str
    mode: SearchMode
    sources: list[SourceOut]
    timings_ms: dict[str, float]

    @classmethod
    def from_retrieved(cls, retrieved: Retrieved) -> SearchResponse:
        return cls(
            question=retrieved.question.text,
            mode=retrieved.question.mode,
            sources=_sources(retrieved.citations),
            timings_ms=retrieved.timings_ms,
        )


class QueryResponse(BaseModel):
    question: str
    answer: str
    grounded: bool = Field(description="False when no passage was similar enough to answer from.")
    mode: SearchMode
    generator: str
    sources: list[SourceOut]
    timings_ms: dict[str, float]
    session: str | None = Field(default=None, description="The conversation this answer is a turn of, if any.")
    standalone_question: str | None = Field(
        default=None,
        description="In a conversation, the question as retrieval and the answer read it: `question` rewritten "
        "with the earlier turns (the same text when it stood alone).",
    )

    @classmethod
    def from_conversation(cls, turn: ConversationAnswer) -> QueryResponse:
        response = cls.from_answer(turn.answer)
        return response.model_copy(update={"session": turn.session, "standalone_question": turn.standalone})

    @classmethod
    def from_answer(cls, answer: Answer) -> QueryResponse:
        return cls(
            question=answer.question,
            answer=answer.text,
            grounded=answer.grounded,
            mode=SearchMode(answer.mode),
            generator=answer.generator,
            sources=_sources(answer.citations),
            timings_ms=answer.timings_ms,
        )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer, locally and on AWS."""

    error: str = Field(description="What was wrong, naming the field.")
    details: list[dict] = Field(default_factory=list, description="Each invalid field: loc, msg and type.")


def describe_errors(errors: list[dict]) -> str:
    """One clause per invalid field: "question: String should have at least 1 character; k: ..."

    `errors` are pydantic's error details (FastAPI's, Powertools' and pydantic's own validation errors all give
    them), each with its type, loc and msg."""
    parts = []
    for error in errors:
        if error["type"] == "json_invalid":  # its location is a character offset, not a field
            parts.append(f"body: not valid JSON ({error['msg']})")
        else:
            location = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
            parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


class HealthResponse(BaseModel):
    status: str
    chunks: int
    documents: int
    embedding_model: str
