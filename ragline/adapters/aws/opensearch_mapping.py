"""The OpenSearch index that holds ragline's chunks: settings and mapping, in one place.

Used by the runtime adapter (`ragline.adapters.aws.opensearch_index`, which writes exactly these
fields) and by the index-bootstrap handler (which creates the index or adds new fields).
Standard library only, so the infrastructure's custom resource can import it cheaply.

Nothing is left to engine defaults (the original pattern's defect 6): the vector field names
its HNSW method, engine and space type, and the text field is analyzed for BM25 like the
local index.
"""

from __future__ import annotations

from typing import Any

VECTOR_FIELD = "vector"
TEXT_FIELD = "text"

# Fields a chunk document carries besides the vector and the text; the adapter writes all of them.
METADATA_FIELDS: dict[str, dict[str, Any]] = {
    "chunk_id": {"type": "keyword"},
    "document_id": {"type": "keyword"},
    "source": {"type": "keyword"},
    "title": {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
    "position": {"type": "integer"},
    "pages": {"type": "integer"},
    "page_start": {"type": "integer"},
    "page_end": {"type": "integer"},
    "heading_path": {"type": "keyword", "ignore_above": 1024},
    "tags": {"type": "keyword"},
    "date": {"type": "date", "format": "strict_date_optional_time||yyyy-MM-dd||epoch_millis"},
    "token_count": {"type": "integer"},
    # What the model read (title and headings + text): stored to rebuild the chunk, never searched.
    "embedding_text": {"type": "text", "index": False},
    "model": {"type": "keyword"},
    "indexed_at": {"type": "date"},
    # The document card (ragline.cards): kept whole to rebuild the chunk, never searched; its issuer,
    # period and type are searchable fields of their own, for the card filters.
    "card": {"type": "object", "enabled": False},
    "issuer": {"type": "keyword", "ignore_above": 256},
    "period": {"type": "keyword"},
    "doc_type": {"type": "keyword"},
}

# What cannot change on an existing index: a different value needs a new index name.
IMMUTABLE_KEYS = ("dimension", "engine", "space_type")


def vector_field(*, dimension: int, engine: str, space_type: str, m: int, ef_construction: int) -> dict[str, Any]:
    return {
        "type": "knn_vector",
        "dimension": dimension,
        "method": {
            "name": "hnsw",
            "engine": engine,
            "space_type": space_type,
            "parameters": {"m": m, "ef_construction": ef_construction},
        },
    }


def index_mappings(*, dimension: int, engine: str, space_type: str, m: int, ef_construction: int) -> dict[str, Any]:
    return {
        "dynamic": "strict",  # a typo in the runtime fails loudly instead of growing the mapping
        "properties": {
            VECTOR_FIELD: vector_field(
                dimension=dimension, engine=engine, space_type=space_type, m=m, ef_construction=ef_construction
            ),
            # BM25 (the index's default similarity) over English-analyzed text, as the local index does.
            TEXT_FIELD: {"type": "text", "analyzer": "english"},
            **METADATA_FIELDS,
        },
    }


def index_body(
    *,
    dimension: int,
    engine: str,
    space_type: str,
    m: int,
    ef_construction: int,
    shards: int,
    replicas: int,
) -> dict[str, Any]:
    """The body of `PUT /<index>`: k-NN enabled settings and the strict mapping. Every value is the caller's
    (`OpenSearchIndex.ensure_index`, from the bootstrap's properties): no second set of defaults here."""
    return {
        "settings": {"index": {"knn": True, "number_of_shards": shards, "number_of_replicas": replicas}},
        "mappings": index_mappings(
            dimension=dimension, engine=engine, space_type=space_type, m=m, ef_construction=ef_construction
        ),
    }


def vector_settings(mappings: dict[str, Any]) -> dict[str, Any]:
    """dimension, engine and space type of an existing index's vector field."""
    vector = mappings.get("properties", {}).get(VECTOR_FIELD, {})
    method = vector.get("method", {})
    return {
        "dimension": vector.get("dimension"),
        "engine": method.get("engine"),
        "space_type": method.get("space_type"),
    }


def similarity_from_score(score: float, space_type: str) -> float:
    """The cosine similarity behind an OpenSearch k-NN score (unit vectors).

    OpenSearch turns distances into positive scores: cosinesimil gives (1 + cos) / 2;
    innerproduct gives 1 + dot for dot >= 0 and 1 / (1 - dot) below, and for unit vectors the
    dot product is the cosine.
    """
    if space_type == "cosinesimil":
        return 2.0 * score - 1.0
    if space_type == "innerproduct":
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    raise ValueError(f"no cosine similarity for space type {space_type}")
