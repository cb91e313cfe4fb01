"""The chat UI (issue 14): a Streamlit app over the laptop engine (`ragline ui`) or the query API on AWS.

Thin, like the HTTP server. Where the answers come from is chosen in one place, `backend()`:
- locally (no RAGLINE_UI_API_URL), the engine built from the settings through `ragline.bootstrap`,
  called with `Engine.converse`;
- on AWS (RAGLINE_UI_API_URL set by the ECS task definition, stacks/components/chat_ui.py), the query
  API: `POST /query` with `ragline.api.ConversationRequest`, read back as `QueryResponse`, and
  `GET /documents` for the sidebar, each with the signed-in user's Cognito ID token as the bearer
  token (Streamlit's own OIDC sign-in, `st.login`, exposes it as `st.user.tokens["id"]`; API Gateway's
  Cognito authorizer, without OAuth scopes on its methods, validates an ID token). The PDFs are in
  S3 there: a cited page is rendered from the S3 object (the task role may read the ingest bucket only).
One conversation id per browser session, kept in Streamlit's session state. It shows each answer with
its numbered sources; a source opens on its cited page, rendered from the PDF (that page only); the
sidebar shows what `ragline status` shows. Errors raised on purpose (the engine's, the API's error
body) are shown as their message; anything else is logged with its traceback and shown by its type only.

Streamlit runs this file as a script (`streamlit run`), so the page is drawn by `main()` under
`if __name__ == "__main__"`; importing the module draws nothing.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx
import pypdfium2
import streamlit as st
from PIL.Image import Image
from pydantic import ValidationError

from ragline.api import ConversationRequest, ErrorResponse, QueryResponse, SourceOut, describe_errors
from ragline.entrypoints.display import short_names
from ragline.errors import RaglineError
from ragline.model import DocumentState
from ragline.prompt import format_pages

if TYPE_CHECKING:  # the engine (numpy, ONNX) is imported only when the UI runs it: the AWS image has neither
    from ragline.bootstrap import Engine

logger = logging.getLogger(__name__)

#: The rendered page's width in pixels: readable in the chat column, small enough to send at once.
PAGE_WIDTH_PX = 900
#: The query API's base URL (ending in the stage, e.g. https://x.execute-api.eu-west-1.amazonaws.com/v1/):
#: set, the UI asks the API instead of a local engine.
API_URL_ENV = "RAGLINE_UI_API_URL"
#: The bucket whose PDFs the UI may render (the ingest bucket): a source elsewhere is named, not fetched.
SOURCE_BUCKET_ENV = "RAGLINE_UI_SOURCE_BUCKET"
#: A little over API Gateway's 29 s integration timeout, so that the gateway's own 504 body is what we read.
API_TIMEOUT_S = 35.0
_SERVED = (DocumentState.INDEXED, DocumentState.UNCHANGED)
# Markdown (and Streamlit's $...$ for LaTeX) would read document text such as "$33.1 ... $27.4" as markup.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~<>])")


def plain(text: str) -> str:
    """`text` escaped so that st.markdown shows it as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_resource
def engine() -> Engine:
    """One engine per UI process, shared by every browser session (its adapters are thread-safe)."""
    from ragline.bootstrap import build_engine
    from ragline.config import load_settings

    return build_engine(load_settings())


def _render(pdf: str | bytes, name: str, page: int) -> Image:
    """Page `page` (1-based) of the PDF `pdf` (a path or its bytes), PAGE_WIDTH_PX wide."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        if not 1 <= page <= len(document):
            raise ValueError(f"{name}: page {page} is not in the document's {len(document)} pages")
        pdf_page = document[page - 1]
        width_pt, _ = pdf_page.get_size()
        return pdf_page.render(scale=PAGE_WIDTH_PX / width_pt).to_pil()
    finally:
        document.close()


@st.cache_data(max_entries=64)
def render_page(source: str, page: int, mtime_ns: int) -> Image:
    """Page `page` (1-based) of the PDF at `source`, PAGE_WIDTH_PX wide; `mtime_ns` keys the cache to the file."""
    return _render(source, source, page)


@st.cache_resource
def s3_client():
    """One S3 client per UI process (boto3 clients are thread-safe), built on the first page opened."""
    import boto3

    return boto3.client("s3")


@st.cache_data(max_entries=64)
def render_s3_page(uri: str, page: int, version: str) -> Image:
    """Page `page` of the PDF at s3://bucket/key `uri`; `version` (the object's ETag) keys the cache to its bytes."""
    bucket, key = s3_location(uri)
    body = s3_client().get_object(Bucket=bucket, Key=key, IfMatch=version)["Body"].read()
    return _render(body, uri, page)


