"""The local chat UI (issue 14): a Streamlit app over the laptop engine, started by `ragline ui`.

Thin, like the HTTP server: it builds the engine from the settings through `ragline.bootstrap`
(which builds only the adapters a use case touches) and calls `Engine.converse` with one
conversation id per browser session, kept in Streamlit's session state. It shows each answer
with its numbered sources; a source opens on its cited page, rendered from the PDF (that page
only); the sidebar shows what `ragline status` shows. Errors the engine raises on purpose are
shown as their message; anything else is logged with its traceback and shown by its type only.

Streamlit runs this file as a script (`streamlit run`), so the page is drawn by `main()` under
`if __name__ == "__main__"`; importing the module draws nothing.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import pypdfium2
import streamlit as st
from PIL.Image import Image
from pydantic import ValidationError

from ragline.api import QueryResponse, SourceOut
from ragline.bootstrap import Engine, build_engine
from ragline.config import load_settings
from ragline.entrypoints.display import short_names
from ragline.errors import RaglineError
from ragline.model import DocumentState
from ragline.prompt import format_pages

logger = logging.getLogger(__name__)

#: The rendered page's width in pixels: readable in the chat column, small enough to send at once.
PAGE_WIDTH_PX = 900
_SERVED = (DocumentState.INDEXED, DocumentState.UNCHANGED)
# Markdown (and Streamlit's $...$ for LaTeX) would read document text such as "$33.1 ... $27.4" as markup.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~<>])")


def plain(text: str) -> str:
    """`text` escaped so that st.markdown shows it as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_resource
def engine() -> Engine:
    """One engine per UI process, shared by every browser session (its adapters are thread-safe)."""
    return build_engine(load_settings())


@st.cache_data(max_entries=64)
def render_page(source: str, page: int, mtime_ns: int) -> Image:
    """Page `page` (1-based) of the PDF at `source`, PAGE_WIDTH_PX wide; `mtime_ns` keys the cache to the file."""
    document = pypdfium2.PdfDocument(source)
    try:
        if not 1 <= page <= len(document):
            raise ValueError(f"{source}: page {page} is not in the document's {len(document)} pages")
        pdf_page = document[page - 1]
        width_pt, _ = pdf_page.get_size()
        return pdf_page.render(scale=PAGE_WIDTH_PX / width_pt).to_pil()
    finally:
        document.close()


def page_caption(source: SourceOut) -> str:
    return f"{Path(source.source).name}, page {source.page}"


def show_source(source: SourceOut) -> None:
    """The cited page as an image (PDFs), else the cited passage, for a source the user opened."""
    path = Path(source.source)
    if path.suffix.lower() != ".pdf":
        st.caption(f"{path.name} is not a PDF: the cited passage")
        st.markdown(plain(source.text))
        return
    if not path.is_file():
        st.warning(f"{source.source}: the file is no longer there; ingest again to refresh the index")
        return
    try:
        image = render_page(str(path), source.page, path.stat().st_mtime_ns)
    except (pypdfium2.PdfiumError, ValueError) as error:
        st.warning(f"{source.source}: cannot render page {source.page} ({error})")
        return
    # PNG: Streamlit would send a JPEG, blurring small print.
    st.image(image, caption=page_caption(source), output_format="PNG")


def show_turn(number: int, turn: QueryResponse) -> None:
    with st.chat_message("user"):
        st.markdown(plain(turn.question))
    with st.chat_message("assistant"):
        if turn.standalone_question and turn.standalone_question != turn.question:
            st.caption(f"read as: {plain(turn.standalone_question)}")
        st.markdown(plain(turn.answer))
        for source in turn.sources:
            label = f"[{source.number}] {Path(source.source).name} · page {format_pages(source.pages)}"
            if st.toggle(label, key=f"source-{number}-{source.number}"):
                show_source(source)


def show_status(current: Engine) -> int:
    """What `ragline status` shows: every document the registry knows, with its state. Returns how many are served."""
    rows = current.status()
    st.sidebar.header("Documents")
    served = sum(row.state in _SERVED for row in rows)
    st.sidebar.caption(f"{served} of {len(rows)} documents served, {current.index.count()} chunks indexed")
    if not rows:
        return served
    _, names = short_names([row.source for row in rows])
    st.sidebar.table(
        [
            {
                "document": name,
                "status": row.state.value,
                "pages": row.page_count or 0,
                "chunks": row.chunk_count,
                "reason": row.reason or "",
            }
            for row, name in zip(rows, names, strict=True)
        ]
    )
    return served


def ask(current: Engine, session: str, question: str) -> QueryResponse | None:
    """The next turn of the conversation, or None after showing why there is none."""
    try:
        return QueryResponse.from_conversation(current.converse(session, question))
    except RaglineError as error:
        st.error(str(error))
    except Exception as error:  # a traceback is for the terminal, not the page
        logger.exception("unexpected error answering in the chat UI")
        st.error(f"internal error ({type(error).__name__}); see the terminal running `ragline ui`")
    return None


def main() -> None:
    st.set_page_config(page_title="ragline chat", layout="wide")
    st.title("ragline chat")
    try:
        current = engine()
        served = show_status(current)
    except (ValidationError, RaglineError) as error:
        st.error(f"configuration error: {error}")
        st.stop()
    state = st.session_state
    state.setdefault("session", f"ui-{uuid.uuid4().hex}")
    state.setdefault("turns", [])
    st.sidebar.caption(f"conversation {state.session}")
    for number, turn in enumerate(state.turns, start=1):
        show_turn(number, turn)
    question = st.chat_input("Ask a question about your documents")
    if not question:
        return
    if not served:
        st.error(
            f"No documents are indexed in {current.settings.data_dir} yet: "
            "run `ragline ingest <folder>` first, then ask again."
        )
        return
    turn = ask(current, state.session, question)
    if turn is not None:
        state.turns.append(turn)
        show_turn(len(state.turns), turn)


if __name__ == "__main__":
    main()
