"""The Index port on Amazon OpenSearch: k-NN for dense search, BM25 for keyword search.

Scores mean what they mean locally (`ragline.retrieval`): dense hits carry the cosine
similarity, recovered from OpenSearch's k-NN score; keyword hits carry OpenSearch's BM25.
Hybrid search is the shared reciprocal-rank fusion of `ragline.retrieval.Retriever` over these
two searches, so both backends fuse exactly alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ragline.adapters.aws.clients import opensearch_retry
from ragline.adapters.aws.opensearch_mapping import (
    IMMUTABLE_KEYS,
    TEXT_FIELD,
    VECTOR_FIELD,
    index_body,
    similarity_from_score,
    vector_settings,
)
from ragline.errors import ConfigurationError, RaglineError
from ragline.filters import SearchFilter
from ragline.model import Chunk, DocumentCard, EmbeddedChunk

log = logging.getLogger(__name__)


class IndexWriteError(RaglineError):
    """OpenSearch refused some chunks of a document; none of the new chunks were kept."""


class OpenSearchIndex:
    def __init__(
        self,
        client: Any,
        index_name: str,
        *,
        dimension: int | Callable[[], int],
        engine: str = "lucene",
        space_type: str = "cosinesimil",
        model_name: str = "",
        bulk_retries: int = 3,
        hidden_versions: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self._client = client
        self._name = index_name
        # Resolved when first needed (creating the index, checking new chunks): searching, counting
        # and deleting do not need it, so a function that only deletes needs no embedding settings.
        self._dimension_of = dimension if callable(dimension) else lambda: dimension
        self._engine = engine
        self._space_type = space_type
        self._model_name = model_name
        self._bulk_retries = bulk_retries
        # Versions being written in page windows, or replaced and being deleted (`ragline.windows`):
        # asked for at every search, so a version appears and disappears for readers all at once.
        self._hidden_versions = hidden_versions or frozenset

    @cached_property
    def _dimension(self) -> int:
        return self._dimension_of()

    # --- the index itself -------------------------------------------------------------------

    @opensearch_retry  # each step is idempotent: a retry after a lost answer finds the index and updates it
    def ensure_index(self, *, shards: int = 1, replicas: int = 0, m: int = 16, ef_construction: int = 128) -> str:
        """Create the index, or add new fields to an existing one; return "created" or "updated"."""
        vector = {"dimension": self._dimension, "engine": self._engine, "space_type": self._space_type}
        body = index_body(**vector, shards=shards, replicas=replicas, m=m, ef_construction=ef_construction)
        indices = self._client.indices
        if not indices.exists(index=self._name):
            indices.create(index=self._name, body=body)
            return "created"
        current = indices.get_mapping(index=self._name)[self._name]["mappings"]
        found, wanted = vector_settings(current), vector_settings(body["mappings"])
        changed = [key for key in IMMUTABLE_KEYS if found.get(key) != wanted.get(key)]
        if changed:
            raise ConfigurationError(
                f"index {self._name} has {found} but the configuration asks for {wanted}: {changed} cannot change "
                "on an existing index; use a new index name and re-ingest"
            )
        indices.put_mapping(index=self._name, body={"properties": body["mappings"]["properties"]})
        indices.put_settings(index=self._name, body={"index": {"number_of_replicas": replicas}})
        return "updated"

    # --- writes -----------------------------------------------------------------------------

    def replace_document(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        """Write the new chunks, then delete every other chunk of `source`.

        Chunk ids are `<content hash>:<position>`, so re-writing the same content overwrites
        in place. If OpenSearch refuses any chunk, the new chunks are removed again and the
        previous version stays searchable, as a failed update does locally.
        """
        self._check(source, document_id, chunks)
        same_content_before = self._count([_term("source", source), _term("document_id", document_id)])
        errors = self._bulk_index(chunks)
        if errors:
            if not same_content_before:
                self._delete_where([_term("source", source), _term("document_id", document_id)])
            raise IndexWriteError(f"OpenSearch refused {len(errors)} of {len(chunks)} chunks of {source}: {errors[0]}")
        keep = [item.chunk.id for item in chunks]
        self._delete_where([_term("source", source)], must_not=[{"ids": {"values": keep}}] if keep else [])

    def delete_source(self, source: str) -> int:
        return self._delete_where([_term("source", source)])

    @opensearch_retry  # idempotent: a retry finds nothing left under `source`
    def move_source(self, source: str, to: str) -> int:
        script = {"source": "ctx._source.source = params.to", "lang": "painless", "params": {"to": to}}
        body = {"query": {"bool": {"filter": [_term("source", source)]}}, "script": script}
        response = self._client.update_by_query(index=self._name, body=body, refresh=True, conflicts="proceed")
        return int(response.get("updated", 0))

    # --- writes of windowed indexing (ragline.windows.VersionedIndex) ----------------------

    def add_chunks(self, chunks: Sequence[EmbeddedChunk]) -> None:
        """Write chunks of a version being indexed (hidden by the ledger until it is published).

        Ids are `<content hash>:<position>`, so a window written again after a retry overwrites
        its own chunks; a refused chunk fails the window, which SQS retries alone.
        """
        for item in chunks:
            self._check(item.chunk.source, item.chunk.document_id, [item])
        if errors := self._bulk_index(chunks):
            raise IndexWriteError(f"OpenSearch refused {len(errors)} of {len(chunks)} chunks: {errors[0]}")

    def delete_version(self, source: str, document_id: str) -> int:
        """Remove one version's chunks of one source (none when the index does not exist yet)."""
        from opensearchpy.exceptions import NotFoundError

        try:
            return self._delete_where([_term("source", source), _term("document_id", document_id)])
        except NotFoundError:  # a job that failed before the first document was ever indexed
            return 0

    def _check(self, source: str, document_id: str, chunks: Sequence[EmbeddedChunk]) -> None:
        for item in chunks:
            if item.chunk.source != source or item.chunk.document_id != document_id:
                raise ValueError(f"chunk {item.chunk.id} does not belong to {source} ({document_id})")
            if len(item.vector) != self._dimension:
                raise ValueError(
                    f"chunk {item.chunk.id} has {len(item.vector)} dimensions, the index has {self._dimension}"
                )

    def _bulk_index(self, chunks: Sequence[EmbeddedChunk]) -> list[Any]:
        from opensearchpy import helpers

        indexed_at = datetime.now(UTC).isoformat(timespec="seconds")
        actions = (
            {"_op_type": "index", "_index": self._name, "_id": item.chunk.id, "_source": self._body(item, indexed_at)}
            for item in chunks
        )
        # helpers.bulk checks every item's result and is this call's only retry policy: it retries a
        # 429, of the whole request or of single items, with its own exponential back-off.
        _, errors = helpers.bulk(
            self._client,
            actions,
            raise_on_error=False,
            max_retries=self._bulk_retries,
            initial_backoff=1,
            refresh="wait_for",
        )
        return list(errors)

    @opensearch_retry
    def _delete_where(self, filters: list[dict], must_not: list[dict] | None = None) -> int:
        query = {"bool": {"filter": filters, **({"must_not": must_not} if must_not else {})}}
        response = self._client.delete_by_query(
            index=self._name, body={"query": query}, refresh=True, conflicts="proceed"
        )
        return int(response.get("deleted", 0))

    def _body(self, item: EmbeddedChunk, indexed_at: str) -> dict[str, Any]:
        chunk = item.chunk
        return {
            "chunk_id": chunk.id,
            "document_id": chunk.document_id,
            "source": chunk.source,
            "title": chunk.title,
            "position": chunk.position,
            TEXT_FIELD: chunk.text,
            "pages": list(chunk.pages),
            "page_start": min(chunk.pages, default=None),
            "page_end": max(chunk.pages, default=None),
            "heading_path": list(chunk.heading_path),
            "tags": list(chunk.tags),
            "date": chunk.date,
            "token_count": chunk.token_count,
            "embedding_text": chunk.embedding_text,
            "model": self._model_name,
            "indexed_at": indexed_at,
            **_card_fields(chunk.card),
            VECTOR_FIELD: [float(value) for value in item.vector],
        }

    # --- reads ------------------------------------------------------------------------------

    def dense_search(
        self, vector: Sequence[float], k: int, where: SearchFilter | None = None
    ) -> list[tuple[Chunk, float]]:
        knn: dict[str, Any] = {"vector": [float(value) for value in vector], "k": k}
        filters, hidden = filter_clauses(where), self._hidden_clauses()
        if filters or hidden:  # efficient filtering inside the HNSW search
            knn["filter"] = {"bool": {"filter": filters, "must_not": hidden}}
        hits = self._search({"size": k, "query": {"knn": {VECTOR_FIELD: knn}}})
        return [(_chunk(hit["_source"]), similarity_from_score(hit["_score"], self._space_type)) for hit in hits]

    def keyword_search(self, query: str, k: int, where: SearchFilter | None = None) -> list[tuple[Chunk, float]]:
        # A match query analyzes the text as words: no character of the question is query syntax.
        match = {"match": {TEXT_FIELD: {"query": query}}}
        query = {"bool": {"must": [match], "filter": filter_clauses(where), "must_not": self._hidden_clauses()}}
        hits = self._search({"size": k, "query": query})
        return [(_chunk(hit["_source"]), float(hit["_score"])) for hit in hits]

    @opensearch_retry
    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        if not chunk_ids:
            return {}
        response = self._client.mget(index=self._name, body={"ids": list(chunk_ids)}, _source_includes=[VECTOR_FIELD])
        return {doc["_id"]: doc["_source"][VECTOR_FIELD] for doc in response["docs"] if doc.get("found")}

    def _hidden_clauses(self) -> list[dict[str, Any]]:
        hidden = sorted(self._hidden_versions())
        return [{"terms": {"document_id": hidden}}] if hidden else []

    def count(self, source: str | None = None) -> int:
        return self._count([_term("source", source)] if source is not None else [])

    @opensearch_retry
    def _count(self, filters: list[dict]) -> int:
        response = self._client.count(index=self._name, body={"query": {"bool": {"filter": filters}}})
        return int(response["count"])

    @opensearch_retry
    def _search(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        body = {**body, "_source": {"excludes": [VECTOR_FIELD]}}
        return self._client.search(index=self._name, body=body)["hits"]["hits"]


def _term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


def _wildcard(pattern: str) -> dict[str, Any]:
    return {"wildcard": {"source": {"value": pattern}}}


def filter_clauses(where: SearchFilter | None) -> list[dict[str, Any]]:
    """A SearchFilter as OpenSearch bool filters, with the semantics of the local SQL translation."""
    if where is None or where.is_empty:
        return []
    clauses: list[dict[str, Any]] = _card_clauses(where)
    if where.source:
        if "/" in where.source and "*" not in where.source:
            clauses.append(_term("source", where.source))  # one whole path: "?" in an S3 key is itself
        elif "/" in where.source:
            clauses.append(_wildcard(_source_pattern(where.source)))
        else:  # a bare file name (or pattern) matches the last path component
            pattern = _source_pattern(where.source)
            either = [_wildcard(pattern), _wildcard(f"*/{pattern}")]
            clauses.append({"bool": {"should": either, "minimum_should_match": 1}})
    if where.tags:
        clauses.append({"terms": {"tags": list(where.tags)}})
    if where.page_from is not None:
        clauses.append({"range": {"page_end": {"gte": where.page_from}}})
    if where.page_to is not None:
        clauses.append({"range": {"page_start": {"lte": where.page_to}}})
    dates = {
        bound: day.isoformat() for bound, day in (("gte", where.date_from), ("lte", where.date_to)) if day is not None
    }
    if dates:
        clauses.append({"range": {"date": dates}})
    return clauses


def _card_fields(card: DocumentCard | None) -> dict[str, Any]:
    if card is None:
        return {}
    return {"card": card.to_json(), "issuer": card.issuer, "period": card.period, "doc_type": card.doc_type}


def _card_clauses(where: SearchFilter) -> list[dict[str, Any]]:
    """The card filters with the local index's semantics: the issuer contains the text (any case), the
    period starts with the value, the type is equal."""
    clauses: list[dict[str, Any]] = []
    if where.issuer is not None:
        contains = f"*{_escape_wildcard(where.issuer)}*"
        clauses.append({"wildcard": {"issuer": {"value": contains, "case_insensitive": True}}})
    if where.period is not None:
        clauses.append({"prefix": {"period": where.period}})
    if where.doc_type is not None:
        clauses.append(_term("doc_type", where.doc_type))
    return clauses


def _source_pattern(source_filter: str) -> str:
    """A source filter as a wildcard pattern: its `*` stay wildcards, its `?` (which S3 keys may hold) and
    backslashes match themselves."""
    return "*".join(_escape_wildcard(part) for part in source_filter.split("*"))


def _escape_wildcard(text: str) -> str:
    """The text as literal characters of a wildcard pattern (where `*`, `?` and `\\` are syntax)."""
    return "".join(f"\\{character}" if character in "*?\\" else character for character in text)


def _chunk(document: dict[str, Any]) -> Chunk:
    return Chunk(
        id=document["chunk_id"],
        document_id=document["document_id"],
        source=document["source"],
        title=document["title"],
        position=document["position"],
        text=document[TEXT_FIELD],
        pages=tuple(document.get("pages") or ()),
        heading_path=tuple(document.get("heading_path") or ()),
        token_count=document["token_count"],
        embedding_text=document["embedding_text"],
        date=document.get("date"),
        tags=tuple(document.get("tags") or ()),
        card=DocumentCard.from_json(document["card"]) if document.get("card") else None,
    )