def s3_location(uri: str) -> tuple[str, str]:
    """("bucket", "key") of an s3://bucket/key URI; ValueError naming the URI otherwise."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise ValueError(f"{uri}: not an s3://bucket/key URI")
    return parts.netloc, parts.path.lstrip("/")


def page_caption(source: SourceOut) -> str:
    return f"{Path(source.source).name}, page {source.page}"


@dataclass(frozen=True)
class DocumentRow:
    """One line of the sidebar: a document the registry knows, with its state."""

    source: str
    state: str
    pages: int
    chunks: int
    reason: str


@dataclass(frozen=True)
class Status:
    rows: list[DocumentRow]
    chunks: int

    @property
    def served(self) -> int:
        return sum(row.state in _SERVED for row in self.rows)


class AnswerError(Exception):
    """A question the backend refused or could not answer, with the message to show as is."""


class Backend(Protocol):
    def status(self) -> Status: ...

    def ask(self, session: str, question: str) -> QueryResponse:
        """The next turn of the conversation; AnswerError with the message to show when there is none."""
        ...

    def nothing_served(self) -> str:
        """What to do when no document is served yet."""
        ...

    def show_page(self, source: SourceOut) -> None:
        """The cited page of a PDF source the user opened."""
        ...


class LocalBackend:
    """The laptop engine, in this process."""

    def __init__(self, current: Engine) -> None:
        self.engine = current

    def status(self) -> Status:
        rows = [
            DocumentRow(row.source, row.state.value, row.page_count or 0, row.chunk_count, row.reason or "")
            for row in self.engine.status()
        ]
        return Status(rows, self.engine.index.count())

    def ask(self, session: str, question: str) -> QueryResponse:
        try:
            return QueryResponse.from_conversation(self.engine.converse(session, question))
        except RaglineError as error:
            raise AnswerError(str(error)) from error

    def nothing_served(self) -> str:
        return (
            f"No documents are indexed in {self.engine.settings.data_dir} yet: "
            "run `ragline ingest <folder>` first, then ask again."
        )

    def show_page(self, source: SourceOut) -> None:
        path = Path(source.source)
        if not path.is_file():
            st.warning(f"{source.source}: the file is no longer there; ingest again to refresh the index")
            return
        try:
            image = render_page(str(path), source.page, path.stat().st_mtime_ns)
        except (pypdfium2.PdfiumError, ValueError) as error:
            st.warning(f"{source.source}: cannot render page {source.page} ({error})")
            return
        show_image(image, source)


class RemoteBackend:
    """The query API on AWS, called as the signed-in user; the PDFs read from the ingest bucket."""

    def __init__(self, api_url: str, token: str, *, source_bucket: str | None) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.source_bucket = source_bucket

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        """The API's JSON answer; AnswerError with its `error` message (ErrorResponse) when it refuses."""
        try:
            response = httpx.request(
                method, self.api_url + path, json=body, headers=self.headers, timeout=API_TIMEOUT_S
            )
        except httpx.HTTPError as error:
            raise AnswerError(f"the query API at {self.api_url} did not answer ({type(error).__name__})") from error
        if response.is_success:
            return response.json()
        try:
            message = ErrorResponse.model_validate_json(response.content).error
        except ValidationError:
            message = f"HTTP {response.status_code} without an error body"
        if response.status_code == 401:
            message += " (sign out and in again: the sign-in has expired)"
        raise AnswerError(f"the query API refused {method} /{path}: {message}")

    def status(self) -> Status:
        rows = [
            DocumentRow(
                item["source"], item["state"], item.get("pages") or 0, item.get("chunks") or 0, item.get("reason") or ""
            )
            for item in self._call("GET", "documents")["documents"]
        ]
        return Status(rows, sum(row.chunks for row in rows if row.state in _SERVED))

    def ask(self, session: str, question: str) -> QueryResponse:
        try:
            request = ConversationRequest(question=question, session=session)
        except ValidationError as error:  # refused here in the API's words, without a round trip
            raise AnswerError(describe_errors(error.errors())) from error
        answer = self._call("POST", "query", request.model_dump(mode="json", exclude_unset=True))
        try:
            return QueryResponse.model_validate(answer)
        except ValidationError as error:
            raise AnswerError(f"the query API answered a body that is not a QueryResponse ({error})") from error

    def nothing_served(self) -> str:
        where = f"s3://{self.source_bucket}/" if self.source_bucket else "the ingest bucket"
        return f"No documents are indexed yet: upload PDFs to {where}, then ask again once they are indexed."

    def show_page(self, source: SourceOut) -> None:
        try:
            bucket, key = s3_location(source.source)
        except ValueError as error:
            st.warning(f"{error}: page {source.page} cannot be shown")
            return
        if bucket != self.source_bucket:
            st.warning(f"{source.source}: not in the ingest bucket, so the UI may not read it; see page {source.page}")
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            version = s3_client().head_object(Bucket=bucket, Key=key)["ETag"]
            image = render_s3_page(source.source, source.page, version)
        except (ClientError, BotoCoreError, pypdfium2.PdfiumError, ValueError) as error:
            st.warning(f"{source.source}: cannot render page {source.page} ({error})")
            return
        show_image(image, source)


def show_image(image: Image, source: SourceOut) -> None:
    # PNG: Streamlit would send a JPEG, blurring small print.
    st.image(image, caption=page_caption(source), output_format="PNG")


def show_source(current: Backend, source: SourceOut) -> None:
    """The cited page as an image (PDFs), else the cited passage, for a source the user opened."""
    name = source.source.rsplit("/", 1)[-1]  # a local path's or an s3:// URI's last part, '#' and '?' included
    if not name.lower().endswith(".pdf"):
        st.caption(f"{name} is not a PDF: the cited passage")
        st.markdown(plain(source.text))
        return
    current.show_page(source)


def show_turn(current: Backend, number: int, turn: QueryResponse) -> None:
    with st.chat_message("user"):
        st.markdown(plain(turn.question))
    with st.chat_message("assistant"):
        if turn.standalone_question and turn.standalone_question != turn.question:
            st.caption(f"read as: {plain(turn.standalone_question)}")
        st.markdown(plain(turn.answer))
        for source in turn.sources:
            label = f"[{source.number}] {Path(source.source).name} · page {format_pages(source.pages)}"
            if st.toggle(label, key=f"source-{number}-{source.number}"):
                show_source(current, source)


def show_status(current: Backend) -> int:
    """What `ragline status` shows: every document the registry knows, with its state. Returns how many are served."""
    status = current.status()
    st.sidebar.header("Documents")
    st.sidebar.caption(f"{status.served} of {len(status.rows)} documents served, {status.chunks} chunks indexed")
    if not status.rows:
        return status.served
    _, names = short_names([row.source for row in status.rows])
    st.sidebar.table(
        [
            {"document": name, "status": row.state, "pages": row.pages, "chunks": row.chunks, "reason": row.reason}
            for row, name in zip(status.rows, names, strict=True)
        ]
    )
    return status.served


def ask(current: Backend, session: str, question: str) -> QueryResponse | None:
    """The next turn of the conversation, or None after showing why there is none."""
    try:
        return current.ask(session, question)
    except AnswerError as error:
        st.error(str(error))
    except Exception as error:  # a traceback is for the terminal, not the page
        logger.exception("unexpected error answering in the chat UI")
        st.error(f"internal error ({type(error).__name__}); see the terminal running `ragline ui`")
    return None


def offer_sign_in(message: str) -> None:
    st.info(message)
    if st.button("Sign in"):
        st.login()
    st.stop()


def signed_in_token() -> str:
    """The signed-in user's ID token; without a valid one, the page offers sign-in (or says what is missing) and stops.

    Streamlit keeps the sign-in in a cookie for 30 days, the ID token in it for its validity only (`exp`, one of
    its claims in st.user): past it, the API would refuse every request, so the user signs in again first."""
    if not st.user.get("is_logged_in", False):
        offer_sign_in("Sign in to ask questions about the documents.")
    expires = st.user.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        offer_sign_in("Your sign-in has expired: sign in again to go on asking.")
    token = st.user.tokens.get("id")
    if not token:
        st.error('configuration error: sign-in exposes no ID token (Streamlit\'s [auth] needs expose_tokens = ["id"])')
        st.stop()
    st.sidebar.button("Sign out", on_click=st.logout)
    return token


def backend() -> Backend:
    """The one place that chooses where answers come from: the query API when its URL is configured, else the engine."""
    api_url = os.environ.get(API_URL_ENV, "").strip()
    if not api_url:
        return LocalBackend(engine())
    if urlsplit(api_url).scheme not in ("https", "http") or not urlsplit(api_url).netloc:
        raise AnswerError(f"{API_URL_ENV}={api_url!r} is not an http(s) URL of the query API")
    return RemoteBackend(api_url, signed_in_token(), source_bucket=os.environ.get(SOURCE_BUCKET_ENV) or None)


def main() -> None:
    st.set_page_config(page_title="ragline chat", layout="wide")
    st.title("ragline chat")
    try:
        current = backend()
        served = show_status(current)
    except (ValidationError, RaglineError) as error:
        st.error(f"configuration error: {error}")
        st.stop()
    except AnswerError as error:  # the API's URL, or the API refusing the document list: its own words
        st.error(str(error))
        st.stop()
    state = st.session_state
    state.setdefault("session", f"ui-{uuid.uuid4().hex}")
    state.setdefault("turns", [])
    st.sidebar.caption(f"conversation {state.session}")
    for number, turn in enumerate(state.turns, start=1):
        show_turn(current, number, turn)
    question = st.chat_input("Ask a question about your documents")
    if not question:
        return
    if not served:
        st.error(current.nothing_served())
        return
    turn = ask(current, state.session, question)
    if turn is not None:
        state.turns.append(turn)
        show_turn(current, len(state.turns), turn)


if __name__ == "__main__":
    main()
